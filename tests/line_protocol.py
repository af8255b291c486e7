"""A third-party protocol plugin, as a user would write one: a
newline-delimited protocol where each request line gets one reply line.

It is not registered with vaurien; it is loaded by dotted path
(C{--protocol tests.line_protocol.LineProtocol}, or C{[protocol:line]
callable = tests.line_protocol.LineProtocol}). It needs only
L{vaurien.interfaces} and the framing helpers.
"""
from __future__ import annotations

from typing import Any

from zope.interface import implementer

from vaurien.interfaces import IFraming, IProtocol
from vaurien.protocols.framing import Frame, FramingError
from vaurien.protocols.pairing import PairedFraming


class LineFramer:
    """Cuts a stream into lines ending with C{\\n}.

    Each byte is searched once: C{_scan} remembers where the search for
    the next newline stopped.
    """

    def __init__(self, max_line: int, requests: bool) -> None:
        """
        @param max_line: the longest line allowed, without its C{\\n}.
        @param requests: C{True} to name each frame's command (its first
            word, upper case).
        """
        self._max_line = max_line
        self._requests = requests
        self._buf = bytearray()
        self._scan = 0

    def feed(self, data: bytes) -> list[Frame]:
        """Take the next bytes; return the lines they complete.

        @raise FramingError: a line is longer than C{max_line}. The bytes
            fed since the last lines returned stay held for L{held}.
        """
        self._buf += data
        frames = []
        start = 0
        while (end := self._buf.find(b"\n", self._scan)) != -1:
            if end - start > self._max_line:
                raise FramingError(f"line longer than {self._max_line} bytes")
            frames.append(self._frame(bytes(self._buf[start : end + 1])))
            start = self._scan = end + 1
        if len(self._buf) - start > self._max_line:
            raise FramingError(f"line longer than {self._max_line} bytes")
        del self._buf[:start]
        self._scan = len(self._buf)
        return frames

    def _frame(self, line: bytes) -> Frame:
        if not self._requests:
            return Frame(line)
        words = line.split(None, 1)
        return Frame(line, command=words[0].upper() if words else b"")

    def held(self) -> bytes:
        """The bytes of the line in progress."""
        return bytes(self._buf)


@implementer(IFraming)
class LineFraming(PairedFraming):
    """One request line, one reply line, in order.

    A reply that answers no request is found by the proxy itself, which
    then falls back to tcp: nothing to count here.
    """

    def __init__(self, max_line: int) -> None:
        super().__init__(LineFramer(max_line, True), LineFramer(max_line, False))

    def expect_reply(self, request: Frame) -> None:
        """Replies come in request order: nothing to remember."""


@implementer(IProtocol)
class LineProtocol:
    """A line protocol: one call per request line; an injected error is
    the line C{ERROR vaurien}."""

    name = "line"
    options = {
        "max_line": ("Longest line, without its newline", int, 65536),
    }
    per_call = True

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self.settings = dict(settings or {})

    def framing(self) -> LineFraming:
        """A new framing for one connection."""
        return LineFraming(int(self.settings.get("max_line", self.options["max_line"][2])))

    def error_response(self, request: bytes | None) -> bytes:
        """The same error line whatever the request."""
        return b"ERROR vaurien\n"

    def unavailable_response(self, request: bytes | None) -> None:
        """Nothing: a client of a dead backend is closed."""
        return None
