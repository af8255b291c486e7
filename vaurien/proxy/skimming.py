"""What a framed relay does while no fault is in play: it skims.

While a single handler that only passes bytes takes every call (the
proxy's C{quiet_slot}) and the framing can follow traffic it does not cut
(L{ISkimming}), each chunk passes on as it comes and the framing only
follows it: no frame, no call, no handler. When the handlers in force
change, the relay goes back to cutting frames at the next point of rest
(no frame in progress either way, no reply owed), so an open connection
gets a fault on its next request.

Once a skimming connection has nothing held on either side, its sockets
move to the proxy's lane (L{vaurien.proxy.lane}), which reads them with
less work per chunk than the reactor's dispatch.
"""
from __future__ import annotations

import socket
from typing import Any

from vaurien.interfaces import ISkimming
from vaurien.protocols.framing import FramingError
from vaurien.sending import send_now


class Skims:
    """The skimming part of L{vaurien.proxy.framed_relay.FramedRelay}."""

    def _start_skims(self) -> None:
        self._skims = ISkimming.providedBy(self.framing)
        self.skim_slot: Any = None  # the quiet slot while skimming

    def _skimming(self) -> bool:
        """Whether the next bytes are skimmed: go on skimming unless the
        handlers changed and the framing rests; start if it may."""
        slot = self.skim_slot
        if slot is not None:
            if slot is self.proxy.quiet_slot or not self.framing.resting:
                return True
            self.skim_slot = None  # the handlers changed: cut again
        return self._may_skim()

    def _may_skim(self) -> bool:
        """Start skimming if a quiet slot is in force, the framing can
        follow, and nothing is in flight."""
        if (
            self.proxy.quiet_slot is None or not self._skims or self._calls or self._has_work()
            or self._call is not None or self._switching or self._tunnel
            or self.backend.transport is None or not self.framing.resting
        ):
            return False
        self.skim_slot = self.proxy.quiet_slot
        return True

    def _skim(self, from_client: bool, data: bytes) -> None:
        """Pass C{data} on, then let the framing follow it."""
        send_now((self.backend if from_client else self.client).transport, data)
        try:
            if from_client:
                self.proxy.calls[self.skim_slot.name] += self.framing.skim_requests(data)
            else:
                self.framing.skim_replies(data)
        except FramingError as e:
            self.stop_skimming(str(e))
            return
        if not self.in_lane:
            self.try_lane()

    def _may_use_lane(self) -> bool:
        return self.skim_slot is not None

    def lane_terms(self) -> tuple[Any, Any, Any]:
        followers = getattr(self.framing, "followers", None)
        if followers is None:
            return self.framing.skim_requests, self.framing.skim_replies, self.skim_slot
        return (*followers(), self.skim_slot)

    def stop_skimming(self, reason: str) -> None:
        """Framing stops while skimming: every byte is passed on already,
        so the two connections just join."""
        self._note_fall_back(reason)
        self._join_skimmed()

    def _join_skimmed(self) -> None:
        """Join the two connections of a skimming relay: from now on bytes
        pass as tcp."""
        self.skim_slot = None
        if self.in_lane:
            self.proxy.lane.leave(self)
        self._tunnel = self.passthrough = True
        self.client.framed = self.backend.framed = False
        self.backend.close_to = None
        self.slot = self.proxy.dummy_slot
        if self.client.ended:
            self.backend.shutdown(socket.SHUT_WR)
