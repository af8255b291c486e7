"""memcache: the memcached text protocol framed by command; errors answer
as memcached does.

L{MemcacheFraming} cuts frames with the framers of
L{vaurien.protocols.memcache.framing}, or, while a passthrough handler
takes every call, follows the traffic with the skimmers of
L{vaurien.protocols.memcache.skim}.
"""
from __future__ import annotations

from typing import Any, Callable

from zope.interface import implementer

from vaurien.interfaces import IProtocol, ISkimming
from vaurien.protocols import Protocol
from vaurien.protocols.framing import Frame, only_framing_errors
from vaurien.protocols.memcache.framing import MemcacheReplyFramer, MemcacheRequestFramer
from vaurien.protocols.memcache.skim import ReplySkimmer, RequestSkimmer
from vaurien.protocols.pairing import PairedFraming


@implementer(ISkimming)
class MemcacheFraming(PairedFraming):
    """The framing of one memcached connection: a reply is read by the
    command it answers (C{VALUE ... END} for the retrievals). It cuts
    frames, or skims the same way."""

    requests: MemcacheRequestFramer
    replies: MemcacheReplyFramer

    def __init__(self) -> None:
        super().__init__(MemcacheRequestFramer(), MemcacheReplyFramer())
        self._request_skimmer = RequestSkimmer()
        self._reply_skimmer = ReplySkimmer(self.replies.awaited)
        self._expect = self.replies.awaited.append

    def expect_reply(self, request: Frame) -> None:
        assert request.command is not None
        self.replies.expect(request.command)

    @property
    def resting(self) -> bool:
        return not (self.pending or self.replies.awaited) and (
            self._request_skimmer.resting and self._reply_skimmer.resting
        )

    @only_framing_errors
    def skim_requests(self, data: bytes) -> int:
        """Follow requests already passed on; their replies are awaited."""
        return self._request_skimmer.skim(data, self._expect)

    @only_framing_errors
    def skim_replies(self, data: bytes) -> None:
        """Follow replies already passed on."""
        if self._request_skimmer.failure is not None:
            raise self._request_skimmer.failure
        self._reply_skimmer.skim(data)

    def followers(self) -> tuple[Callable[[bytes], int], Callable[[bytes], None]]:
        """The lane follows with the two skimming methods themselves."""
        return self.skim_requests, self.skim_replies


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
