"""BaseToxic: what the built-in toxics share; the ends a stream can have."""
from __future__ import annotations

from typing import Any, Mapping

from zope.interface import implementer

from vaurien.interfaces import IToxic

#: An orderly close of the connection.
CLOSE = "close"
#: End of stream one way (C{shutdown(SHUT_WR)}); the other way goes on.
HALF_CLOSE = "half_close"
#: A TCP reset: the peer sees C{ECONNRESET}.
RESET = "reset"


@implementer(IToxic)
class BaseToxic:
    """A toxic that passes everything on at once; subclasses change that.

    @ivar settings: every attribute's value.
    @ivar output: where it passes things on (L{vaurien.interfaces.IToxicOutput}).
    @ivar closed: it passed on (or made) a close or a reset: nothing more
        passes.
    """

    name = ""
    attributes: dict[str, tuple] = {}
    held = 0
    holds_connection = False

    def __init__(self, settings: Mapping[str, Any], output: Any):
        self.settings = dict(settings)
        self.output = output
        self.closed = False

    def data(self, chunk: bytes, read_at: float) -> None:
        if not self.closed:
            self.output.data(chunk, read_at)

    def end(self, how: str) -> None:
        self.pass_end(how)

    def pass_end(self, how: str) -> None:
        """Pass an end on, unless the stream is over already."""
        if not self.closed:
            self.closed = how != HALF_CLOSE
            self.output.end(how)

    def update(self, settings: Mapping[str, Any]) -> None:
        self.settings = dict(settings)

    def remove(self) -> None:
        """Nothing held, no timer: nothing to do."""

    def ms(self, attribute: str) -> float:
        """An attribute given in milliseconds, in seconds."""
        return self.settings[attribute] / 1000.0
