"""The first process's side of --workers that needs no process: the
command channel's two ends and the totals of the workers' counters."""
from __future__ import annotations

import json
from typing import Any

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import LogLevel, capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from tests.control_site import two_proxies
from vaurien.control.channel import (
    ANSWER_WITHIN, START_WITHIN, STATS, CommandReceiver, CommandSender, WorkerError,
    backend_command, behavior_command,
)
from vaurien.control.totals import summed, totals


class TotalsTests(SynchronousTestCase):
    def reading(self, **calls: int) -> dict[str, Any]:
        return {"behavior": "error", "protocol": "tcp", "calls": calls,
                "connections": {"open": 1, "total": sum(calls.values())}, "fallbacks": 0}

    def test_numbers_are_added_key_by_key_and_words_kept(self):
        total = summed([self.reading(error=3), self.reading(error=2, dummy=5)])
        self.assertEqual(total, {"behavior": "error", "protocol": "tcp",
                                 "calls": {"error": 5, "dummy": 5},
                                 "connections": {"open": 2, "total": 10}, "fallbacks": 0})

    def test_every_proxy_of_the_first_process_is_totalled(self):
        first = {"a": self.reading(dummy=1), "b": self.reading()}
        other = {"b": self.reading(error=4), "a": self.reading(dummy=2)}
        self.assertEqual(list(totals([first, other])), ["a", "b"])
        self.assertEqual(totals([first, other])["a"]["calls"], {"dummy": 3})
        self.assertEqual(totals([first, other])["b"]["calls"], {"error": 4})


def command_line(sent: bytes) -> dict[str, Any]:
    """The last command written to a worker."""
    return json.loads(sent.splitlines()[-1])


def answer(number: int, result: Any = None, error: str | None = None) -> bytes:
    body = {"id": number, "ok": error is None, "result": result}
    if error is not None:
        body["error"] = error
    return json.dumps(body).encode() + b"\n"


class CommandSenderTests(SynchronousTestCase):
    """The first process's end of a worker's channel, on a clock."""

    def setUp(self) -> None:
        self.clock = Clock()
        self.written = bytearray()
        self.sender = CommandSender(self.written.extend, "worker 1 (pid 7)", self.clock)
        self.sender.data_received(b'{"ready": true}\n')

    def test_an_answer_fires_its_command_by_id(self):
        first = self.sender.call(STATS)
        second = self.sender.call(behavior_command("a", "error", {}, None))
        self.assertEqual([json.loads(line)["id"] for line in self.written.splitlines()], [1, 2])
        self.assertEqual(command_line(self.written)["op"], "set_behavior")
        self.sender.data_received(answer(2) + answer(1, {"a": {}})[:5])
        self.assertIsNone(self.successResultOf(second))
        self.assertNoResult(first)
        self.sender.data_received(answer(1, {"a": {}})[5:])
        self.assertEqual(self.successResultOf(first), {"a": {}})

    def test_a_refusal_is_a_500_naming_the_worker(self):
        d = self.sender.call(backend_command("a", "nowhere"))
        self.sender.data_received(answer(1, error="backend 'nowhere': not an address"))
        error = self.failureResultOf(d, WorkerError).value
        self.assertEqual((error.status, error.worker), (500, "worker 1 (pid 7)"))
        self.assertIn("refused: backend 'nowhere'", str(error))

    def test_a_silent_worker_fails_the_command_after_the_bound(self):
        d = self.sender.call(STATS)
        self.clock.advance(ANSWER_WITHIN - 0.01)
        self.assertNoResult(d)
        self.clock.advance(0.01)
        error = self.failureResultOf(d, WorkerError).value
        self.assertEqual(error.status, 503)
        self.assertEqual(str(error), f"worker 1 (pid 7) did not answer within {ANSWER_WITHIN:g} seconds")
        self.sender.data_received(answer(1))  # too late: ignored
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_a_worker_still_starting_gets_the_start_bound(self):
        sender = CommandSender(bytearray().extend, "worker 2 (pid 8)", self.clock)
        d = sender.call(STATS)
        self.clock.advance(START_WITHIN - 0.01)
        self.assertNoResult(d)
        self.clock.advance(0.01)
        self.assertIn(f"within {START_WITHIN:g} seconds", str(self.failureResultOf(d, WorkerError).value))

    def test_a_worker_gone_fails_what_waits_and_every_later_command_at_once(self):
        d = self.sender.call(STATS)
        self.sender.lost("killed by signal 9")
        self.assertEqual(self.clock.getDelayedCalls(), [])
        for failed in (d, self.sender.call(STATS)):
            error = self.failureResultOf(failed, WorkerError).value
            self.assertEqual((error.status, str(error)),
                             (503, "worker 1 (pid 7) is gone (killed by signal 9)"))


class CommandReceiverTests(SynchronousTestCase):
    """A worker's end of the channel, on real proxies and a clock."""

    def setUp(self) -> None:
        self.proxies = two_proxies()
        self.lost: list[bool] = []
        controls = {name: proxy.control for name, proxy in self.proxies.items()}
        self.receiver = CommandReceiver(controls, lambda: self.lost.append(True))
        self.transport = StringTransport()
        self.receiver.makeConnection(self.transport)

    def command(self, number: int, command: dict[str, Any]) -> dict[str, Any]:
        self.transport.clear()
        self.receiver.dataReceived(json.dumps({"id": number, **command}).encode() + b"\n")
        return json.loads(self.transport.value())

    def test_it_says_it_is_ready_first(self):
        receiver = CommandReceiver({}, lambda: None)
        transport = StringTransport()
        receiver.makeConnection(transport)
        self.assertEqual(transport.value(), b'{"ready": true}\n')

    def test_a_change_is_made_before_it_is_answered(self):
        done = self.command(4, behavior_command("b", "delay", {"delay": {"sleep": 2}}, None))
        self.assertEqual(done, {"id": 4, "ok": True, "result": None})
        slot = self.proxies["b"].choose()
        self.assertEqual((slot.name, slot.handler.option("sleep")), ("delay", 2.0))
        self.assertEqual(self.proxies["a"].control.behavior(), "dummy")
        self.command(5, backend_command("a", "127.0.0.1:6380"))
        self.assertEqual(self.proxies["a"].backend, "tcp:host=127.0.0.1:port=6380")

    def test_a_ttl_runs_on_the_worker_own_clock(self):
        self.command(1, behavior_command("a", "error", {}, 5))
        self.proxies["a"].clock.advance(4.9)
        self.assertEqual(self.proxies["a"].control.behavior(), "error")
        self.proxies["a"].clock.advance(0.1)
        self.assertEqual(self.proxies["a"].control.behavior(), "dummy")

    def test_refusals_are_answered_with_the_reason(self):
        refused = self.command(1, behavior_command("a", "nosuch", {}, None))
        self.assertEqual((refused["id"], refused["ok"]), (1, False))
        self.assertIn("unknown handler 'nosuch'", refused["error"])
        self.assertIn("'zz'", self.command(2, behavior_command("zz", "error", {}, None))["error"])
        self.assertIn("unknown command 'nope'", self.command(3, {"op": "nope", "proxy": "a"})["error"])

    def test_stats_of_every_proxy(self):
        self.proxies["b"].choose()
        stats = self.command(1, dict(STATS))["result"]
        self.assertEqual(list(stats), ["a", "b"])
        self.assertEqual(stats["b"]["calls"], {"dummy": 1})

    def test_garbage_is_logged_and_not_answered(self):
        self.transport.clear()
        with capturedLogs() as events:
            self.receiver.dataReceived(b"{nope\n")
        self.assertEqual(self.transport.value(), b"")
        self.assertEqual([e["log_level"] for e in events], [LogLevel.error])

    def test_the_first_process_gone_is_told(self):
        self.receiver.connectionLost(None)
        self.assertEqual(self.lost, [True])
