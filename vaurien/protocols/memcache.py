"""memcache: the memcached text protocol framed by command; errors answer
as memcached does."""
from __future__ import annotations

from typing import Any

from zope.interface import implementer

from vaurien.interfaces import IFraming, IProtocol
from vaurien.protocols import Protocol
from vaurien.protocols.framing import Frame
from vaurien.protocols.memcache_text import MemcacheReplyFramer, MemcacheRequestFramer
from vaurien.protocols.pairing import PairedFraming


@implementer(IFraming)
class MemcacheFraming(PairedFraming):
    """The framing of one memcached connection: a reply is read by the
    command it answers (C{VALUE ... END} for the retrievals)."""

    replies: MemcacheReplyFramer

    def __init__(self) -> None:
        super().__init__(MemcacheRequestFramer(), MemcacheReplyFramer())

    def expect_reply(self, request: Frame) -> None:
        assert request.command is not None
        self.replies.expect(request.command)


@Protocol.register
@implementer(IProtocol)
class Memcache:
    """memcached's text protocol: one call per command; an injected error
    is C{SERVER_ERROR ...}, after which the connection goes on. The binary
    protocol falls back to tcp."""

    name = "memcache"
    options = {
        "error_message": ("Message of injected errors", str, "Vaurien injected error"),
    }
    per_call = True

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self.settings = dict(settings or {})

    def framing(self) -> MemcacheFraming:
        """A new framing for one connection."""
        return MemcacheFraming()

    def unavailable_response(self, request: bytes | None) -> None:
        """Nothing: a client of a dead backend is closed."""
        return None

    def error_response(self, request: bytes | None) -> bytes:
        """C{SERVER_ERROR message}, on one line whatever the option holds."""
        message = self.settings.get("error_message", self.options["error_message"][2])
        return b"SERVER_ERROR " + " ".join(message.splitlines()).encode() + b"\r\n"
