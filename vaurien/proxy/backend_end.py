"""How a framed connection ends when its backend does, or cannot be
reached.

Where no fault lands the client sees the end a direct connection would
show it, once the answers owed are out: a backend that ends its stream
(a close, or a half-close after which it goes on reading) ends the
client's stream, and the rest of what the client sends passes as tcp; a
backend that is gone ends the client's connection, with a reset when it
was reset; a reply cut short by the end reaches the client as far as it
came. A handler's C{close()} of the backend wrapper retires that
connection instead: the client stays, and its next request opens another.
"""
from __future__ import annotations

import socket
from typing import Any

from vaurien.protocols.framing import FramingError


class EndsWithTheBackend:
    """The backend-end part of L{vaurien.proxy.framed_relay.FramedRelay}."""

    def end_from(self, from_client: bool, transport: Any) -> None:
        if self._tunnel:
            return super().end_from(from_client, transport)
        self.active = True
        if from_client:
            self.client.deliver_end()
            self._close_if_done()
        elif transport is self.backend.transport:
            self._backend_ended(half=True)

    def lost(self, from_client: bool, transport: Any, reset: bool = False) -> None:
        if self._tunnel or from_client:
            return super().lost(from_client, transport, reset)
        if not self.closed and transport is self.backend.transport:
            self._reset_at_end = reset
            self._backend_ended(half=False)

    def _backend_ended(self, half: bool) -> None:
        """The backend ended its stream (C{half}) or its connection on its
        own: once the answers owed are out, the client's connection ends
        the same way. With C{stay_connected}, the client is kept if no
        reply is owed: its next request opens a new backend connection."""
        keeps_client = self.proxy.settings.stay_connected
        if self.skim_slot is not None:  # every byte is passed on already
            if not (keeps_client and self.framing.resting):
                if half:
                    self._join_skimmed()
                    self._pass_backend_end()
                else:
                    self.close(self._reset_at_end)
                return
            self.skim_slot = None
        self._take_last_replies(cut_short=not half)  # joining passes those on
        if keeps_client or not half:
            self._end_backend_connection()
        self._ending = bool(self._awaiting) or not keeps_client
        self._half_ended = half
        self._flush()
        self._run_calls()
        self._switch_when_idle()

    def _take_last_replies(self, cut_short: bool) -> None:
        """The replies the end of the backend's stream completes (an HTTP
        answer delimited by the close); with C{cut_short}, a reply it cut
        short goes to the client as far as it came, as it would direct."""
        try:
            replies = self.framing.replies_ended()
        except FramingError:
            replies = []
        for reply in replies:
            self._new_reply(reply)
        held = self.framing.unframed()[1] if cut_short else b""
        if not held:
            return
        if self._awaiting:
            call = self._awaiting.popleft()
            call.answer += held
            call.complete = True
        else:
            self._flush()
            self.client.transport.write(held)

    def _end_as_the_backend_did(self) -> None:
        """End the client's side as the backend ended its own: a reset, a
        close, or an end of stream after which the client's bytes still
        pass (as tcp) to the backend that goes on reading."""
        if not self._half_ended or self.backend.transport is None:
            self.close(self._reset_at_end)
            return
        self._switch_to_tcp()
        self._pass_backend_end()

    def _pass_backend_end(self) -> None:
        """The connection is joined: pass the backend's end of stream on."""
        self.backend.deliver_end()
        self.client.shutdown(socket.SHUT_WR)
        self._close_if_both_ended()

    def _retire_backend(self) -> None:
        """A handler closed the backend wrapper: no request goes to this
        backend connection any more; it ends once the replies owed on it
        are through, and the next request opens another."""
        if self.backend.transport is None:
            return
        self._retiring = True
        if not self._awaiting:
            self._end_backend_connection()
            self._run_calls()

    def _end_backend_connection(self) -> None:
        """Close the backend connection; the next request opens another."""
        self._retiring = False
        transport = self.backend.transport
        self.backend.detach()
        self.backend_gate = None
        if self.client.transport.producer is not None:
            self.client.transport.unregisterProducer()
        transport.loseConnection()

    # -- a backend that cannot be reached ----------------------------------

    def _backend_failed(self, failure: Any) -> None:
        """Close the client, or, where the protocol has an answer for it
        (HTTP: 502), give that answer to its next request, then close."""
        self._connecting = None
        if self.closed:
            return
        self._note_backend_failure(failure)
        if self.proxy.protocol.unavailable_response(None) is None:
            self.close()
            return
        self._unavailable = True
        self._release_early()
        self._answer_unavailable()

    def _answer_unavailable(self) -> None:
        request = next((work.frame for work in self._requests), None)
        if request is not None and not self.closed:
            self._flush()
            self.client.transport.write(self.proxy.protocol.unavailable_response(request.data))
            self.close()
