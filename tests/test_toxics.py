"""Each toxic, alone, over a recording output and a Clock: what passes,
when, and how the stream ends."""
from __future__ import annotations

import random
from typing import Any

from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from vaurien.errors import PluginError
from vaurien.interfaces import IToxic, IToxicOutput
from vaurien.toxics import CLOSE, HALF_CLOSE, RESET, Toxic
from vaurien.toxics.base import BaseToxic


@implementer(IToxicOutput)
class Recorder:
    """An output that notes what passes and when."""

    def __init__(self, clock: Clock, seed: int = 1):
        self.clock = clock
        self.random = random.Random(seed)
        self.passed: list[tuple[float, Any]] = []

    def data(self, chunk: bytes, read_at: float) -> None:
        self.passed.append((self.clock.seconds(), chunk))

    def end(self, how: str) -> None:
        self.passed.append((self.clock.seconds(), how))

    @property
    def bytes(self) -> bytes:
        return b"".join(item for _, item in self.passed if isinstance(item, bytes))

    @property
    def ends(self) -> list[str]:
        return [item for _, item in self.passed if isinstance(item, str)]


def make(type_: str, **attributes: Any) -> tuple[Any, Recorder, Clock]:
    cls = Toxic.get(type_)
    settings = {key: spec[2] for key, spec in cls.attributes.items()}
    settings.update(attributes)
    clock = Clock()
    output = Recorder(clock)
    return cls(settings, output), output, clock


class RegistryTests(TestCase):
    def test_every_built_in_provides_the_interface(self):
        for name in Toxic.names():
            toxic, _, _ = make(name)
            verifyObject(IToxic, toxic)
            self.assertEqual(toxic.name, name)

    def test_toxiproxy_set_with_its_attribute_names(self):
        self.assertEqual(
            {name: sorted(Toxic.get(name).attributes) for name in Toxic.names()},
            {
                "bandwidth": ["rate"],
                "latency": ["jitter", "latency"],
                "limit_data": ["bytes"],
                "reset_peer": ["timeout"],
                "slicer": ["average_size", "delay", "size_variation"],
                "slow_close": ["delay"],
                "timeout": ["timeout"],
            },
        )

    def test_a_class_lacking_the_interface_is_refused(self):
        class Broken:
            name = "broken"
            attributes: dict = {}

        self.assertRaises(PluginError, Toxic.register, Broken)

    def test_a_builtin_name_is_not_replaced(self):
        class Other(BaseToxic):
            name = "latency"

        self.assertRaises(PluginError, Toxic.register, Other)

    def test_a_toxic_by_dotted_path(self):
        self.assertIs(Toxic.resolve("vaurien.toxics.latency.Latency"), Toxic.get("latency"))


class LatencyTests(TestCase):
    def test_each_chunk_held_from_when_it_was_read(self):
        toxic, out, clock = make("latency", latency=100)
        toxic.data(b"a", 0.0)
        clock.advance(0.05)
        toxic.data(b"b", 0.05)
        clock.advance(0.049)
        self.assertEqual(out.passed, [])
        clock.advance(0.001)
        self.assertEqual(out.bytes, b"a")
        self.assertEqual(toxic.held, 1)
        clock.advance(0.05)
        self.assertEqual([(round(at, 6), chunk) for at, chunk in out.passed],
                         [(0.1, b"a"), (0.15, b"b")])

    def test_the_time_read_counts_not_the_time_given(self):
        toxic, out, clock = make("latency", latency=100)
        clock.advance(0.08)
        toxic.data(b"a", 0.0)
        clock.advance(0.02)
        self.assertEqual(out.bytes, b"a")

    def test_jitter_stays_within_bounds_and_order_is_kept(self):
        toxic, out, clock = make("latency", latency=100, jitter=50)
        for i in range(200):
            toxic.data(bytes([i]), clock.seconds())
            clock.advance(0.001)
        clock.pump([0.001] * 200)
        self.assertEqual(out.bytes, bytes(range(200)))
        delays = [at - i * 0.001 for i, (at, _) in enumerate(out.passed)]
        self.assertTrue(all(0.05 - 1e-9 <= d <= 0.15 + 1e-9 for d in delays), delays)
        self.assertGreater(max(delays) - min(delays), 0.05)

    def test_the_end_follows_the_data(self):
        toxic, out, clock = make("latency", latency=100)
        toxic.data(b"a", 0.0)
        toxic.end(CLOSE)
        self.assertEqual(out.passed, [])
        clock.advance(0.1)
        self.assertEqual(out.passed, [(0.1, b"a"), (0.1, CLOSE)])

    def test_removed_it_passes_what_it_holds_at_once(self):
        toxic, out, clock = make("latency", latency=1000)
        toxic.data(b"ab", 0.0)
        toxic.remove()
        self.assertEqual(out.passed, [(0.0, b"ab")])
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_update_applies_to_the_next_chunks(self):
        toxic, out, clock = make("latency", latency=100)
        toxic.update({"latency": 10, "jitter": 0})
        toxic.data(b"a", 0.0)
        clock.advance(0.01)
        self.assertEqual(out.bytes, b"a")


class BandwidthTests(TestCase):
    def test_rate_in_kilobytes_a_second_in_slices_of_100_ms(self):
        toxic, out, clock = make("bandwidth", rate=10)  # 10,000 bytes/s
        toxic.data(b"x" * 5000, 0.0)
        self.assertEqual(out.passed, [(0.0, b"x" * 1000)])
        clock.pump([0.1] * 5)
        self.assertEqual([round(at, 3) for at, _ in out.passed], [0.0, 0.1, 0.2, 0.3, 0.4])
        self.assertEqual({len(chunk) for _, chunk in out.passed}, {1000})

    def test_achieved_rate(self):
        toxic, out, clock = make("bandwidth", rate=100)
        for _ in range(50):
            toxic.data(b"y" * 10000, clock.seconds())  # 500 kB: 5 s at 100 KB/s
        clock.pump([0.01] * 600)
        self.assertEqual(len(out.bytes), 500000)
        self.assertLess(abs(out.passed[-1][0] - 4.9), 0.011)  # the last slice, at 4.9 s

    def test_zero_means_no_limit(self):
        toxic, out, _ = make("bandwidth", rate=0)
        toxic.data(b"z" * 100000, 0.0)
        self.assertEqual(len(out.bytes), 100000)


class SlowCloseTests(TestCase):
    def test_data_flows_the_close_comes_late(self):
        toxic, out, clock = make("slow_close", delay=500)
        toxic.data(b"a", 0.0)
        toxic.end(CLOSE)
        self.assertEqual(out.passed, [(0.0, b"a")])
        clock.advance(0.5)
        self.assertEqual(out.ends, [CLOSE])


class TimeoutTests(TestCase):
    def test_nothing_passes_and_it_closes_later(self):
        toxic, out, clock = make("timeout", timeout=1000)
        toxic.data(b"a", 0.0)
        clock.advance(0.999)
        self.assertEqual(out.passed, [])
        clock.advance(0.001)
        self.assertEqual(out.passed, [(1.0, CLOSE)])

    def test_data_restarts_the_timer(self):
        toxic, out, clock = make("timeout", timeout=1000)
        clock.advance(0.6)
        toxic.data(b"a", 0.6)
        clock.advance(0.6)
        self.assertEqual(out.passed, [])
        clock.advance(0.4)
        self.assertEqual(out.ends, [CLOSE])

    def test_zero_holds_until_removed(self):
        toxic, out, clock = make("timeout", timeout=0)
        toxic.data(b"a", 0.0)
        clock.advance(3600)
        self.assertEqual(out.passed, [])
        toxic.remove()
        self.assertEqual(out.ends, [CLOSE])


class ResetPeerTests(TestCase):
    def test_reset_after_the_first_data_data_dropped(self):
        toxic, out, clock = make("reset_peer", timeout=200)
        clock.advance(5)
        self.assertEqual(out.passed, [])
        toxic.data(b"a", 5.0)
        clock.advance(0.1)
        toxic.data(b"b", 5.1)
        clock.advance(0.0999)
        self.assertEqual(out.passed, [])
        clock.advance(0.0002)
        self.assertEqual(out.ends, [RESET])

    def test_zero_resets_at_the_first_data(self):
        toxic, out, clock = make("reset_peer")
        toxic.data(b"a", 0.0)
        clock.advance(0)
        self.assertEqual(out.ends, [RESET])


class SlicerTests(TestCase):
    def test_pieces_of_the_average_size_apart_by_the_delay(self):
        toxic, out, clock = make("slicer", average_size=10, delay=1000)
        toxic.data(bytes(range(35)), 0.0)
        clock.pump([0.001] * 5)
        self.assertEqual([len(c) for _, c in out.passed], [10, 10, 10, 5])
        self.assertEqual([round(at, 4) for at, _ in out.passed], [0.0, 0.001, 0.002, 0.003])
        self.assertEqual(out.bytes, bytes(range(35)))

    def test_sizes_vary_within_bounds(self):
        toxic, out, clock = make("slicer", average_size=10, size_variation=4)
        toxic.data(b"s" * 10000, 0.0)
        sizes = [len(c) for _, c in out.passed][:-1]
        self.assertTrue(all(6 <= size <= 14 for size in sizes), sizes)
        self.assertGreater(len(set(sizes)), 3)
        self.assertEqual(len(out.bytes), 10000)


class LimitDataTests(TestCase):
    def test_exactly_that_many_bytes_then_close(self):
        toxic, out, _ = make("limit_data", bytes=5)
        toxic.data(b"abc", 0.0)
        toxic.data(b"defg", 0.0)
        toxic.data(b"hij", 0.0)
        toxic.end(CLOSE)
        self.assertEqual(out.bytes, b"abcde")
        self.assertEqual(out.ends, [CLOSE])

    def test_a_half_close_before_the_limit_passes(self):
        toxic, out, _ = make("limit_data", bytes=5)
        toxic.data(b"abc", 0.0)
        toxic.end(HALF_CLOSE)
        self.assertEqual(out.ends, [HALF_CLOSE])


class TimeoutUpdateTests(TestCase):
    def test_the_same_timeout_keeps_the_timer_a_new_one_restarts_it(self):
        toxic, out, clock = make("timeout", timeout=1000)
        clock.advance(0.5)
        toxic.update({"timeout": 1000})
        clock.advance(0.5)
        self.assertEqual(out.ends, [CLOSE])
        toxic, out, clock = make("timeout", timeout=1000)
        clock.advance(0.5)
        toxic.update({"timeout": 2000})
        clock.advance(1.9)
        self.assertEqual(out.ends, [])
        clock.advance(0.1)
        self.assertEqual(out.ends, [CLOSE])
