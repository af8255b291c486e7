"""Several worker processes sharing the proxy's port (--workers)."""
from __future__ import annotations

import os
import socket

from twisted.internet import protocol, reactor
from twisted.python import usage
from twisted.trial.unittest import TestCase

from tests.processes import VAURIEN, start
from tests.proxying import Collector, PayloadSender, connect, echo_backend
from tests.servers import free_port
from vaurien.config import VaurienOptions
from vaurien.errors import ConfigError
from vaurien.listening import ReusePortEndpoint, listening_endpoint


def parse(*argv: str):
    options = VaurienOptions()
    options.parseOptions(list(argv))
    return options.settings


class WorkersConfigTests(TestCase):
    def test_workers_setting(self):
        self.assertEqual(parse("--backend", "127.0.0.1:1", "--workers", "3").workers, 3)
        self.assertEqual(parse("--backend", "127.0.0.1:1").workers, 1)

    def test_workers_refuse_the_control_api_and_the_demo(self):
        for argv in (["--backend", "127.0.0.1:1", "--http"], ["--demo"]):
            error = self.assertRaises(usage.UsageError, parse, "--workers", "2", *argv)
            self.assertIn("--workers 2", str(error))

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


class WorkerProcessesTests(TestCase):
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
        for _ in range(200):
            if not any(os.path.exists(f"/proc/{pid}/cmdline") and _is_worker_of(pid, port)
                       for pid in children):
                break
            await _tick()
        self.assertFalse(any(_is_worker_of(pid, port) for pid in children))


def _is_worker_of(pid: str, port: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            command = f.read()
        with open(f"/proc/{pid}/stat") as f:
            zombie = f.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return False
    return b"vaurien" in command and f"127.0.0.1:{port}".encode() in command and not zombie


def _tick():
    from twisted.internet.task import deferLater
    return deferLater(reactor, 0.05)
