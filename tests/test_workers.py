"""Several worker processes sharing the proxy's port (--workers), driven
together by the first process's control API."""
from __future__ import annotations

import os
import signal
import socket
import sys
from typing import Any

from twisted.internet import protocol, reactor
from twisted.internet.error import ProcessDone, ProcessExitedAlready, ProcessTerminated
from twisted.internet.task import Clock, deferLater
from twisted.internet.threads import deferToThread
from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.python import usage
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import Agent

from tests.control_site import HTTP
from tests.processes import VAURIEN, start
from tests.proxying import Collector, PayloadSender, connect, echo_backend, listen
from tests.servers import free_port
from tests.test_worker_channel import answer, command_line
from vaurien.client import Client, ControlAPIError
from vaurien.config import VaurienOptions, listening_endpoint
from vaurien.config.addresses import ReusePortEndpoint
from vaurien.control.channel import ANSWER_WITHIN, STATS, WorkerError, behavior_command
from vaurien.demo import demo_site
from vaurien.errors import ConfigError
from vaurien.workers import ANSWERS_FD, COMMANDS_FD, STOP_WITHIN, WORKER_MARK, WorkerProcesses


def parse(*argv: str):
    options = VaurienOptions()
    options.parseOptions(list(argv))
    return options.settings


class WorkersConfigTests(TestCase):
    def test_workers_setting(self):
        self.assertEqual(parse("--backend", "127.0.0.1:1", "--workers", "3").workers, 3)
        self.assertEqual(parse("--backend", "127.0.0.1:1").workers, 1)

    def test_workers_take_the_control_api(self):
        settings = parse("--backend", "127.0.0.1:1", "--workers", "2", "--http")
        self.assertEqual((settings.workers, settings.http), (2, True))

    def test_workers_refuse_the_demo_saying_why(self):
        error = self.assertRaises(usage.UsageError, parse, "--workers", "2", "--demo")
        self.assertIn("--workers 2", str(error))
        self.assertIn("--backend", str(error))
        self.assertIn("demo's backend lives inside one process", str(error))

    def test_workers_need_tcp_addresses(self):
        self.assertRaises(ConfigError, listening_endpoint, reactor, "unix:/tmp/x.sock", 5, True)


class ListeningTests(TestCase):
    async def test_two_reuse_port_endpoints_share_a_port(self):
        port = free_port()
        factory = protocol.Factory.forProtocol(protocol.Protocol)
        first = await listening_endpoint(reactor, f"tcp:{port}:interface=127.0.0.1", 128, True).listen(factory)
        second = await ReusePortEndpoint(reactor, socket.AF_INET, port, "127.0.0.1", 128).listen(factory)
        self.addCleanup(first.stopListening)
        self.addCleanup(second.stopListening)
        self.assertEqual(first.getHost().port, second.getHost().port)

    async def test_backlog_is_the_configured_one(self):
        endpoint = listening_endpoint(reactor, "tcp:0:interface=127.0.0.1", 4096, False)
        self.assertEqual(endpoint._backlog, 4096)




class FakeProcess:
    """What C{spawnProcess} gives: writes and signals are kept."""

    def __init__(self, pid: int):
        self.pid = pid
        self.written = bytearray()
        self.signals: list[str] = []
        self.ended = False

    def writeToChild(self, fd: int, data: bytes) -> None:
        assert fd == COMMANDS_FD
        self.written += data

    def signalProcess(self, name: str) -> None:
        if self.ended:
            raise ProcessExitedAlready()
        self.signals.append(name)


class SpawningReactor:
    """Spawns L{FakeProcess}es, keeping how."""

    def __init__(self) -> None:
        self.spawned: list[tuple[Any, list[str], dict[str, str], dict[int, Any], FakeProcess]] = []

    def spawnProcess(self, process_protocol, executable, args, env, childFDs):
        transport = FakeProcess(100 + len(self.spawned))
        self.spawned.append((process_protocol, args, env, childFDs, transport))
        process_protocol.makeConnection(transport)


class WorkerProcessesTests(SynchronousTestCase):
    """The first process's side, over fake processes and a clock."""

    def setUp(self) -> None:
        self.reactor = SpawningReactor()
        self.clock = Clock()
        self.workers = WorkerProcesses(["--workers", "3", "--http"], 2, self.reactor, self.clock)
        self.workers.startService()
        for worker, *_ in self.reactor.spawned:
            worker.childDataReceived(ANSWERS_FD, b'{"ready": true}\n')

    def end(self, index: int, reason: Exception) -> None:
        worker, *_, transport = self.reactor.spawned[index]
        transport.ended = True
        worker.processEnded(Failure(reason))

    def test_workers_are_the_same_command_marked_with_their_channel(self):
        self.assertEqual(len(self.reactor.spawned), 2)
        for _, args, env, child_fds, _ in self.reactor.spawned:
            self.assertEqual(args, [sys.executable, "-m", "vaurien", "--workers", "3", "--http"])
            self.assertEqual(env[WORKER_MARK], "1")
            self.assertEqual(child_fds, {0: 0, 1: 1, 2: 2, COMMANDS_FD: "w", ANSWERS_FD: "r"})

    def test_a_broadcast_fires_once_every_worker_answered(self):
        d = self.workers.broadcast(behavior_command("default", "error", {}, None))
        (first, *_, one), (second, *_, two) = self.reactor.spawned
        self.assertEqual(command_line(one.written), command_line(two.written))
        first.childDataReceived(ANSWERS_FD, answer(1))
        self.assertNoResult(d)
        second.childDataReceived(ANSWERS_FD, answer(1))
        self.assertEqual(self.successResultOf(d), [(1, 100, None), (2, 101, None)])

    def test_a_silent_worker_fails_the_broadcast_naming_it(self):
        d = self.workers.broadcast(STATS)
        self.reactor.spawned[0][0].childDataReceived(ANSWERS_FD, answer(1, {}))
        self.clock.advance(ANSWER_WITHIN)
        error = self.failureResultOf(d, WorkerError).value
        self.assertEqual((error.status, error.worker), (503, "worker 2 (pid 101)"))

    def test_every_failing_worker_is_told_and_a_refusal_makes_it_a_500(self):
        d = self.workers.broadcast(STATS)
        self.reactor.spawned[1][0].childDataReceived(ANSWERS_FD, answer(1, error="no"))
        self.clock.advance(ANSWER_WITHIN)
        error = self.failureResultOf(d, WorkerError).value
        self.assertEqual((error.status, error.worker), (500, "worker 1 (pid 100)"))
        self.assertEqual(str(error), f"worker 1 (pid 100) did not answer within {ANSWER_WITHIN:g}"
                                     " seconds; worker 2 (pid 101) refused: no")

    def test_a_worker_that_dies_is_logged_and_named_by_every_later_broadcast(self):
        waiting = self.workers.broadcast(STATS)
        with capturedLogs() as events:
            self.end(1, ProcessTerminated(signal=9))
        [event] = events
        self.assertEqual(event["log_level"], LogLevel.error)
        self.assertIn("worker 2 (pid 101) ended (killed by signal 9)", formatEvent(event))
        later = self.workers.broadcast(STATS)
        self.reactor.spawned[0][0].childDataReceived(ANSWERS_FD, answer(1, {}) + answer(2, {}))
        for d in (waiting, later):
            error = self.failureResultOf(d, WorkerError).value
            self.assertEqual(error.worker, "worker 2 (pid 101)")
            self.assertIn("is gone (killed by signal 9; restart vaurien", str(error))

    def test_stop_terms_every_worker_then_kills_those_still_running(self):
        stopped = self.workers.stopService()
        self.assertEqual([t.signals for *_, t in self.reactor.spawned], [["TERM"], ["TERM"]])
        with capturedLogs() as events:
            self.end(0, ProcessDone(0))
        self.assertEqual([e["log_level"] for e in events], [LogLevel.info])
        self.clock.advance(STOP_WITHIN - 0.01)
        self.assertEqual(self.reactor.spawned[1][-1].signals, ["TERM"])
        self.clock.advance(0.01)
        self.assertEqual([t.signals for *_, t in self.reactor.spawned], [["TERM"], ["TERM", "KILL"]])
        self.assertNoResult(stopped)
        self.end(1, ProcessTerminated(signal=9))
        self.successResultOf(stopped)

    def test_stop_without_stragglers_leaves_no_timer(self):
        stopped = self.workers.stopService()
        self.end(0, ProcessDone(0))
        self.end(1, ProcessTerminated(exitCode=0))
        self.successResultOf(stopped)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class WorkerProcessesRunTests(TestCase):
    """The real command: a first process and its worker in front of a
    real backend, driven over loopback."""

    timeout = 120

    async def start_workers(self, *argv: str) -> tuple[Any, int, HTTP]:
        """Run C{vaurien --workers 2 --http} in front of the demo site."""
        port, api = free_port(), free_port()
        backend = listen(self, demo_site(reactor))
        process = start(self, [*VAURIEN, "--proxy", f"127.0.0.1:{port}",
                               "--backend", f"127.0.0.1:{backend}", "--protocol", "http",
                               "--workers", "2", "--http", "--http-port", str(api), *argv])
        await process.wait_for("vaurien control API starting on")
        return process, port, HTTP(self, f"http://127.0.0.1:{api}")

    async def put(self, http: HTTP, body: dict[str, Any], path: str = "/behavior") -> Any:
        answer = await http.request("PUT", path, body)
        self.assertEqual(answer.code, 200, answer.body)
        return answer.json()

    async def statuses(self, port: int, count: int = 40) -> set[int]:
        """GET through the proxy, a fresh connection each time; the
        statuses seen."""
        agent = Agent(reactor)
        seen = set()
        for _ in range(count):
            response = await agent.request(b"GET", f"http://127.0.0.1:{port}/".encode())
            response.deliverBody(protocol.Protocol())
            seen.add(response.code)
        return seen

    async def stats(self, http: HTTP) -> dict[str, Any]:
        answer = await http.request("GET", "/stats")
        self.assertEqual(answer.code, 200, answer.body)
        return answer.json()

    async def test_a_change_reaches_every_worker_before_it_is_answered(self):
        process, port, http = await self.start_workers()
        self.assertEqual(await self.put(http, {"name": "error"}), {"status": "ok"})
        self.assertTrue(all(code >= 500 for code in await self.statuses(port)))
        stats = await self.stats(http)
        self.assertEqual(stats["proxies"]["default"]["calls"], {"error": 40})
        workers = stats["workers"]
        self.assertEqual([w["worker"] for w in workers], [0, 1])
        served = [w["proxies"]["default"]["connections"]["total"] for w in workers]
        self.assertTrue(all(served), f"each process served some connections: {served}")
        self.assertEqual(sum(served), stats["proxies"]["default"]["connections"]["total"])

        self.assertEqual(await self.put(http, {"name": "dummy"}), {"status": "ok"})
        self.assertEqual(await self.statuses(port), {200})
        stats = await self.stats(http)
        self.assertEqual(stats["proxies"]["default"]["calls"], {"error": 40, "dummy": 40})
        for worker in stats["workers"]:
            self.assertEqual(worker["proxies"]["default"]["behavior"], "dummy")

        refused = await http.request("PUT", "/behavior", {"name": "nosuch"})
        self.assertEqual(refused.code, 400)
        self.assertEqual(refused.json()["errors"][0]["name"], "name")
        metrics = (await http.request("GET", "/metrics")).body.decode()
        self.assertIn('vaurien_calls_total{handler="error",protocol="http",proxy="default"} 40.0',
                      metrics)

    async def test_a_dead_worker_makes_every_later_change_a_clear_error(self):
        process, port, http = await self.start_workers()
        await self.put(http, {"name": "error"})
        pid = (await self.stats(http))["workers"][1]["pid"]
        os.kill(pid, signal.SIGKILL)
        await process.wait_for(rf"worker 1 \(pid {pid}\) ended \(killed by signal 9\)")
        client = Client("127.0.0.1", int(http.root.rsplit(":", 1)[1]))
        error = await self.assertFailure(deferToThread(client.set_behavior, "dummy"), ControlAPIError)
        self.assertEqual(error.status, 503)
        self.assertIn(f"worker 1 (pid {pid}) is gone (killed by signal 9", str(error))
        self.assertIn("in force in every other process", str(error))
        self.assertEqual(await self.statuses(port, 10), {200})
        self.assertEqual((await http.request("GET", "/stats")).code, 503)
        self.assertEqual((await http.request("GET", "/behavior")).json(), {"behavior": "dummy"})

    async def test_two_workers_serve_and_stop_together(self):
        port = free_port()
        process = start(self, [*VAURIEN, "--proxy", f"127.0.0.1:{port}",
                               "--backend", f"127.0.0.1:{echo_backend(self)}",
                               "--workers", "2"])
        await process.wait_for("starting on")
        for n in range(20):
            client = Collector()
            await connect(port, client)
            PayloadSender(client.transport, b"worker %d" % n)
            self.assertEqual(await client.ended, b"worker %d" % n)
        children = [pid for pid in os.listdir("/proc") if pid.isdigit() and _is_worker_of(pid, port)]
        self.assertEqual(len(children), 2)
        await process.stop()
        self.assertFalse(any(_is_worker_of(pid, port) for pid in children))

    async def test_a_worker_stops_when_the_first_process_is_gone(self):
        process, port, http = await self.start_workers()
        pid = (await self.stats(http))["workers"][1]["pid"]
        process.transport.signalProcess("KILL")
        # The worker shares the first process's output: it has ended when
        # the output is closed.
        await process.ended
        self.assertIn("the first process is gone; stopping", process.output)
        for _ in range(100):  # until init has reaped it
            if not _is_worker_of(str(pid), port):
                break
            await deferLater(reactor, 0.05)
        self.assertFalse(_is_worker_of(str(pid), port))


def _is_worker_of(pid: str, port: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            command = f.read()
        with open(f"/proc/{pid}/stat") as f:
            zombie = f.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return False
    return b"vaurien" in command and f"127.0.0.1:{port}".encode() in command and not zombie
