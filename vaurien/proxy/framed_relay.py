"""The life of a connection on a protocol that frames its traffic (http,
redis, memcache): a handler chosen per request, answers kept in request
order, and a fall-back to plain tcp when framing stops.

Requests are framed as they arrive and each gets a L{Call} with its own
handler. The handler is called for the request (C{to_backend} true: the
client wrapper holds exactly that request, then C{b""}); what it writes
to the backend wrapper is the request passed on, and reading the backend
wrapper gives the reply to that request, then C{b""}. If it passed the
request on without reading the reply, it is called again for the reply
(the backend wrapper holds exactly that reply). C{close()} of the backend
wrapper ends the backend connection once the replies owed on it are
through; the next request opens another. Requests are pipelined: the
next request is handled without waiting for the previous reply, and a
reply's call goes before the next request's. Whatever a call writes to the
client is held until every earlier call has been answered, so replies
reach the client in request order even when a fault answers a request at
once. A call that neither sends its request on nor answers it (C{hang})
holds every later answer back, as a hung server would.

While a single passthrough handler takes every call, the relay skims
instead (L{vaurien.proxy.skimming}); when framing stops, the rest of the
connection passes as tcp (L{vaurien.proxy.fall_back}).
"""
from __future__ import annotations

import socket
from collections import deque
from typing import Any

from twisted.logger import Logger

from vaurien.protocols.framing import Frame, FramingError
from vaurien.proxy.backend_end import EndsWithTheBackend
from vaurien.proxy.fall_back import FallsBack
from vaurien.proxy.framed_calls import Call, Work
from vaurien.proxy.relay import Relay
from vaurien.proxy.skimming import Skims
from vaurien.sending import send_now
from vaurien.settings import handlers_label

#: Most bytes held for one frame in progress: past it, framing stops and
#: the rest of the connection passes as plain tcp.
MAX_FRAME = 64 << 20


class FramedRelay(Skims, FallsBack, EndsWithTheBackend, Relay):
    """A connection whose protocol frames requests and replies."""

    log = Logger()

    def __init__(self, proxy: Any, client_transport: Any):
        super().__init__(proxy, client_transport)
        self.framing = proxy.protocol.framing()
        self.client.framed = self.backend.framed = True
        self._calls: deque[Call] = deque()
        self._awaiting: deque[Call] = deque()
        self._requests: deque[Work] = deque()  # request calls waiting to run
        self._replies: deque[Work] = deque()  # reply calls: they go first
        self._queued = 0
        self._tunnel = False
        self._switching = False
        self._raw = {True: bytearray(), False: bytearray()}
        self._unhandled: dict[bool, list[bytes]] = {True: [], False: []}
        self._ending = False  # the backend ended: end so when its replies are out
        self._half_ended = False  # ... by ending its stream only
        self._retiring = False  # a handler closed the backend connection
        self._unavailable = False
        self._early = bytearray()  # from the client while the backend connects
        self._current: Work | None = None
        self._last_replied: Call | None = None  # the call of the latest reply
        self._last_call: Call | None = None  # a handler ended the connection there
        self.backend.close_to = self._retire_backend
        self._start_skims()

    def _connection_slot(self) -> Any:
        return None

    def _handler_label(self) -> str:
        return f"handlers={handlers_label(self.proxy.handler_entries)}"

    def _log_call(self, slot: Any, to_backend: bool) -> None:
        """Logged once per request instead, as its handler is chosen."""

    def _joins_directly(self) -> bool:
        return self._tunnel

    def _holds_connection(self) -> bool:
        return bool(self._calls)

    # -- bytes arriving ---------------------------------------------------

    def data_from(self, from_client: bool, data: bytes) -> None:
        """Frame the bytes; queue a call for each request or reply."""
        self.active = True
        if from_client and self._connecting is not None:
            self._early += data  # framed (or skimmed) once the backend is there
            if len(self._early) > self.proxy.settings.max_buffer:
                self.client_gate.pause("buffer-full")
            return
        if self._skimming():
            self._skim(from_client, data)
            return
        if self._switching:
            self._raw[from_client] += data
            return
        try:
            if from_client:
                frames = self.framing.feed_requests(data)
            else:
                frames = self.framing.feed_replies(data)
        except FramingError as e:
            self._fall_back(str(e))
            self._switch_when_idle()
            return
        if from_client:
            self._new_requests(frames)
        else:
            for index, frame in enumerate(frames):
                if self._switching:
                    self._unhandled[False] += [f.data for f in frames[index:]]
                    break
                self._new_reply(frame)
            self._flush()
        if self.framing.pending > MAX_FRAME:
            self._fall_back(f"a frame larger than {MAX_FRAME} bytes")
        self._run_calls()
        self._switch_when_idle()

    def backend_connected(self, backend_side: Any) -> None:
        super().backend_connected(backend_side)
        self._release_early()

    def _release_early(self) -> None:
        """Take in what the client sent while the backend was connecting."""
        if self._early and not self.closed:
            early, self._early = bytes(self._early), bytearray()
            self.client_gate.resume("buffer-full")
            self.data_from(True, early)

    # -- cutting frames -----------------------------------------------------

    def _new_requests(self, requests: list[Frame]) -> None:
        """Give each request its call; pass on at once, in one write, the
        requests whose handler only passes bytes (no handler call)."""
        if self._last_call is not None:
            return  # a handler ended the connection: they reach no one
        passed = []
        for index, request in enumerate(requests):
            if self._switching:
                self._unhandled[True] += [r.data for r in requests[index:]]
                break
            call = Call(request, self.proxy.choose_for(request))
            if self.proxy.settings.log_calls:
                self.log.debug(
                    "{proxy}: {peer} {request}: {handler}", proxy=self.proxy.name,
                    peer=self.peer, request=_request_label(request), handler=call.slot.name,
                )
            if self._passes(call) and not request.tunnel:
                passed.append(self.framing.rewrite_request(request))
                call.forwarded = True
                if request.expects_reply:
                    self._calls.append(call)
                    self._expect(call)
                continue
            self._calls.append(call)
            self._queue(self._requests, Work(call, True))
        if passed:
            send_now(self.backend.transport, b"".join(passed))

    def _passes(self, call: Call) -> bool:
        """Whether C{call} can skip its handler: a passthrough handler, and
        nothing before it still waiting to run."""
        return (
            call.slot.passthrough and not self._has_work() and self._call is None
            and self.backend.transport is not None and not self._retiring
        )

    def _has_work(self) -> bool:
        return bool(self._requests or self._replies)

    def _new_reply(self, reply: Frame) -> None:
        if reply.command == b">":  # a RESP3 push: out of band, answers nothing
            last = self._last_replied
            if last is not None and not last.delivered:
                last.after += reply.data  # it came after that reply
            else:
                self.client.transport.write(reply.data)
            return
        if not self._awaiting:
            self._fall_back("a reply to no request")
            return
        call = self._awaiting.popleft()
        call.reply = reply
        self._last_replied = call
        current = self._current
        if self._call is not None and current.is_request and current.call is call:
            self.backend.deliver_frame(reply.data)  # the running call reads it
        elif self._passes(call):
            call.answer += reply.data
            call.complete = True
        else:
            self._queue(self._replies, Work(call, False))
        if self._retiring and not self._awaiting:
            self._end_backend_connection()

    def _queue(self, queue: deque[Work], work: Work) -> None:
        queue.append(work)
        self._queued += len(work.frame.data)
        if self._queued > self.proxy.settings.max_buffer:
            self.client_gate.pause("buffer-full")
            if self.backend_gate is not None:
                self.backend_gate.pause("buffer-full")

    def _dequeue(self, work: Work) -> None:
        self._queued -= len(work.frame.data)
        if self._queued <= self.proxy.settings.max_buffer:
            self.client_gate.resume("buffer-full")
            if self.backend_gate is not None:
                self.backend_gate.resume("buffer-full")

    # -- handler calls ----------------------------------------------------

    def _run_calls(self) -> None:
        if self._tunnel:
            return super()._run_calls()
        while self._call is None and not self.closed and self._has_work():
            queue = self._replies or self._requests
            work = queue[0]
            if work.is_request and (self.backend.transport is None or self._retiring):
                if self._ending or self._retiring:
                    break  # the backend is gone for good, or going
                if self._unavailable:
                    self._answer_unavailable()
                elif self._connecting is None:
                    self._connect_backend()
                return
            queue.popleft()
            if self._passed_on(work):
                continue
            self._start_call(work)
        self._close_if_done()

    def _start_call(self, work: Work) -> None:
        """Give the handler of C{work} its frame and run it."""
        self._current = work
        source = self.client if work.is_request else self.backend
        if not work.again:
            self._dequeue(work)
            if work.is_request:
                source.deliver_frame(self.framing.rewrite_request(work.frame))
                if work.frame.expects_reply:
                    self.backend.await_frame()
                else:
                    self.backend.deliver_frame(b"")  # no reply will come
            else:
                source.deliver_frame(work.frame.data)
        self._route_writes(work)
        self._invoke(work.call.slot, work.is_request, source.consumed)

    def _passed_on(self, work: Work) -> bool:
        """Pass a frame whose handler only passes bytes on, as that handler
        would, without calling it: its turn has come; C{False} for any
        other frame."""
        call = work.call
        if work.again or not call.slot.passthrough or (work.is_request and call.request.tunnel):
            return False
        self._dequeue(work)
        if work.is_request:
            self._forward(call, self.framing.rewrite_request(work.frame))
            if not call.request.expects_reply:
                call.complete = True
        else:
            call.answer += work.frame.data
            call.complete = True
        self._flush()
        self._switch_when_idle()
        return True

    def _route_writes(self, work: Work) -> None:
        call = work.call
        self.client.write_to = lambda data: self._answer(call, data)
        if work.is_request:
            self.backend.write_to = lambda data: self._forward(call, data)

    def _answer(self, call: Call, data: bytes) -> None:
        if call.request.expects_reply:
            call.answered = True
            call.answer += data
            self._flush()

    def _forward(self, call: Call, data: bytes) -> None:
        """Send (part of) the request of C{call} to the backend; from its
        first bytes on, the next reply is its own."""
        if self.backend.transport is None:
            if self._ending:
                return  # the backend closed: the request is lost, as direct
            raise BrokenPipeError(32, "Broken pipe")
        if not call.forwarded and call.request.expects_reply:
            self._expect(call)
        call.forwarded = True
        self.backend.transport.write(data)

    def _after_call(self, result: Any, to_backend: bool, consumed_before: int) -> None:
        work = self._current
        self.client.write_to = self.backend.write_to = None
        if self.closed:
            return
        if result is False and not self.proxy.settings.stay_connected:
            # The handler ends the connection: once this call's answer is
            # delivered (after those before it); later requests are dropped.
            self._last_call = work.call
            for dropped in self._requests:
                if not dropped.again:
                    self._dequeue(dropped)
            self._requests.clear()
        source = self.client if to_backend else self.backend
        queue = self._requests if to_backend else self._replies
        if source.buffered:
            if source.consumed != consumed_before:
                queue.appendleft(Work(work.call, to_backend, again=True))
                return
            source.recv(source.buffered)  # what the handler left is dropped
        call = work.call
        if not to_backend:
            call.complete = True
        elif call.reply is not None:  # it came during the call
            if self.backend.buffered:  # not read (all): a call for the rest
                self._replies.appendleft(Work(call, False, again=True))
            else:
                call.complete = True
        elif call.forwarded and call.request.expects_reply:
            pass  # its reply is awaited
        elif call.forwarded or call.answered or not call.request.expects_reply:
            call.complete = True
        self._flush()
        if to_backend and call.request.tunnel:
            self._fall_back(f"{call.request.command!r} makes it a tunnel")
        self._switch_when_idle()

    def _expect(self, call: Call) -> None:
        try:
            self.framing.expect_reply(call.request)
        except FramingError as e:
            self._fall_back(str(e))
            return
        self._awaiting.append(call)

    def _flush(self) -> None:
        """Write the answers owed, in request order, in one write."""
        ready = []
        calls = self._calls
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
            if head is self._last_call:
                break
        if ready:
            send_now(self.client.transport, b"".join(ready))
        if self._last_call is not None and self._last_call.delivered:
            self.close()

    def _close_if_done(self) -> None:
        if self._replies or self._call is not None or self.closed or self._tunnel:
            return
        if self._ending:
            self._flush()
            self._end_as_the_backend_did()
            return
        if self._requests or self._early or not self.client.ended:
            return
        if self.skim_slot is None and self.framing.unframed()[0]:
            # The client ended inside a request, which will never be
            # whole: its bytes pass on as tcp, then the end of stream.
            self._fall_back("the client ended inside a request")
            self._switch_when_idle()
            return
        if self.backend.transport is None:
            self.close()  # no backend to wait for: nothing more will come
        else:
            # Every request is sent on: the backend gets the end of stream,
            # and its own end ends the client's connection, as direct.
            self.backend.shutdown(socket.SHUT_WR)


def _request_label(request: Frame) -> str:
    """C{GET /path} or C{SET}: what a debug line says of a request."""
    words = [part[:200].decode("latin-1") for part in (request.command, request.target) if part]
    return " ".join(words) or "request"
