"""What a framed connection does with the calls no fault lands on: it skims.

While the handler slot that only passes bytes takes the next calls (the
proxy's C{skim_slot}) and the framing can follow traffic it does not cut
(L{ISkimming}), each chunk passes on as it comes and the framing only
follows it: no frame, no call, no handler. When the handlers in force
change, the connection goes back to cutting frames at the next point of
rest (no frame in progress either way, no reply owed), so an open
connection gets a fault on its next request.

With faults in play beside that slot (the proxy's C{draws}), the calls
are drawn ahead, in runs: the requests of a run pass skimmed, in chunks
of whole requests (L{IWholeRequests}); the chunk that holds the
next drawn fault goes to the framed path, once the replies owed are in,
and the framed path takes the drawn slots in order (L{choose_for}).

Once a skimming connection has nothing held on either side, its sockets
move to the proxy's lane (L{vaurien.fastpath.lane}), which reads them with
less work per chunk than the reactor's dispatch, and asks L{admit} about
each chunk from the client when calls are drawn.
"""
from __future__ import annotations

import socket
from typing import Any

from vaurien.interfaces import ISkimming, IWholeRequests
from vaurien.protocols.framing import FramingError
from vaurien.proxy.machine import FRAMED, SKIMMING


class Skimmer:
    """The skimming of one framed connection.

    @ivar slot: the skim slot in force while skimming, else C{None}.
    """

    __slots__ = ("connection", "slot", "_can", "_whole", "_drawn_for", "_run", "_next", "_held")

    def __init__(self, connection: Any):
        self.connection = connection
        self.slot: Any = None
        self._can = ISkimming.providedBy(connection.framing)
        framing = connection.framing
        self._whole = framing.whole_requests if IWholeRequests.providedBy(framing) else None
        self._drawn_for: Any = None  # the skim slot the draws below were made for
        self._run = 0  # requests drawn to the skim slot, not taken yet
        self._next: Any = None  # the slot drawn after them, not taken yet
        self._held = b""  # a chunk with a fault, held until the replies owed are in

    def offer(self, from_client: bool, data: bytes) -> bool:
        """Skim C{data} (or hold it) if it is skimmed: go on skimming
        unless the handlers changed and the framing rests, or a drawn fault
        comes; start if it may. C{False}: the framed path takes it."""
        connection = self.connection
        if connection.mode is SKIMMING:
            current = self.slot is connection.proxy.skim_slot
            if current or not connection.framing.resting:
                if current and from_client and connection.proxy.draws and not self.admit(data):
                    return self._fault(data)
                self.skim(from_client, data)
                return True
            self.unskim()  # the handlers changed: cut again
        if not self._may_start(from_client, data):
            return False
        self.skim(from_client, data)
        return True

    def unskim(self) -> None:
        """Frame again from here on."""
        self.slot = None
        self.connection.machine.handlers_changed()

    def _may_start(self, from_client: bool, data: bytes) -> bool:
        """Start skimming if a skim slot is in force, the framing can
        follow, nothing is in flight, and (calls drawn) C{data} holds
        requests all drawn to the skim slot."""
        connection = self.connection
        skim_slot = connection.proxy.skim_slot
        if (
            skim_slot is None or not self._can or connection.mode is not FRAMED
            or connection.exchanges.in_flight() or connection.backend.transport is None
            or not connection.framing.resting
        ):
            return False
        if connection.proxy.draws and not (from_client and self.admit(data)):
            return False
        self.slot = skim_slot
        connection.machine.quiet()
        return True

    def admit(self, data: bytes) -> bool:
        """While calls are drawn: whether C{data}, from the client, is
        whole requests all drawn to the skim slot (they are taken), rather
        than one with a fault. It returns at once and raises nothing: the
        lane asks it about each chunk."""
        count = self._whole(data) if self._whole is not None else 0
        if count <= 0:
            return False
        self._redraw()
        if count > self._run:
            return False
        self._run -= count
        return True

    def choose_for(self, request: Any) -> Any:
        """The slot of a request the framed path cuts: the next drawn, if
        any is left; else one drawn now (L{vaurien.proxy.Proxy.choose_for})."""
        proxy = self.connection.proxy
        if not request.faultable or self._drawn_for is not proxy.skim_slot or not (
                self._run or self._next is not None):
            return proxy.choose_for(request)
        if self._run:
            self._run -= 1
            return proxy.choose_for(request, self._drawn_for)
        drawn, self._next = self._next, None
        return proxy.choose_for(request, drawn)

    def _redraw(self) -> None:
        """Draw the next run when the last is taken (or drawn for other
        handlers)."""
        proxy = self.connection.proxy
        if self._drawn_for is not proxy.skim_slot:
            self._drawn_for, self._run, self._next = proxy.skim_slot, 0, None
        if not self._run and self._next is None:
            self._run, self._next = proxy.draw_run()

    def _fault(self, data: bytes) -> bool:
        """A chunk with a drawn fault: the framed path takes it once no
        reply is owed; until then it is held, and the client paused."""
        connection = self.connection
        if not self._held and connection.framing.resting:
            self.unskim()
            return False
        self._held += data
        connection.client_gate.pause("replies-owed")
        return True

    def _release(self) -> None:
        """The replies owed are in: the held chunk goes to the framed path."""
        connection = self.connection
        held, self._held = self._held, b""
        self.unskim()
        connection.client_gate.resume("replies-owed")
        connection.data_from(True, held)

    def skim(self, from_client: bool, data: bytes) -> None:
        """Pass C{data} on, then let the framing follow it."""
        connection = self.connection
        proxy = connection.proxy
        connection.send_now((connection.backend if from_client else connection.client).transport, data)
        try:
            if from_client:
                proxy.calls[self.slot.name] += connection.framing.skim_requests(data)
            else:
                connection.framing.skim_replies(data)
        except FramingError as e:
            self.stop(str(e))
            return
        if self._held:
            if connection.framing.resting:
                self._release()
        elif not connection.in_lane:
            connection.try_lane()

    def lane_terms(self) -> tuple[Any, Any, Any, Any]:
        """What the lane shows each chunk to, both ways (the framing's
        followers), the slot, and what it asks about each chunk from the
        client while calls are drawn (L{admit}), else C{None}."""
        admit = self.admit if self.connection.proxy.draws else None
        return (*self.connection.framing.followers(), self.slot, admit)

    def stop(self, reason: str) -> None:
        """Framing stops while skimming: every byte is passed on already,
        so the two connections just join."""
        self.connection.fall_back.note(reason)
        self.join()

    def join(self) -> None:
        """Join the two connections: from now on bytes pass as tcp."""
        connection = self.connection
        self.slot = None
        if connection.in_lane:
            connection.proxy.lane.leave(connection)
        connection.machine.framing_stopped()
        connection.client.framed = connection.backend.framed = False
        connection.backend.close_to = None
        connection.slot = connection.proxy.dummy_slot
        if self._held:  # it passes on as tcp, as what came before it
            held, self._held = self._held, b""
            connection.send_now(connection.backend.transport, held)
            connection.client_gate.resume("replies-owed")
        if connection.client.ended:
            connection.backend.shutdown(socket.SHUT_WR)
