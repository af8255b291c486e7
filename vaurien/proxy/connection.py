"""One proxied connection: the two wrappers, its machine, and its life on
tcp (a handler per connection: joined, or a call per chunk).

L{Connection} holds what a connection has; its mode is the machine's
(L{vaurien.proxy.machine}). The thin Twisted protocols in L{sides} feed
it; opening the backend is L{vaurien.proxy.opening}'s, running a call
L{vaurien.proxy.calls}', the idle timeout L{vaurien.proxy.idle}'s. The
framed protocols' life is L{vaurien.proxy.framed}.
"""
from __future__ import annotations

import socket
from operator import methodcaller
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from vaurien.proxy.calls import CallRunner
from vaurien.proxy.flow import PauseGate
from vaurien.proxy.idle import FIRST_CHECK
from vaurien.proxy.machine import (
    CLOSED, CONNECTING, JOINED, LANE, PASSING, SKIMMING, ConnectionMachine,
)
from vaurien.proxy.opening import BackendOpener
from vaurien.proxy.resets import reset_once_sent
from vaurien.fastpath import NEVER, SPLICE_AFTER, splice_if_ready
from vaurien.sockets import TransportSocket


class Connection:
    """One client connection and its backend.

    @ivar mode: the machine's mode (L{vaurien.proxy.machine}).
    @ivar closed: the mode is C{closed}.
    @ivar slot: the handler slot serving this connection (tcp).
    @ivar active: bytes moved since the last idle check.
    @ivar idle_checks: idle checks in a row (L{vaurien.proxy.idle}).
    @ivar spliced: the splice link, once spliced.
    @ivar unspliced: bytes left to pass on the transports before trying
        to splice.
    @ivar toxics: its toxics; C{send_now}: how it writes (L{vaurien.proxy.toxics}).
    """

    __slots__ = (  # one per connection: no dict each
        "proxy", "mode", "closed", "client", "backend", "client_gate", "backend_gate",
        "backend_side", "slot", "active", "backend_gone", "reset_at_end", "pending", "_runner",
        "opener", "idle_checks", "spliced", "unspliced", "toxics", "send_now",
    )
    log = Logger()

    def __init__(self, proxy: Any, client_transport: Any):
        self.proxy = proxy
        self.mode = CONNECTING
        self.closed = False
        consumed = self.consumed  # one bound method for both wrappers
        self.client = TransportSocket(proxy.reactor, consumed, proxy.send_now)
        self.backend = TransportSocket(proxy.reactor, consumed, proxy.send_now)
        self.client.attach(client_transport)
        self.client_gate = PauseGate(client_transport)
        self.backend_gate = PauseGate()  # its transport comes with the backend
        client_transport.registerProducer(self.backend_gate, True)  # now: later costs a dict
        self.backend_side: Any = None
        self.slot = self.connection_slot()
        self.active = False
        self.backend_gone = False  # the backend left on its own
        self.reset_at_end = False  # ... by a reset
        self.pending: tuple[bool, ...] = ()  # the sides waiting for a call
        self._runner: CallRunner | None = None  # made for the first call
        self.opener = BackendOpener(self)
        self.idle_checks = FIRST_CHECK
        self.spliced: Any = None
        self.unspliced = SPLICE_AFTER if self.may_splice() else NEVER
        self.send_now = proxy.send_now
        self.toxics = proxy.toxics.for_connection(self)

    def enter(self, mode: str) -> None:
        """The machine's output: the connection is now in C{mode}."""
        self.mode = mode
        self.closed = mode is CLOSED

    @property
    def machine(self) -> ConnectionMachine:  # made for each input: none held
        return ConnectionMachine(self, self.mode)

    @property
    def in_lane(self) -> bool:
        return self.mode in LANE

    @property
    def peer(self) -> Any:  # read when logged: nothing held for it
        return self.client.getpeername()

    @property
    def runner(self) -> CallRunner:  # made for the first call
        if self._runner is None:
            self._runner = CallRunner(self)
        return self._runner

    @property
    def in_call(self) -> bool:
        return self._runner is not None and self._runner.running

    # -- what a framed connection does differently -----------------------

    def connection_slot(self) -> Any:
        """The handler slot serving the whole connection."""
        return self.proxy.choose()

    def handler_label(self) -> str:
        return f"handler={self.slot.name}"

    def log_call(self, slot: Any, to_backend: bool) -> None:
        """The debug line of one handler call (tcp: each chunk)."""
        self.log.debug(
            "{proxy}: {peer} call {handler} to_backend={to_backend}",
            proxy=self.proxy.name, peer=self.peer, handler=slot.name, to_backend=to_backend,
        )

    def holds_connection(self) -> bool:
        """Whether the idle timeout must leave the connection alone."""
        return self.slot.holds_connection

    def may_splice(self) -> bool:
        settings = self.proxy.protocol.settings
        return not (
            self.proxy.protocol.per_call or settings.get("keep_alive")
            or settings.get("reuse_socket") or self.proxy.pipes is None
        )

    def start(self) -> None:
        """Open the backend connection (L{vaurien.proxy.opening})."""
        self.log.info(
            "{proxy}: {peer} connected, {handling}",
            proxy=self.proxy.name, peer=self.peer, handling=self.handler_label(),
        )
        self.opener.connect()

    def backend_connected(self, backend_side: Any) -> None:
        """The backend accepted: the two sides are tied together, and the
        connection's life goes on as its kind wants."""
        self.opener.done()
        self.backend_side = backend_side
        transport = backend_side.transport
        if self.closed:
            transport.loseConnection()
            return
        self.backend.attach(transport)
        self.backend_gate.attach(transport)
        transport.registerProducer(self.client_gate, True)
        self.toxics.backend_attached()
        self.opened()

    def opened(self) -> None:
        """tcp: join, when the handler only passes bytes; else a call per
        chunk."""
        if self.slot.passthrough:
            self.machine.connected()
            if self.client.buffered:
                self.backend.transport.write(self.client.recv(self.client.buffered))
        else:
            self.machine.connected_for_calls()
        self.run_calls()

    def backend_unreachable(self) -> None:
        """The backend could not be reached: the client is closed."""
        self.close()

    # -- the fast paths ---------------------------------------------------

    def sent_straight(self, count: int) -> None:
        """C{count} bytes went transport to transport: once enough did,
        the kernel's splice may take over; else the lane may."""
        self.unspliced -= count
        if self.unspliced < 0:
            self.try_splice()
        elif not self.in_lane:
            self.try_lane()

    def try_splice(self) -> None:
        """Hand both sockets to the kernel if nothing but passing bytes is
        going on; else try again later, or never."""
        if self.in_lane:
            self.proxy.lane.leave(self)
        if self.mode is not JOINED or self.toxics.acting:
            self.unspliced = SPLICE_AFTER if self.toxics.acting else NEVER
            return
        self.spliced, self.unspliced = splice_if_ready(self, self.proxy.pipes)
        if self.spliced is not None:
            self.machine.spliced()

    def try_lane(self) -> None:
        """Move both sockets to the proxy's lane if nothing is held."""
        lane = None if self.toxics.acting else self.proxy.lane
        if lane is not None and self.mode in (JOINED, SKIMMING) and lane.admits(self):
            lane.enter(self)
            self.machine.lane_entered()

    def handed_back(self, passed: int) -> None:
        """The lane gave the sockets back, after passing C{passed} bytes."""
        self.unspliced -= passed
        self.machine.handed_back()

    def lane_terms(self) -> tuple[Any, Any, Any, Any]:
        """The lane's followers both ways, slot and admit: none (tcp)."""
        return None, None, None, None

    def moved(self, from_client: bool, count: int) -> None:
        """Bytes moved by the kernel, for the counters and the idle timer."""
        self.active = True
        if from_client:
            self.proxy.bytes_to_backend += count
        else:
            self.proxy.bytes_to_client += count

    # -- bytes and ends arriving (tcp) ------------------------------------

    def data_from(self, from_client: bool, data: bytes) -> None:
        """Bytes from one side, for a handler call."""
        source = self.client if from_client else self.backend
        source.deliver(data)
        if source.buffered > self.proxy.settings.max_buffer:
            (self.client_gate if from_client else self.backend_gate).pause("buffer-full")
        self.want_call(from_client)

    def end_from(self, from_client: bool, transport: Any) -> None:
        """One side sent end-of-stream (a half-close)."""
        if not from_client and transport is not self.backend.transport:
            return
        self.active = True
        if not from_client and self.keeps_client():
            if self.client.ended:
                self.close()  # the client is done too: nothing to keep
            else:
                self.drop_backend()
                self.backend.transport.loseConnection()
            return
        if from_client and self.proxy.protocol.settings.get("reuse_socket"):
            self.close()  # the client is done; its backend waits for the next one
            return
        source = self.client if from_client else self.backend
        source.deliver_end()
        if self.mode in PASSING:
            other = self.backend if from_client else self.client
            other.shutdown(socket.SHUT_WR)
            self.close_if_both_ended()
        else:
            self.want_call(from_client)

    def drop_backend(self) -> None:
        """The backend connection is no more: bytes stop passing straight (what
        it left goes through a call; a staying client's next bytes open another)."""
        if not self.closed:
            self.machine.backend_dropped()

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
        self.backend_gate.detach()
        self.drop_backend()
        if self.backend._closed or self.keeps_client():
            if self.client.ended and not self.client.buffered and not self.in_call:
                self.close()  # the client is done too: nothing to keep
            else:
                self.backend.detach()
            return
        self.backend_gone = True
        self.reset_at_end = reset
        self.backend.deliver_end()
        if not self.in_call and not self.backend.buffered:
            self.close(reset)
        else:
            self.want_call(False)

    def keeps_client(self) -> bool:
        return self.proxy.settings.stay_connected or bool(
            self.proxy.protocol.settings.get("keep_alive")
        )

    def consumed(self, source: TransportSocket) -> None:
        """Wrapper C{source}'s buffer went down: read its side again if it may."""
        self.active = True
        gate = self.client_gate if source is self.client else self.backend_gate
        if gate.paused and source.buffered <= self.proxy.settings.max_buffer:
            gate.resume("buffer-full")

    def close_if_both_ended(self) -> None:
        if self.client.ended and self.backend.ended:
            self.close()

    # -- handler calls (tcp: one per chunk) -------------------------------

    def want_call(self, to_backend: bool) -> None:
        self.active = True
        if to_backend not in self.pending:
            self.pending += (to_backend,)
        self.run_calls()

    def run_calls(self) -> None:
        while self.pending and not self.in_call and not self.closed:
            to_backend = self.pending[0]
            if to_backend and self.backend.transport is None:
                if self.client.ended and not self.client.buffered:
                    self.close()
                elif self.opener.connecting is None:
                    self.opener.connect()
                return
            self.pending = self.pending[1:]
            source = self.client if to_backend else self.backend
            if not source.buffered and (source.end_seen or not source.ended):
                continue  # an earlier call already read what this one was for
            self.runner.run(self.slot, to_backend)

    def call_done(self, result: Any, to_backend: bool, consumed_before: int) -> None:
        """A call returned C{result}: what its bytes call for next."""
        if self.ends_connection(result):
            return
        source = self.client if to_backend else self.backend
        progressed = source.consumed != consumed_before
        if progressed and (source.buffered or source.ended and not source.end_seen):
            self.want_call(to_backend)
        if self.client.end_seen and self.backend.end_seen:
            self.close()
        elif self.backend_gone and self.backend.end_seen:
            self.close(self.reset_at_end)

    def ends_connection(self, result: Any) -> bool:
        """Whether a call's C{result} ended the connection (closing it when
        the handler asked to, unless C{stay_connected})."""
        if result is False and not self.closed and not self.proxy.settings.stay_connected:
            self.close()
        return self.closed

    # -- what the idle sweep asks, and the end -----------------------------

    def waits_on_purpose(self) -> bool:
        """Whether the idle timeout must leave it alone: a call on the reactor
        runs (it bounds its own wait), or a handler (C{hang}) or its toxics hold it."""
        return self.in_call or self.holds_connection() or self.toxics.holding

    def thread_call(self) -> Deferred | None:
        """The call running in a worker thread, if one is."""
        return None if self._runner is None else self._runner.in_thread()

    def handler_in_call(self) -> str:
        """The name of the handler of the call running (or the last one)."""
        return self.runner.handler_name()

    def reset(self, transport: Any) -> None:
        if not transport.disconnected:
            reset_once_sent(transport, self.proxy.clock, self.proxy.unsent)

    def park_backend(self) -> bool:
        """With tcp's C{reuse_socket}, hand a healthy backend connection to
        the proxy for its next client; C{True} when it was kept."""
        backend = self.backend
        healthy = not (
            backend._closed or backend.buffered or self.in_call
            or backend.transport.disconnected or backend.transport.disconnecting
            or self.backend_gone or backend.end_seen or self.toxics.acting
        )
        if not (healthy and self.proxy.protocol.settings.get("reuse_socket")):
            return False
        backend.transport.unregisterProducer()
        self.backend_gate.release()
        return self.proxy.park_backend(self.backend_side)

    def close(self, reset: bool = False) -> None:
        """End the connection: both sides closed once their written bytes
        are sent (C{reset}: then reset, as a side's peer did), waiting
        calls cancelled, threads woken."""
        if self.closed:
            return
        lane = self.in_lane
        self.machine.close()
        if self.spliced is not None:
            self.spliced.stop(self.proxy.pipes)
        if lane:
            self.proxy.lane.leave(self)
        self.opener.cancel()
        if self._runner is not None:
            self._runner.cancel()  # a call in a thread ends when woken, below
        for side in (self.client, self.backend):
            side.deliver_end()
        end = self.reset if reset else methodcaller("loseConnection")
        end(self.client.transport)
        if self.backend.transport is not None and (reset or not self.park_backend()):
            end(self.backend.transport)
        self.proxy.connection_closed(self)
        self.log.info(
            "{proxy}: {peer} closed, {handling}",
            proxy=self.proxy.name, peer=self.peer, handling=self.handler_label(),
        )
