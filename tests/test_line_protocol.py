"""A third-party protocol loaded by dotted path (L{tests.line_protocol}):
resolved and checked, framing a real connection through a proxy, with
faults per line and targeting by command, and configured from an INI file."""
from __future__ import annotations

import os
import tempfile
import textwrap
from typing import Any

from attrs import evolve
from hypothesis import given, settings as hypothesis_settings, strategies as st
from twisted.internet import protocol, reactor
from twisted.internet.task import deferLater
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.protocols.basic import LineOnlyReceiver
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface import implementer
from zope.interface.verify import verifyClass, verifyObject

from tests.line_protocol import LineFramer, LineProtocol
from tests.proxying import Collector, connect, listen, proxy_settings, start_proxy
from vaurien.config import HandlerEntry, Targets, VaurienOptions
from vaurien.config.values import defaults
from vaurien.handlers import Handler
from vaurien.interfaces import IFraming, IProtocol
from vaurien.protocols import Protocol
from vaurien.protocols.framing import FramingError

DOTTED = "tests.line_protocol.LineProtocol"


def keep_registry(test: Any) -> None:
    """Undo, after C{test}, the registration a dotted path makes, so that
    the plugin stays unregistered for the other tests."""
    known = dict(Protocol._classes)
    test.addCleanup(lambda: (Protocol._classes.clear(), Protocol._classes.update(known)))


@implementer(IHalfCloseableProtocol)
class OKLines(LineOnlyReceiver):
    """A line backend: answers C{OK <line>} to each line; when the client
    half-closes, closes once its answers are written (a backend that is
    not half-closeable would drop them)."""

    delimiter = b"\n"

    def lineReceived(self, line: bytes) -> None:
        self.sendLine(b"OK " + line)

    def readConnectionLost(self) -> None:
        self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        self.transport.loseConnection()


class FramerTests(SynchronousTestCase):
    """L{LineFramer} and the plugin as vaurien checks it."""

    def test_resolved_by_dotted_path(self) -> None:
        keep_registry(self)
        cls = Protocol.resolve(DOTTED)
        self.assertIs(cls, LineProtocol)
        self.assertTrue(verifyClass(IProtocol, cls))
        self.assertTrue(verifyObject(IFraming, cls().framing()))

    def test_requests_name_their_command(self) -> None:
        frames = LineProtocol().framing().feed_requests(b"get a\nSet b 1\n\npart")
        self.assertEqual([(f.data, f.command) for f in frames],
                         [(b"get a\n", b"GET"), (b"Set b 1\n", b"SET"), (b"\n", b"")])

    @given(st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"") + b"\n")),
           st.lists(st.integers(1, 40)))
    @hypothesis_settings(max_examples=200, deadline=None)
    def test_any_chunks_frame_alike(self, lines: list[bytes], cuts: list[int]) -> None:
        stream = b"".join(lines)
        framer = LineFramer(100, requests=True)
        frames, pos = [], 0
        for size in cuts + [len(stream)]:
            frames += framer.feed(stream[pos : pos + size])
            pos += size
        self.assertEqual([f.data for f in frames], lines)
        self.assertEqual(framer.held(), b"")

    def test_long_line_raises_and_keeps_the_bytes(self) -> None:
        framing = LineProtocol({"max_line": 4}).framing()
        self.assertEqual(len(framing.feed_requests(b"ab\n")), 1)
        self.assertRaises(FramingError, framing.feed_requests, b"cd\nefghij")
        self.assertEqual(framing.unframed(), (b"cd\nefghij", b""))


class ProxyTests(TestCase):
    """The plugin in front of a real line backend, through the proxy."""

    def setUp(self) -> None:
        keep_registry(self)
        self.backend_port = listen(self, protocol.Factory.forProtocol(OKLines))

    async def exchange(self, settings: Any, lines: list[bytes]) -> tuple[list[bytes], Any]:
        """Send C{lines} pipelined on one connection, half-close; the
        reply lines and the proxy."""
        port, factory = start_proxy(self, settings)
        client = await connect(port, Collector())
        client.transport.write(b"".join(lines))
        client.transport.loseWriteConnection()
        received = await client.ended
        return received.splitlines(keepends=True), factory.proxy

    async def test_one_reply_per_line_in_order(self) -> None:
        lines = [b"SET key%d %d\n" % (i, i) for i in range(200)]
        settings = proxy_settings(self.backend_port, "50:error", protocol=DOTTED, seed=7)
        replies, proxy = await self.exchange(settings, lines)
        self.assertEqual(len(replies), len(lines))
        errors = 0
        for line, reply in zip(lines, replies):
            if reply == b"ERROR vaurien\n":
                errors += 1
            else:
                self.assertEqual(reply, b"OK " + line)
        self.assertEqual(errors, proxy.calls["error"])
        self.assertTrue(50 < errors < 150, errors)

    async def test_commands_limit_the_handler(self) -> None:
        error = Handler.get("error")
        entry = HandlerEntry(100, "error", error, defaults(error),
                             targets=Targets(commands=frozenset({b"GET"})))
        lines = [b"get a\n", b"SET a 1\n", b"GET a\n", b"del a\n", b"Get b\n"]
        settings = evolve(proxy_settings(self.backend_port, protocol=DOTTED), handlers=(entry,))
        replies, proxy = await self.exchange(settings, lines)
        self.assertEqual(replies, [b"ERROR vaurien\n", b"OK SET a 1\n", b"ERROR vaurien\n",
                                   b"OK del a\n", b"ERROR vaurien\n"])
        self.assertEqual(dict(proxy.calls), {"error": 3, "dummy": 2})

    async def test_long_line_falls_back_to_tcp(self) -> None:
        """A line over C{max_line} stops framing: it and the rest of the
        connection pass untouched, whatever the handlers."""
        settings = proxy_settings(self.backend_port, "100:error", protocol=DOTTED,
                                  protocol_options={"max_line": 10})
        port, _ = start_proxy(self, settings)
        client = await connect(port, Collector())
        client.transport.write(b"GET a\n")
        while not client.received:
            await deferLater(reactor, 0.01)
        self.assertEqual(bytes(client.received), b"ERROR vaurien\n")
        long_line = b"GET " + b"x" * 20 + b"\n"
        client.transport.write(long_line + b"GET b\n")
        client.transport.loseWriteConnection()
        received = await client.ended
        self.assertEqual(received, b"ERROR vaurien\nOK " + long_line + b"OK GET b\n")

    async def test_fall_back_before_backend_then_half_close(self) -> None:
        """Framing stops on the first bytes, before the backend is
        connected, and the client half-closes at once: its bytes still
        reach the backend and the replies come back."""
        settings = proxy_settings(self.backend_port, protocol=DOTTED,
                                  protocol_options={"max_line": 10})
        long_line = b"GET " + b"x" * 20 + b"\n"
        replies, _ = await self.exchange(settings, [long_line])
        self.assertEqual(replies, [b"OK " + long_line])


class ConfigTests(SynchronousTestCase):
    """The plugin named in an INI file and on the command line."""

    def setUp(self) -> None:
        keep_registry(self)

    def parse(self, *argv: str) -> Any:
        options = VaurienOptions()
        options.parseOptions(list(argv))
        return options.settings

    def test_ini_section_with_callable(self) -> None:
        fd, path = tempfile.mkstemp(suffix=".ini")
        self.addCleanup(os.remove, path)
        with os.fdopen(fd, "w", encoding="utf-8") as ini:
            ini.write(textwrap.dedent(
                f"""
                [vaurien]
                backend = 127.0.0.1:1
                protocol = line
                handler = 20:error
                [protocol:line]
                callable = {DOTTED}
                max_line = 100
                """
            ))
        proxy = self.parse("--config", path).proxies[0]
        self.assertIs(proxy.protocol_class, LineProtocol)
        self.assertEqual(dict(proxy.protocol_options), {"max_line": 100})

    def test_dotted_path_on_the_command_line(self) -> None:
        proxy = self.parse("--backend", "127.0.0.1:1", "--protocol", DOTTED).proxies[0]
        self.assertIs(proxy.protocol_class, LineProtocol)
        self.assertEqual(dict(proxy.protocol_options), {"max_line": 65536})
