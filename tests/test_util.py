"""The original's start_proxy and stop_proxy: a real vaurien subprocess,
ready when the call returns, gone after stop_proxy."""
from __future__ import annotations

import os
import socket

from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.processes import environment
from tests.proxying import echo_backend
from tests.servers import free_port
from vaurien.util import start_proxy, stop_proxy


def exchange(port: int, data: bytes) -> bytes:
    """Send C{data} to loopback C{port}, half-close, read to the end."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(data)
        connection.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
        return received


def use_source_tree(test: TestCase) -> None:
    """Have the subprocesses started during C{test} import this source tree."""
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = environment()["PYTHONPATH"]
    if before is None:
        test.addCleanup(os.environ.pop, "PYTHONPATH")
    else:
        test.addCleanup(os.environ.__setitem__, "PYTHONPATH", before)


class StartStopTests(TestCase):
    def setUp(self) -> None:
        use_source_tree(self)

    async def test_proxy_ready_when_started_and_gone_when_stopped(self):
        backend = echo_backend(self)
        port, http_port = free_port(), free_port()
        pid = await deferToThread(
            start_proxy, "127.0.0.1", port, "127.0.0.1", backend, http_host="127.0.0.1",
            http_port=http_port, options=["--handler", "100:dummy"], log_level="error",
        )
        try:
            self.assertEqual(await deferToThread(exchange, port, b"hello"), b"hello")
            socket.create_connection(("127.0.0.1", http_port), timeout=5).close()
        finally:
            await deferToThread(stop_proxy, pid)
        self.assertRaises(OSError, socket.create_connection, ("127.0.0.1", port), 1)

    def test_a_proxy_that_cannot_start(self):
        error = self.assertRaises(
            ValueError, start_proxy, "127.0.0.1", free_port(), http=False,
            options=["--timeout", "never"], log_level="critical",
        )
        self.assertIn("ended at start with status 2", str(error))

    def test_stop_an_unknown_proxy(self):
        self.assertRaises(ValueError, stop_proxy, 1)
