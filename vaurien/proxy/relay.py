"""The life of one proxied connection: passing bytes (directly, or
through handler calls), half-closes and the end; opening the backend side
is in L{vaurien.proxy.opening}, the idle timeout in L{vaurien.proxy.idle}.

L{Relay} holds the state; the thin Twisted protocols in L{sides} feed it.
"""
from __future__ import annotations

import socket
from typing import Any

from twisted.internet.defer import CancelledError, Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from vaurien.proxy.flow import PauseGate
from vaurien.proxy.idle import IdleWatch
from vaurien.proxy.opening import OpensTheBackend
from vaurien.proxy.resets import reset_once_sent
from vaurien.proxy.splice import NEVER, SPLICE_AFTER, SpliceLink, splice_if_ready
from vaurien.sockets import TransportSocket


class Relay(OpensTheBackend):
    """One client connection and its backend.

    @ivar slot: the handler slot serving this connection.
    @ivar passthrough: bytes go transport to transport, no handler call.
    @ivar closed: the connection has ended.
    @ivar active: bytes moved since the last idle check.
    """

    log = Logger()

    def __init__(self, proxy: Any, client_transport: Any):
        self.proxy = proxy
        self.reactor = proxy.reactor
        self.client = TransportSocket(self.reactor, lambda: self._consumed(True))
        self.backend = TransportSocket(self.reactor, lambda: self._consumed(False))
        self.client.attach(client_transport)
        self.client_gate = PauseGate(client_transport)
        self.backend_gate: PauseGate | None = None
        self.backend_side: Any = None
        self.slot = self._connection_slot()
        self.passthrough = False
        self.closed = False
        self.active = False
        self.in_lane = False  # its sockets are read by the proxy's lane
        self._connecting: Deferred | None = None
        self._backend_gone = False
        self._reset_at_end = False  # the backend's end was a reset
        self._pending: list[bool] = []  # the sides waiting for a call
        self._call: Any = None
        self._calling: Any = None
        self._idle = IdleWatch(self)
        self.spliced: SpliceLink | None = None
        #: Bytes left to pass on the transports before trying to splice.
        self.unspliced = SPLICE_AFTER if self._may_splice() else NEVER
        self.peer = self.client.getpeername()

    # -- what the framed relay does differently ----------------------------

    def _connection_slot(self) -> Any:
        """The handler slot serving the whole connection."""
        return self.proxy.choose()

    def _handler_label(self) -> str:
        return f"handler={self.slot.name}"

    def _log_call(self, slot: Any, to_backend: bool) -> None:
        """The debug line of one handler call (tcp: each chunk)."""
        self.log.debug(
            "{proxy}: {peer} call {handler} to_backend={to_backend}",
            proxy=self.proxy.name, peer=self.peer, handler=slot.name, to_backend=to_backend,
        )

    def _joins_directly(self) -> bool:
        """Whether bytes may go transport to transport, no handler called."""
        return self.slot.passthrough

    def _holds_connection(self) -> bool:
        """Whether the idle timeout must leave the connection alone."""
        return self.slot.holds_connection

    def _may_splice(self) -> bool:
        settings = self.proxy.protocol.settings
        return not (
            self.proxy.protocol.per_call or settings.get("keep_alive")
            or settings.get("reuse_socket") or self.proxy.pipes is None
        )

    # -- splicing ---------------------------------------------------------

    def try_splice(self) -> None:
        """Hand both sockets to the kernel if nothing but passing bytes is
        going on; else try again later, or never."""
        if self.closed or not self.passthrough:
            self.unspliced = NEVER
            return
        if self.in_lane:
            self.proxy.lane.leave(self)
        self.spliced, self.unspliced = splice_if_ready(self, self.proxy.pipes)

    # -- the lane -----------------------------------------------------------

    def try_lane(self) -> None:
        """Move both sockets to the proxy's lane if nothing is held."""
        lane = self.proxy.lane
        if lane is not None and self._may_use_lane() and lane.admits(self):
            lane.enter(self)

    def _may_use_lane(self) -> bool:
        return self.passthrough and self.spliced is None

    def lane_terms(self) -> tuple[Any, Any, Any]:
        """What the lane shows each chunk to, both ways, and the slot in
        force as it enters: nothing (tcp)."""
        return None, None, None

    def moved(self, from_client: bool, count: int) -> None:
        """Bytes moved by the kernel, for the counters and the idle timer."""
        self.active = True
        if from_client:
            self.proxy.bytes_to_backend += count
        else:
            self.proxy.bytes_to_client += count

    # -- bytes arriving ---------------------------------------------------

    def data_from(self, from_client: bool, data: bytes) -> None:
        """Bytes from one side, for a handler call."""
        source = self.client if from_client else self.backend
        source.deliver(data)
        if source.buffered > self.proxy.settings.max_buffer:
            self._gate(from_client).pause("buffer-full")
        self._want_call(from_client)

    def end_from(self, from_client: bool, transport: Any) -> None:
        """One side sent end-of-stream (a half-close)."""
        if not from_client and transport is not self.backend.transport:
            return
        self.active = True
        if not from_client and self._keeps_client():
            if self.client.ended:
                self.close()  # the client is done too: nothing to keep
            else:
                self._drop_backend()
            return
        if from_client and self.proxy.protocol.settings.get("reuse_socket"):
            self.close()  # the client is done; its backend waits for the next one
            return
        source = self.client if from_client else self.backend
        source.deliver_end()
        if self.passthrough:
            other = self.backend if from_client else self.client
            other.shutdown(socket.SHUT_WR)
            self._close_if_both_ended()
        else:
            self._want_call(from_client)

    def _drop_backend(self) -> None:
        """Close the backend connection; the client's next data opens another."""
        self.passthrough = False
        self.backend.transport.loseConnection()

    def lost(self, from_client: bool, transport: Any, reset: bool = False) -> None:
        """One side's connection is gone entirely (C{reset}: by its peer's
        reset, which the other side then gets too)."""
        if self.closed:
            return
        if from_client:
            self.close(reset)
            return
        if transport is not self.backend.transport:
            return
        self.passthrough = False
        self.backend_gate = None
        if self.backend._closed or self._keeps_client():
            if self.client.ended and not self.client.buffered and self._call is None:
                self.close()  # the client is done too: nothing to keep
            else:
                self.backend.detach()
            return
        self._backend_gone = True
        self._reset_at_end = reset
        self.backend.deliver_end()
        if self._call is None and not self.backend.buffered:
            self.close(reset)
        else:
            self._want_call(False)

    def _keeps_client(self) -> bool:
        return self.proxy.settings.stay_connected or bool(
            self.proxy.protocol.settings.get("keep_alive")
        )

    def _gate(self, to_backend: bool) -> PauseGate:
        return self.client_gate if to_backend else self.backend_gate

    def _consumed(self, to_backend: bool) -> None:
        self.active = True
        source = self.client if to_backend else self.backend
        gate = self._gate(to_backend)
        if gate is not None and source.buffered <= self.proxy.settings.max_buffer:
            gate.resume("buffer-full")

    def _close_if_both_ended(self) -> None:
        if self.client.ended and self.backend.ended:
            self.close()

    # -- handler calls ----------------------------------------------------

    def _want_call(self, to_backend: bool) -> None:
        self.active = True
        if to_backend not in self._pending:
            self._pending.append(to_backend)
        self._run_calls()

    def _run_calls(self) -> None:
        while self._pending and self._call is None and not self.closed:
            to_backend = self._pending[0]
            if to_backend and self.backend.transport is None:
                if self.client.ended and not self.client.buffered:
                    self.close()
                elif self._connecting is None:
                    self._connect_backend()
                return
            self._pending.pop(0)
            source = self.client if to_backend else self.backend
            if not source.buffered and (source.end_seen or not source.ended):
                continue  # an earlier call already read what this one was for
            self._invoke(self.slot, to_backend, source.consumed)

    def _invoke(self, slot: Any, to_backend: bool, consumed_before: int) -> None:
        """Run one handler call; L{_after_call} follows when it is done."""
        self._call = True
        self._calling = slot
        if self.proxy.settings.log_calls:
            self._log_call(slot, to_backend)
        try:
            result = slot.call(self.client, self.backend, to_backend, self.proxy)
        except Exception:
            self._call = None
            self._handler_failed(Failure())
            return
        if isinstance(result, Deferred):
            outcome: list[Any] = []
            result.addBoth(outcome.append)
            if not outcome:  # it waits: go on when it is done
                self._call = result
                result.addCallback(
                    lambda _: self._call_done(outcome[0], to_backend, consumed_before)
                )
                return
            result = outcome[0]  # a coroutine that did not wait: no recursion
        self._call = None
        if isinstance(result, Failure):
            self._call_failed(result)
        else:
            self._after_call(result, to_backend, consumed_before)

    def _call_done(self, outcome: Any, to_backend: bool, consumed_before: int) -> None:
        self._call = None
        if isinstance(outcome, Failure):
            self._call_failed(outcome)
            return
        self._after_call(outcome, to_backend, consumed_before)
        self._run_calls()

    def _call_failed(self, failure: Failure) -> None:
        if not failure.check(CancelledError):
            self._handler_failed(failure)

    def _handler_failed(self, failure: Failure) -> None:
        if self.closed:
            return
        if failure.check(ConnectionError):
            self.log.info(
                "{proxy}: {peer} closed: a side is gone ({reason})",
                proxy=self.proxy.name, peer=self.peer, reason=failure.getErrorMessage(),
            )
            self.close()
            return
        self.log.failure(
            "{proxy}: handler {handler} failed; closing {peer}",
            failure, proxy=self.proxy.name, handler=self._calling.name, peer=self.peer,
        )
        self.close()

    def _ends_connection(self, result: Any) -> bool:
        """Whether a call's C{result} ended the connection (closing it when
        the handler asked to, unless C{stay_connected})."""
        if result is False and not self.closed and not self.proxy.settings.stay_connected:
            self.close()
        return self.closed

    def _after_call(self, result: Any, to_backend: bool, consumed_before: int) -> None:
        if self._ends_connection(result):
            return
        source = self.client if to_backend else self.backend
        progressed = source.consumed != consumed_before
        if progressed and (source.buffered or source.ended and not source.end_seen):
            self._want_call(to_backend)
        if self.client.end_seen and self.backend.end_seen:
            self.close()
        elif self._backend_gone and self.backend.end_seen:
            self.close(self._reset_at_end)

    # -- what the idle watch asks, and the end -----------------------------

    def waits_on_purpose(self) -> bool:
        """Whether the idle timeout must leave the connection alone: a
        call on the reactor runs (it bounds its own wait), or a handler
        holds the connection (C{hang})."""
        return self._call is not None or self._holds_connection()

    def thread_call(self) -> Deferred | None:
        """The call running in a worker thread, if one is."""
        if self._call is not None and self._calling.in_thread:
            return self._call
        return None

    def handler_in_call(self) -> str:
        """The name of the handler of the call running (or the last one)."""
        return self._calling.name

    def _reset(self, transport: Any) -> None:
        if not transport.disconnected:
            reset_once_sent(transport, self.proxy.clock)

    def _park_backend(self) -> bool:
        """With tcp's C{reuse_socket}, hand a healthy backend connection to
        the proxy for its next client.

        @return: C{True} when the connection was kept.
        """
        backend = self.backend
        healthy = not (
            backend._closed or backend.buffered or self._call is not None
            or backend.transport.disconnected or backend.transport.disconnecting
            or self._backend_gone or backend.end_seen
        )
        if not (healthy and self.proxy.protocol.settings.get("reuse_socket")):
            return False
        backend.transport.unregisterProducer()
        self.backend_gate.resume("peer-full")
        self.backend_gate.resume("buffer-full")
        return self.proxy.park_backend(self.backend_side)

    def close(self, reset: bool = False) -> None:
        """End the connection: both sides closed once their written bytes
        are sent (C{reset}: then reset, as a side's peer did), waiting
        calls cancelled, threads woken."""
        if self.closed:
            return
        self.closed = True
        self.passthrough = False
        self._idle.stop()
        if self.spliced is not None:
            self.spliced.stop(self.proxy.pipes)
        if self.in_lane:
            self.proxy.lane.leave(self)
        # A call in a thread is not cancelled: it ends when woken, below.
        waiting = self._connecting, self._call if self.thread_call() is None else None
        for deferred in waiting:
            if isinstance(deferred, Deferred):
                deferred.cancel()
        for side in (self.client, self.backend):
            side.deliver_end()
        end = self._reset if reset else _lose
        end(self.client.transport)
        if self.backend.transport is not None and (reset or not self._park_backend()):
            end(self.backend.transport)
        self.proxy.connection_closed(self)
        self.log.info(
            "{proxy}: {peer} closed, {handling}",
            proxy=self.proxy.name, peer=self.peer, handling=self._handler_label(),
        )


def _lose(transport: Any) -> None:
    transport.loseConnection()
