"""The C{vaurien} command line as a user types it: C{-h}, a C{--help} one
reads, repeated C{--handler}, values out of range, a module in the current
directory, and what an unreachable backend answers."""
from __future__ import annotations

from twisted.internet import reactor
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, readBody

from tests.processes import VAURIEN, start
from tests.servers import free_port


class UnreachableBackendTests(TestCase):
    timeout = 60

    async def test_502_says_the_backend_is_unreachable(self):
        process = start(self, [
            *VAURIEN, "--proxy", "tcp:0:interface=127.0.0.1", "--protocol", "http",
            "--backend", f"127.0.0.1:{free_port()}",
        ])
        port = (await process.wait_for(r"proxy default: 127\.0\.0\.1:(\d+) ")).group(1)
        response = await Agent(reactor).request(b"GET", f"http://127.0.0.1:{port}/".encode())
        body = await readBody(response)
        self.assertEqual(response.code, 502)
        self.assertIn(b"The backend is unreachable", body)
        self.assertNotIn(b"Injected", body)
