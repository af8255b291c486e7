"""What a framed connection keeps for its requests: a L{Call} per request,
the handler runs waiting their turn (L{Work}), the replies awaited, and
the answers held so that they reach the client in request order."""
from __future__ import annotations

from collections import deque
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


class Exchanges:
    """The calls of one framed connection.

    @ivar calls: the calls whose answer is still owed, in request order.
    @ivar awaiting: the calls whose reply the backend owes, in order.
    @ivar requests: request calls waiting to run.
    @ivar replies: reply calls waiting to run; they go first.
    @ivar last_replied: the call of the latest reply.
    @ivar last_call: a handler ended the connection at this call.
    """

    __slots__ = ("connection", "calls", "awaiting", "requests", "replies", "last_replied",
                 "last_call", "_queued", "_paused")

    def __init__(self, connection: Any):
        self.connection = connection
        self.calls: deque[Call] = deque()
        self.awaiting: deque[Call] = deque()
        self.requests: deque[Work] = deque()
        self.replies: deque[Work] = deque()
        self.last_replied: Call | None = None
        self.last_call: Call | None = None
        self._queued = 0  # bytes of the frames waiting in the two queues
        self._paused = False  # it paused both sides for them

    def has_work(self) -> bool:
        return bool(self.requests or self.replies)

    def in_flight(self) -> bool:
        """Whether any call is owed an answer or waits to run."""
        return bool(self.calls or self.requests or self.replies)

    def queue(self, queue: deque[Work], work: Work) -> None:
        """Put C{work} in C{queue}; past C{max_buffer} queued, both sides
        stop being read."""
        queue.append(work)
        self._queued += len(work.frame.data)
        connection = self.connection
        if self._queued > connection.proxy.settings.max_buffer:
            self._paused = True
            connection.client_gate.pause("buffer-full")
            if connection.backend_gate is not None:
                connection.backend_gate.pause("buffer-full")

    def dequeue(self, work: Work) -> None:
        """C{work} left its queue: read again once under C{max_buffer}."""
        self._queued -= len(work.frame.data)
        if self._paused and self._queued <= self.connection.proxy.settings.max_buffer:
            self._resume()

    def drop_requests(self) -> None:
        """Forget the request calls waiting (the connection ends)."""
        for dropped in self.requests:
            if not dropped.again:
                self.dequeue(dropped)
        self.requests.clear()

    def take_queued(self) -> tuple[list[bytes], list[bytes]]:
        """Empty both queues: the frames not run yet, to the backend and
        to the client, in order."""
        to_backend = [w.frame.data for w in self.requests if not w.again]
        to_client = [w.frame.data for w in self.replies if not w.again]
        self.requests.clear()
        self.replies.clear()
        self._queued = 0
        self._resume()
        return to_backend, to_client

    def take_answers(self) -> bytes:
        """Forget every call: what was owed to the client so far."""
        owed = b"".join(bytes(call.answer) + call.after for call in self.calls)
        self.calls.clear()
        self.awaiting.clear()
        return owed

    def _resume(self) -> None:
        self._paused = False
        connection = self.connection
        connection.client_gate.resume("buffer-full")
        if connection.backend_gate is not None:
            connection.backend_gate.resume("buffer-full")

    def flush(self) -> bool:
        """Write the answers owed, in request order, in one write.

        @return: whether the answer of the call that ended the connection
            is out (the connection is then to close).
        """
        ready = []
        calls = self.calls
        while calls:
            head = calls[0]
            if head.answer:
                ready.append(bytes(head.answer))
                head.answer.clear()
            if not head.complete:
                break
            if head.after:
                ready.append(head.after)
            head.delivered = True
            calls.popleft()
            if head is self.last_call:
                break
        if ready:
            connection = self.connection
            connection.send_now(connection.client.transport, b"".join(ready))
        return self.last_call is not None and self.last_call.delivered


def request_label(request: Frame) -> str:
    """C{GET /path} or C{SET}: what a debug line says of a request."""
    words = [part[:200].decode("latin-1") for part in (request.command, request.target) if part]
    return " ".join(words) or "request"
