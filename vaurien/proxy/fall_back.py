"""What a framed relay does when framing stops: the rest of the
connection passes as plain tcp.

Framing stops on bytes the framing cannot follow, a tunnel command
(C{SUBSCRIBE}, C{CONNECT}, an upgrade), a reply to no request or a frame
too large to hold. The relay waits for the call running, if any, then
writes out, in stream order, what it holds: the answers owed, the frames
queued, the frames framed but not handled, the frame in progress and what
came since; from there on the two connections are joined.
"""
from __future__ import annotations

import socket


class FallsBack:
    """The fall-back part of L{vaurien.proxy.framed_relay.FramedRelay}."""

    def _fall_back(self, reason: str) -> None:
        """Stop framing: once the frames in hand are put aside and the
        running call is done (L{_switch_when_idle}), the rest of the
        connection passes as plain tcp."""
        if self._switching or self._tunnel:
            return
        self._note_fall_back(reason)
        self._switching = True

    def _note_fall_back(self, reason: str) -> None:
        self.log.info(
            "{proxy}: {peer} framing stops ({reason}); the rest passes as tcp",
            proxy=self.proxy.name, peer=self.peer, reason=reason,
        )
        self.proxy.fell_back()

    def _switch_when_idle(self) -> None:
        if self._switching and self._call is None and not self.closed:
            self._switch_to_tcp()

    def _switch_to_tcp(self) -> None:
        held_client, held_backend = self.framing.unframed()
        # First what a call left unread in the wrappers (a reply that came
        # during its request's call included), then the frames queued.
        to_backend = [_unread(self.client)]
        to_backend += [w.frame.data for w in self._requests if not w.again]
        to_client = [_unread(self.backend)]
        to_client += [w.frame.data for w in self._replies if not w.again]
        self._requests.clear()
        self._replies.clear()
        self._dequeue_all()
        for call in self._calls:
            self.client.transport.write(bytes(call.answer) + call.after)
        self._calls.clear()
        self._awaiting.clear()
        self.client.framed = self.backend.framed = False
        self.backend.close_to = None
        self._switching = False
        self._tunnel = True
        self.slot = self.proxy.dummy_slot
        # Stream order: frames queued, frames framed but not handled, the
        # frame in progress, and what came since framing stopped.
        self.client.transport.write(
            b"".join(to_client + self._unhandled[False]) + held_backend + self._raw[False]
        )
        raw_to_backend = b"".join(to_backend + self._unhandled[True]) + held_client + self._raw[True]
        if self.backend.transport is None:
            self.client.deliver(raw_to_backend)
            self._want_call(True)
        else:
            self.backend.transport.write(raw_to_backend)
            self.passthrough = True
            if self.client.ended:  # the client's end came while framing
                self.backend.shutdown(socket.SHUT_WR)
        self._raw = {True: bytearray(), False: bytearray()}
        self._unhandled = {True: [], False: []}

    def _dequeue_all(self) -> None:
        self._queued = 0
        self.client_gate.resume("buffer-full")
        if self.backend_gate is not None:
            self.backend_gate.resume("buffer-full")


def _unread(side) -> bytes:
    """What a call left in a wrapper, taken from it."""
    return side.recv(side.buffered) if side.buffered else b""
