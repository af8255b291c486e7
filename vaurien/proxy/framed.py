"""The life of a connection on a protocol that frames its traffic (http,
redis, memcache): a handler chosen per request, answers kept in request
order, and a fall-back to plain tcp when framing stops.

Requests are framed as they arrive and each gets a call with its own
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
once (L{vaurien.proxy.exchanges}). A call that neither sends its request
on nor answers it (C{hang}) holds every later answer back, as a hung
server would.

Its collaborators: L{Skimmer} while no fault is in play, L{FallBack} when
framing stops, L{BackendEnd} when the backend ends or cannot be reached.
"""
from __future__ import annotations

import socket
from typing import Any

from twisted.logger import Logger

from vaurien.protocols.framing import Frame, FramingError
from vaurien.proxy.backend_end import BackendEnd
from vaurien.proxy.connection import Connection
from vaurien.proxy.exchanges import Call, Exchanges, Work, request_label
from vaurien.proxy.fall_back import FallBack
from vaurien.proxy.machine import SKIMMING, SWITCHING, TUNNEL
from vaurien.proxy.skimming import Skimmer
from vaurien.config import handlers_label

#: Most bytes held for one frame in progress: past it, framing stops and
#: the rest of the connection passes as plain tcp.
MAX_FRAME = 64 << 20


class FramedConnection(Connection):
    """A connection whose protocol frames requests and replies."""

    __slots__ = ("framing", "exchanges", "skimmer", "fall_back", "ending", "early", "current")
    log = Logger()

    def __init__(self, proxy: Any, client_transport: Any):
        super().__init__(proxy, client_transport)
        self.framing = proxy.protocol.framing()
        self.client.framed = self.backend.framed = True
        self.exchanges = Exchanges(self)
        self.skimmer = Skimmer(self)
        self.fall_back = FallBack(self)
        self.ending = BackendEnd(self)
        self.early = bytearray()  # from the client while the backend connects
        self.current: Work | None = None  # the handler run of the call running
        self.backend.close_to = self.ending.retire

    def connection_slot(self) -> Any:
        return None

    def handler_label(self) -> str:
        return f"handlers={handlers_label(self.proxy.handler_entries)}"

    def log_call(self, slot: Any, to_backend: bool) -> None:
        """Logged once per request instead, as its handler is chosen."""

    def holds_connection(self) -> bool:
        return bool(self.exchanges.calls)

    def lane_terms(self) -> tuple[Any, Any, Any, Any]:
        return self.skimmer.lane_terms()

    def stop_skimming(self, reason: str) -> None:
        """The lane's follower could not follow: join the two sides."""
        self.skimmer.stop(reason)

    # -- opening ------------------------------------------------------------

    def opened(self) -> None:
        if self.mode is TUNNEL:
            super().opened()
            return
        self.machine.connected_framed()
        self.run_calls()
        self.release_early()
        if self.client.ended:  # it ended while the backend connected
            self.close_if_done()

    def backend_unreachable(self) -> None:
        if self.mode is TUNNEL:
            super().backend_unreachable()
        else:
            self.ending.unreachable()

    def release_early(self) -> None:
        """Take in what the client sent while the backend was connecting."""
        if self.early and not self.closed:
            early, self.early = bytes(self.early), bytearray()
            self.client_gate.resume("buffer-full")
            self.data_from(True, early)

    # -- bytes and ends arriving --------------------------------------------

    def data_from(self, from_client: bool, data: bytes) -> None:
        """Frame the bytes; queue a call for each request or reply."""
        self.active = True
        if self.mode is TUNNEL:
            super().data_from(from_client, data)  # the backend is being opened again
            return
        if from_client and self.opener.connecting is not None:
            self.early += data  # framed (or skimmed) once the backend is there
            if len(self.early) > self.proxy.settings.max_buffer:
                self.client_gate.pause("buffer-full")
            return
        if (self.mode is SKIMMING or self.proxy.skim_slot is not None) and self.skimmer.offer(
                from_client, data):
            return
        if self.mode is SWITCHING:
            self.fall_back.hold(from_client, data)
            return
        try:
            if from_client:
                frames = self.framing.feed_requests(data)
            else:
                frames = self.framing.feed_replies(data)
        except FramingError as e:
            self.fall_back.stop(str(e))
            self.switch_when_idle()
            return
        if from_client:
            self.new_requests(frames)
        else:
            for index, frame in enumerate(frames):
                if self.mode is SWITCHING:
                    self.fall_back.hold_frames(False, [f.data for f in frames[index:]])
                    break
                self.new_reply(frame)
            self.flush()
        if self.framing.pending > MAX_FRAME:
            self.fall_back.stop(f"a frame larger than {MAX_FRAME} bytes")
        self.run_calls()
        self.switch_when_idle()

    def switch_when_idle(self) -> None:
        """Join as tcp if framing stopped and no call runs."""
        if self.mode is SWITCHING:
            self.fall_back.switch_when_idle()

    def end_from(self, from_client: bool, transport: Any) -> None:
        if self.mode is TUNNEL:
            super().end_from(from_client, transport)
            return
        self.active = True
        if from_client:
            self.client.deliver_end()
            self.close_if_done()
        elif transport is self.backend.transport:
            self.ending.ended(half=True)

    def lost(self, from_client: bool, transport: Any, reset: bool = False) -> None:
        if self.mode is TUNNEL or from_client:
            super().lost(from_client, transport, reset)
        elif not self.closed and transport is self.backend.transport:
            self.reset_at_end = reset
            self.ending.ended(half=False)

    # -- cutting frames -----------------------------------------------------

    def new_requests(self, requests: list[Frame]) -> None:
        """Give each request its call; pass on at once, in one write, the
        requests whose handler only passes bytes (no handler call)."""
        exchanges = self.exchanges
        if exchanges.last_call is not None:
            return  # a handler ended the connection: they reach no one
        passed = []
        choose = self.skimmer.choose_for if self.proxy.draws else self.proxy.choose_for
        for index, request in enumerate(requests):
            if self.mode is SWITCHING:
                self.fall_back.hold_frames(True, [r.data for r in requests[index:]])
                break
            call = Call(request, choose(request))
            if self.proxy.settings.log_calls:
                self.log.debug(
                    "{proxy}: {peer} {request}: {handler}", proxy=self.proxy.name,
                    peer=self.peer, request=request_label(request), handler=call.slot.name,
                )
            if self.passes(call) and not request.tunnel:
                passed.append(self.framing.rewrite_request(request))
                call.forwarded = True
                if request.expects_reply:
                    exchanges.calls.append(call)
                    self.expect(call)
                continue
            exchanges.calls.append(call)
            exchanges.queue(exchanges.requests, Work(call, True))
        if passed:
            self.send_now(self.backend.transport, b"".join(passed))

    def passes(self, call: Call) -> bool:
        """Whether C{call} can skip its handler: a passthrough handler, and
        nothing before it still waiting to run."""
        return (
            call.slot.passthrough and not self.exchanges.has_work() and not self.runner.running
            and self.backend.transport is not None and not self.ending.retiring
        )

    def new_reply(self, reply: Frame) -> None:
        exchanges = self.exchanges
        if reply.command == b">":  # a RESP3 push: out of band, answers nothing
            last = exchanges.last_replied
            if last is not None and not last.delivered:
                last.after += reply.data  # it came after that reply
            else:
                self.client.transport.write(reply.data)
            return
        if not exchanges.awaiting:
            self.fall_back.stop("a reply to no request")
            return
        call = exchanges.awaiting.popleft()
        call.reply = reply
        exchanges.last_replied = call
        current = self.current
        if self.runner.running and current.is_request and current.call is call:
            self.backend.deliver_frame(reply.data)  # the running call reads it
        elif self.passes(call):
            call.answer += reply.data
            call.complete = True
        else:
            exchanges.queue(exchanges.replies, Work(call, False))
        if self.ending.retiring and not exchanges.awaiting:
            self.ending.end_connection()

    def expect(self, call: Call) -> None:
        try:
            self.framing.expect_reply(call.request)
        except FramingError as e:
            self.fall_back.stop(str(e))
            return
        self.exchanges.awaiting.append(call)

    def flush(self) -> None:
        """Write the answers owed, in request order; close once a handler's
        last answer is out."""
        if self.exchanges.flush():
            self.close()

    # -- handler calls ----------------------------------------------------

    def run_calls(self) -> None:
        if self.mode is TUNNEL:
            super().run_calls()
            return
        exchanges, ending = self.exchanges, self.ending
        while not self.runner.running and not self.closed and exchanges.has_work():
            queue = exchanges.replies or exchanges.requests
            work = queue[0]
            if work.is_request and (self.backend.transport is None or ending.retiring):
                if ending.ending or ending.retiring:
                    break  # the backend is gone for good, or going
                if ending.unavailable:
                    ending.answer_unavailable()
                elif self.opener.connecting is None:
                    self.opener.connect()
                return
            queue.popleft()
            if self.passed_on(work):
                continue
            self.start_call(work)
        self.close_if_done()

    def start_call(self, work: Work) -> None:
        """Give the handler of C{work} its frame and run it."""
        self.current = work
        source = self.client if work.is_request else self.backend
        if not work.again:
            self.exchanges.dequeue(work)
            if work.is_request:
                source.deliver_frame(self.framing.rewrite_request(work.frame))
                if work.frame.expects_reply:
                    self.backend.await_frame()
                else:
                    self.backend.deliver_frame(b"")  # no reply will come
            else:
                source.deliver_frame(work.frame.data)
        self.route_writes(work)
        self.runner.run(work.call.slot, work.is_request)

    def passed_on(self, work: Work) -> bool:
        """Pass a frame whose handler only passes bytes on, as that handler
        would, without calling it: its turn has come; C{False} for any
        other frame."""
        call = work.call
        if work.again or not call.slot.passthrough or (work.is_request and call.request.tunnel):
            return False
        self.exchanges.dequeue(work)
        if work.is_request:
            self.forward(call, self.framing.rewrite_request(work.frame))
            if not call.request.expects_reply:
                call.complete = True
        else:
            call.answer += work.frame.data
            call.complete = True
        self.flush()
        self.switch_when_idle()
        return True

    def route_writes(self, work: Work) -> None:
        call = work.call
        self.client.write_to = lambda data: self.answer(call, data)
        if work.is_request:
            self.backend.write_to = lambda data: self.forward(call, data)

    def answer(self, call: Call, data: bytes) -> None:
        if call.request.expects_reply:
            call.answered = True
            call.answer += data
            self.flush()

    def forward(self, call: Call, data: bytes) -> None:
        """Send (part of) the request of C{call} to the backend; from its
        first bytes on, the next reply is its own."""
        if self.backend.transport is None:
            if self.ending.ending:
                return  # the backend closed: the request is lost, as direct
            raise BrokenPipeError(32, "Broken pipe")
        if not call.forwarded and call.request.expects_reply:
            self.expect(call)
        call.forwarded = True
        self.backend.transport.write(data)

    def call_done(self, result: Any, to_backend: bool, consumed_before: int) -> None:
        if self.mode is TUNNEL:
            super().call_done(result, to_backend, consumed_before)
            return
        work = self.current
        self.client.write_to = self.backend.write_to = None
        if self.closed:
            return
        exchanges = self.exchanges
        if result is False and not self.proxy.settings.stay_connected:
            # The handler ends the connection: once this call's answer is
            # delivered (after those before it); later requests are dropped.
            exchanges.last_call = work.call
            exchanges.drop_requests()
        source = self.client if to_backend else self.backend
        queue = exchanges.requests if to_backend else exchanges.replies
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
                exchanges.replies.appendleft(Work(call, False, again=True))
            else:
                call.complete = True
        elif call.forwarded and call.request.expects_reply:
            pass  # its reply is awaited
        elif call.forwarded or call.answered or not call.request.expects_reply:
            call.complete = True
        self.flush()
        if to_backend and call.request.tunnel:
            self.fall_back.stop(f"{call.request.command!r} makes it a tunnel")
        self.switch_when_idle()

    def close_if_done(self) -> None:
        exchanges = self.exchanges
        if (exchanges.replies or self.runner.running or self.closed
                or self.mode is TUNNEL):
            return
        if self.ending.ending:
            self.flush()
            self.ending.end_as_the_backend_did()
            return
        if exchanges.requests or self.early or not self.client.ended:
            return
        if self.skimmer.slot is None and self.framing.unframed()[0]:
            # The client ended inside a request, which will never be
            # whole: its bytes pass on as tcp, then the end of stream.
            self.fall_back.stop("the client ended inside a request")
            self.switch_when_idle()
            return
        if self.backend.transport is None:
            self.close()  # no backend to wait for: nothing more will come
        else:
            # Every request is sent on: the backend gets the end of stream,
            # and its own end ends the client's connection, as direct.
            self.backend.shutdown(socket.SHUT_WR)

