"""The C{vaurien} command as a user runs it: wrong input ends it with a
one-paragraph message and exit status 2, never a traceback; the demo
serves its page through the proxy."""
from __future__ import annotations

import os

from twisted.internet import reactor
from twisted.internet.error import ProcessDone
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, readBody

import vaurien
from tests.processes import VAURIEN, run, start
from vaurien.demo import demo_site

BACKEND = ["--backend", "127.0.0.1:9"]


class RefusedInputTests(TestCase):
    """A representative set of the bad inputs, through the real command
    (tests/test_config.py checks each message in process)."""

    timeout = 60

    async def assertRefused(self, *argv: str, saying: str) -> str:
        out, err, status = await run([*VAURIEN, *argv])
        self.assertEqual(status, 2, err)
        self.assertTrue(err.startswith("vaurien: error: "), err)
        self.assertIn(saying, err)
        self.assertNotIn("Traceback", err + out)
        self.assertEqual(err.count("\n"), 1, "one paragraph")
        return err

    async def test_unknown_handler(self):
        await self.assertRefused(*BACKEND, "--handler", "20:nosuch", saying="known handlers: ")

    async def test_shares_over_100(self):
        await self.assertRefused(*BACKEND, "--behavior", "80:delay,30:error", saying="110%")

    async def test_malformed_share(self):
        await self.assertRefused(*BACKEND, "--handler", "20delay", saying="PERCENT:NAME")

    async def test_option_of_the_wrong_type(self):
        await self.assertRefused(
            *BACKEND, "--handler-delay-sleep", "abc", saying="--handler-delay-sleep 'abc': expected float"
        )

    async def test_missing_config_file(self):
        await self.assertRefused("--config", "/nonexistent.ini", saying="no such file")

    async def test_config_syntax_error(self):
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as ini:
            ini.write("[vaurien]\nproxy\n")
        await self.assertRefused("--config", path, saying="line 2")

    async def test_dotted_path_that_does_not_import(self):
        await self.assertRefused(*BACKEND, "--handler", "20:nosuch.mod.Cls", saying="no module named 'nosuch'")

    async def test_unparsable_address(self):
        await self.assertRefused("--backend", "localhost", saying="--backend 'localhost': not an address")

    async def test_unknown_option(self):
        await self.assertRefused("--nosuch", saying="nosuch")

    async def test_unwritable_log_output(self):
        await self.assertRefused(*BACKEND, "--log-output", "/nonexistent/dir/v.log", saying="--log-output")

    async def test_listen_port_in_use(self):
        taken = reactor.listenTCP(0, Factory.forProtocol(Protocol), interface="127.0.0.1")
        self.addCleanup(taken.stopListening)
        port = taken.getHost().port
        await self.assertRefused(
            "--proxy", f"127.0.0.1:{port}", *BACKEND, saying=f"cannot listen on 127.0.0.1:{port}"
        )

    async def test_listen_port_in_use_in_demo(self):
        taken = reactor.listenTCP(0, Factory.forProtocol(Protocol), interface="127.0.0.1")
        self.addCleanup(taken.stopListening)
        port = taken.getHost().port
        await self.assertRefused("--demo", "--proxy", f"127.0.0.1:{port}", saying="cannot listen")


class VersionTests(TestCase):
    timeout = 30

    async def test_version_prints_and_exits_0(self):
        out, err, status = await run([*VAURIEN, "--version"])
        self.assertEqual((out.strip(), status), (vaurien.__version__, 0), err)


class DemoTests(TestCase):
    timeout = 60

    async def test_demo_serves_its_page_through_the_proxy(self):
        process = start(
            self, [*VAURIEN, "--demo", "--proxy", "tcp:0:interface=127.0.0.1", "--handler", "100:dummy"]
        )
        match = await process.wait_for(r"try: curl -i (http://127\.0\.0\.1:\d+)/\n")
        response = await Agent(reactor).request(b"GET", match.group(1).encode() + b"/")
        body = await readBody(response)
        self.assertEqual(response.code, 200)
        self.assertIn(b"Vaurien demo backend", body)
        self.assertIn("try: curl -i " + match.group(1) + "/json", process.output)
        reason = await process.stop()
        self.assertIsInstance(reason, ProcessDone, process.output)

    async def test_demo_backend_pages(self):
        """The demo site alone answers /, /json and /slow (on a fake clock)."""
        from twisted.internet.task import Clock
        from twisted.web.test.requesthelper import DummyRequest

        clock = Clock()
        site = demo_site(clock)
        for path, expected in ((b"", b"Vaurien demo backend"), (b"json", b'"ok": true')):
            request = DummyRequest([path])
            body = site.getResourceFor(request).render(request)
            self.assertIn(expected, body)
        request = DummyRequest([b"slow"])
        site.getResourceFor(request).render(request)
        self.assertEqual(request.written, [])
        clock.advance(2)
        self.assertEqual(request.finished, 1)
        self.assertIn(b"seconds", b"".join(request.written))
