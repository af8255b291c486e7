"""What a framed connection does while no fault is in play: it skims.

While a single handler that only passes bytes takes every call (the
proxy's C{quiet_slot}) and the framing can follow traffic it does not cut
(L{ISkimming}), each chunk passes on as it comes and the framing only
follows it: no frame, no call, no handler. When the handlers in force
change, the connection goes back to cutting frames at the next point of
rest (no frame in progress either way, no reply owed), so an open
connection gets a fault on its next request.

Once a skimming connection has nothing held on either side, its sockets
move to the proxy's lane (L{vaurien.fastpath.lane}), which reads them with
less work per chunk than the reactor's dispatch.
"""
from __future__ import annotations

import socket
from typing import Any

from vaurien.interfaces import ISkimming
from vaurien.protocols.framing import FramingError
from vaurien.proxy.machine import FRAMED, SKIMMING


class Skimmer:
    """The skimming of one framed connection.

    @ivar slot: the quiet slot in force while skimming, else C{None}.
    """

    __slots__ = ("connection", "slot", "_can")

    def __init__(self, connection: Any):
        self.connection = connection
        self.slot: Any = None
        self._can = ISkimming.providedBy(connection.framing)

    def skimming(self) -> bool:
        """Whether the next bytes are skimmed: go on skimming unless the
        handlers changed and the framing rests; start if it may."""
        connection = self.connection
        if connection.mode is SKIMMING:
            if self.slot is connection.proxy.quiet_slot or not connection.framing.resting:
                return True
            self.unskim()  # the handlers changed: cut again
        return self._may_start()

    def unskim(self) -> None:
        """Frame again from here on."""
        self.slot = None
        self.connection.machine.handlers_changed()

    def _may_start(self) -> bool:
        """Start skimming if a quiet slot is in force, the framing can
        follow, and nothing is in flight."""
        connection = self.connection
        quiet = connection.proxy.quiet_slot
        if (
            quiet is None or not self._can or connection.mode is not FRAMED
            or connection.exchanges.in_flight() or connection.backend.transport is None
            or not connection.framing.resting
        ):
            return False
        self.slot = quiet
        connection.machine.quiet()
        return True

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
        if not connection.in_lane:
            connection.try_lane()

    def lane_terms(self) -> tuple[Any, Any, Any]:
        """What the lane shows each chunk to, both ways (the framing's
        followers), and the slot."""
        return (*self.connection.framing.followers(), self.slot)

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
        if connection.client.ended:
            connection.backend.shutdown(socket.SHUT_WR)
