"""What a framed connection does when framing stops: the rest of the
connection passes as plain tcp.

Framing stops on bytes the framing cannot follow, a tunnel command
(C{SUBSCRIBE}, C{CONNECT}, an upgrade), a reply to no request or a frame
too large to hold. The connection (in mode C{switching}) waits for the
call running, if any, then writes out, in stream order, what it holds:
the answers owed, the frames queued, the frames framed but not handled,
the frame in progress and what came since; from there on the two
connections are joined (mode C{tunnel}).
"""
from __future__ import annotations

import socket
from typing import Any

from twisted.logger import Logger

from vaurien.proxy.machine import FRAMED, SWITCHING


class FallBack:
    """The fall-back to tcp of one framed connection."""

    __slots__ = ("connection", "_raw", "_unhandled")
    log = Logger()

    def __init__(self, connection: Any):
        self.connection = connection
        # Made when framing stops (none while it goes on): by direction
        # (from the client or not), the bytes that came while switching,
        # and the frames framed but not handled.
        self._raw: dict[bool, bytearray] | None = None
        self._unhandled: dict[bool, list[bytes]] | None = None

    def stop(self, reason: str) -> None:
        """Stop framing: once the frames in hand are put aside and no
        call runs (L{switch_when_idle}), the rest passes as plain tcp."""
        connection = self.connection
        if connection.mode is FRAMED:
            self.note(reason)
            connection.machine.framing_stopped()

    def note(self, reason: str) -> None:
        connection = self.connection
        self.log.info(
            "{proxy}: {peer} framing stops ({reason}); the rest passes as tcp",
            proxy=connection.proxy.name, peer=connection.peer, reason=reason,
        )
        connection.proxy.fell_back()

    def hold(self, from_client: bool, data: bytes) -> None:
        """Keep bytes that came while switching."""
        if self._raw is None:
            self._raw = {True: bytearray(), False: bytearray()}
        self._raw[from_client] += data

    def hold_frames(self, from_client: bool, frames: list[bytes]) -> None:
        """Keep frames cut but not handled when framing stopped."""
        if self._unhandled is None:
            self._unhandled = {True: [], False: []}
        self._unhandled[from_client] += frames

    def switch_when_idle(self) -> None:
        connection = self.connection
        if connection.mode is SWITCHING and not connection.in_call:
            self.switch()

    def switch(self) -> None:
        """Write out what framing holds, in stream order; join."""
        connection = self.connection
        if connection.mode is FRAMED:  # the backend's end of stream joins
            connection.machine.framing_stopped()
        held_client, held_backend = connection.framing.unframed()
        queued_to_backend, queued_to_client = connection.exchanges.take_queued()
        # First what a call left unread in the wrappers (a reply that came
        # during its request's call included), then the frames queued.
        to_backend = [_unread(connection.client), *queued_to_backend]
        to_client = [_unread(connection.backend), *queued_to_client]
        client_transport = connection.client.transport
        client_transport.write(connection.exchanges.take_answers())
        connection.client.framed = connection.backend.framed = False
        connection.backend.close_to = None
        connection.machine.switched()
        connection.slot = connection.proxy.dummy_slot
        # Stream order: frames queued, frames framed but not handled, the
        # frame in progress, and what came since framing stopped.
        raw, unhandled = self._raw or _NO_BYTES, self._unhandled or _NO_FRAMES
        self._raw = self._unhandled = None
        to_client_now = b"".join([*to_client, *unhandled[False]]) + held_backend + raw[False]
        client_transport.write(to_client_now)
        to_backend_now = b"".join([*to_backend, *unhandled[True]]) + held_client + raw[True]
        if connection.backend.transport is None:
            if connection.ending.ending:  # the backend ended during the call
                connection.close(connection.reset_at_end)
                return
            connection.client.deliver(to_backend_now)
            connection.want_call(True)  # opens the backend again
            return
        connection.backend.transport.write(to_backend_now)
        if connection.client.ended:  # the client's end came while framing
            connection.backend.shutdown(socket.SHUT_WR)
        if connection.ending.ending:  # and the backend's (it still reads)
            connection.ending.pass_end()


_NO_BYTES = {True: b"", False: b""}
_NO_FRAMES: dict[bool, tuple[bytes, ...]] = {True: (), False: ()}


def _unread(side: Any) -> bytes:
    """What a call left in a wrapper, taken from it."""
    return side.recv(side.buffered) if side.buffered else b""
