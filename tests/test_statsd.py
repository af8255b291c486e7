"""The statsd sender: counter growth as datagrams to a real UDP listener
on loopback, gauges, sampling, and nothing when nothing grew."""
from __future__ import annotations

from typing import Any

from twisted.internet import reactor, task
from twisted.internet.defer import Deferred
from twisted.internet.protocol import DatagramProtocol
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import TestCase

from tests.proxying import proxy_settings
from vaurien.config import StatsdSettings
from vaurien.proxy import Proxy
from vaurien.statsd import StatsdService, metric_values


class Listener(DatagramProtocol):
    """A statsd server that keeps the lines it gets."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._waiting: list[tuple[int, Deferred]] = []

    def datagramReceived(self, datagram: bytes, address: Any) -> None:
        self.lines.append(datagram.decode())
        for entry in [w for w in self._waiting if len(self.lines) >= w[0]]:
            self._waiting.remove(entry)
            entry[1].callback(list(self.lines))

    def received(self, count: int) -> Deferred:
        """Fire with the lines once C{count} have come in all."""
        d: Deferred = Deferred()
        if len(self.lines) >= count:
            d.callback(list(self.lines))
        else:
            self._waiting.append((count, d))
        return d


class StatsdTestCase(TestCase):
    def setUp(self) -> None:
        self.listener = Listener()
        port = reactor.listenUDP(0, self.listener, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.port = port.getHost().port
        self.clock = task.Clock()
        self.proxy = Proxy(proxy_settings(9), reactor=MemoryReactorClock(), clock=task.Clock())

    def sender(self, **settings: Any) -> StatsdService:
        statsd = StatsdSettings(enabled=True, host="127.0.0.1", port=self.port, **settings)
        service = StatsdService(
            statsd, lambda: {"web": self.proxy.control}, reactor, self.clock, chance=lambda: 0.3
        )
        service.startService()
        self.addCleanup(service.stopService)
        return service


class SendingTests(StatsdTestCase):
    async def test_counters_are_sent_as_they_grew(self):
        self.sender()
        self.proxy.calls["delay"] += 3
        self.proxy.bytes_to_backend += 512
        self.clock.advance(1)
        lines = await self.listener.received(3)
        self.assertEqual(
            set(lines),
            {"vaurien.web.calls.delay:3|c", "vaurien.web.bytes.to_backend:512|c",
             "vaurien.web.connections.open:0|g"},
        )

    async def test_only_the_growth_since_last_time(self):
        self.sender(prefix="chaos")
        self.proxy.calls["error"] += 5
        self.clock.advance(1)
        await self.listener.received(2)
        self.proxy.calls["error"] += 2
        self.clock.advance(1)
        lines = await self.listener.received(4)
        self.assertEqual(set(lines[2:]), {"chaos.web.calls.error:2|c", "chaos.web.connections.open:0|g"})

    async def test_nothing_grew_only_the_gauge(self):
        self.sender()
        self.clock.advance(1)
        self.assertEqual(await self.listener.received(1), ["vaurien.web.connections.open:0|g"])

    async def test_sampled_counters_carry_their_rate(self):
        self.sender(sample_rate=0.5)
        self.proxy.calls["delay"] += 4
        self.clock.advance(1)
        lines = await self.listener.received(2)
        self.assertIn("vaurien.web.calls.delay:4|c|@0.5", lines)

    async def test_counters_left_out_of_a_sample(self):
        self.sender(sample_rate=0.2)
        self.proxy.calls["delay"] += 4
        self.clock.advance(1)
        self.proxy.connections_total += 1
        self.clock.advance(1)
        lines = await self.listener.received(2)
        self.assertEqual(lines, ["vaurien.web.connections.open:0|g"] * 2)

    async def test_stopping_sends_the_last_growth(self):
        service = self.sender()
        self.proxy.backend_failures += 1
        await service.stopService()
        self.assertIn("vaurien.web.backend_failures:1|c", await self.listener.received(2))


class MetricNameTests(TestCase):
    def test_numbers_by_dotted_name_words_left_out(self):
        stats = {"behavior": "dummy", "calls": {"my.handler": 2}, "fallbacks": 1, "flag": True}
        self.assertEqual(dict(metric_values(stats, "p.")), {"p.calls.my_handler": 2, "p.fallbacks": 1})
