"""Toxiproxy's published clients, unchanged, drive a real
C{vaurien --toxiproxy-api 127.0.0.1:PORT}: toxiproxy-python from PyPI
(the C{test} extra installs it) and toxiproxy-node-client from the npm
registry (C{run-tests.sh} installs it under tests/toxiproxy_clients/ with
C{npm ci}). Each runs tests/toxiproxy_clients/drive.py or drive.js: create,
list, disable and enable, Vaurien's handlers as toxics, reset, populate,
remove; and Toxiproxy's own toxics (added, updated, removed), which need
the proxies' stream toxics (IProxyControl.add_toxic)."""
from __future__ import annotations

import os
import shutil
import sys

from twisted.trial.unittest import SkipTest, TestCase

from tests.processes import VAURIEN, run, start
from tests.proxying import echo_backend
from tests.servers import free_port

CLIENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "toxiproxy_clients")
NODE_CLIENT = os.path.join(CLIENTS, "node_modules", "toxiproxy-node-client")


class _ClientTests:
    """A running C{vaurien --toxiproxy-api}, an echo backend, and a
    client's driver run against them: the tests every client passes (a
    mixin, so that trial runs them only for a client's C{driver})."""

    timeout = 60
    driver: list[str] = []

    async def drive(self, part: str) -> None:
        """Run the driver's C{part}; it must print C{ok}."""
        api = free_port()
        vaurien = start(self, [*VAURIEN, "--toxiproxy-api", f"127.0.0.1:{api}"])
        await vaurien.wait_for(f"vaurien Toxiproxy API starting on {api}")
        out, err, status = await run([*self.driver, str(api), f"127.0.0.1:{echo_backend(self)}",
                                      part])
        self.assertEqual((status, out.strip()), (0, "ok"),
                         f"{err}\n--- vaurien's output:\n{vaurien.output}")

    async def test_proxies(self):
        await self.drive("proxies")

    async def test_toxics(self):
        await self.drive("toxics")


class PythonClientTests(_ClientTests, TestCase):
    driver = [sys.executable, os.path.join(CLIENTS, "drive.py")]

    def setUp(self) -> None:
        try:
            import toxiproxy  # noqa: F401
        except ImportError:
            raise SkipTest("toxiproxy-python is not installed (pip install '.[test]')")


class NodeClientTests(_ClientTests, TestCase):
    driver = [shutil.which("node") or "node", os.path.join(CLIENTS, "drive.js")]

    def setUp(self) -> None:
        if shutil.which("node") is None:
            raise SkipTest("node is not installed: toxiproxy-node-client cannot run")
        if not os.path.isdir(NODE_CLIENT):
            raise SkipTest("toxiproxy-node-client is not installed: run"
                           " npm ci in tests/toxiproxy_clients (run-tests.sh does)")
