"""The logs as a user reads them, from the C{vaurien} command: one start
line per proxy, the handlers in play per connection, and with
C{--log-level debug} one line per call."""
from __future__ import annotations

from twisted.internet import reactor
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, readBody
from twisted.web.resource import Resource
from twisted.web.server import Site

from tests.processes import VAURIEN, start
from tests.servers import free_port


class _Ok(Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"ok"


class ReadableLogsTests(TestCase):
    timeout = 60

    async def run_proxy(self, *argv: str) -> tuple[object, str]:
        """Start C{vaurien} on an HTTP backend; its process and base URL."""
        backend = reactor.listenTCP(0, Site(_Ok()), interface="127.0.0.1")
        self.addCleanup(backend.stopListening)
        process = start(self, [
            *VAURIEN, "--proxy", "tcp:0:interface=127.0.0.1",
            "--backend", f"127.0.0.1:{backend.getHost().port}", "--protocol", "http", *argv,
        ])
        match = await process.wait_for(r"proxy default: (127\.0\.0\.1:\d+) -> ")
        return process, f"http://{match.group(1)}"

    async def get(self, url: str) -> bytes:
        response = await Agent(reactor).request(b"GET", url.encode())
        return await readBody(response)

    async def test_start_line_says_what_the_proxy_does(self):
        process, _ = await self.run_proxy(
            "--handler", "20:delay,30:error", "--handler-delay-sleep", "0.5", "--seed", "7"
        )
        line = next(l for l in process.output.splitlines() if "proxy default:" in l)
        self.assertRegex(
            line,
            r"proxy default: 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+, protocol http, handlers"
            r" 20:delay\(sleep=0\.5,before=True\),30:error\(inject=False,warmup=0\),50:dummy,"
            r" seed 7$",
        )
        self.assertNotIn("Starting factory", process.output)
        self.assertNotIn("object at 0x", process.output)

    async def test_the_apis_are_named_in_the_log(self):
        process, _ = await self.run_proxy(
            "--http", "--http-host", "127.0.0.1", "--http-port", str(free_port()),
            "--toxiproxy-api", f"127.0.0.1:{free_port()}",
        )
        await process.wait_for(r"vaurien control API starting on \d+")
        await process.wait_for(r"vaurien Toxiproxy API starting on \d+")
        self.assertNotIn("Site starting", process.output)
        self.assertNotIn("object at 0x", process.output)

    async def test_start_line_names_each_toxic(self):
        process, _ = await self.run_proxy(
            "--toxic", "slow:latency:downstream:0.5", "--toxic-slow-latency", "100"
        )
        line = next(l for l in process.output.splitlines() if "proxy default:" in l)
        self.assertTrue(
            line.endswith(", toxic slow: latency(latency=100,jitter=0) downstream 0.5"), line)

    async def test_debug_logs_one_line_per_call_from_the_option(self):
        process, url = await self.run_proxy(
            "--handler", "50:delay", "--handler-delay-sleep", "0", "--log-level", "debug"
        )
        await self.get(url + "/first")
        await self.get(url + "/second?x=1")
        await process.wait_for(r"default: .* GET /second\?x=1: (delay|dummy)\n")
        self.assertRegex(process.output, r"default: .* GET /first: (delay|dummy)\n")
        self.assertRegex(
            process.output, r"connected, handlers=50:delay\(sleep=0\.0\),50:dummy\n"
        )

    async def test_info_logs_connections_but_no_calls(self):
        process, url = await self.run_proxy("--handler", "50:delay", "--handler-delay-sleep", "0")
        await self.get(url + "/first")
        await process.wait_for(r"closed, handlers=50:delay\(sleep=0\.0\),50:dummy\n")
        self.assertNotIn("GET /first", process.output)
