"""What the framed relay keeps for each request: a L{Call}, and the
handler runs (L{Work}) waiting their turn."""
from __future__ import annotations

from typing import Any

from attrs import Factory, define

from vaurien.protocols.framing import Frame


@define
class Call:
    """One request, its handler and what is owed to the client for it.

    @ivar request: the request frame.
    @ivar slot: the handler slot chosen for it.
    @ivar answer: bytes for the client, held until earlier calls are done.
    @ivar answered: the handler wrote to the client for it.
    @ivar forwarded: the handler sent the request to the backend.
    @ivar reply: the backend's reply, once it came.
    @ivar complete: nothing more will be written for this call.
    @ivar after: bytes that came from the backend after its reply and
        belong to no request (RESP3 pushes): they follow its answer.
    @ivar delivered: its answer (and what follows) went to the client.
    """

    request: Frame
    slot: Any
    answer: bytearray = Factory(bytearray)
    answered: bool = False
    forwarded: bool = False
    reply: Frame | None = None
    complete: bool = False
    after: bytes = b""  # rare: no buffer made per call
    delivered: bool = False


@define
class Work:
    """A handler call waiting to run: the request or the reply of C{call}.

    @ivar again: the handler left bytes of the frame unread after reading
        some: it is called again with what is left, not given it anew.
    """

    call: Call
    is_request: bool
    again: bool = False

    @property
    def frame(self) -> Frame:
        return self.call.request if self.is_request else self.call.reply
