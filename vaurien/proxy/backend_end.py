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
from vaurien.proxy.machine import SKIMMING


class BackendEnd:
    """The backend's end, as one framed connection lives it.

    @ivar ending: the backend ended: the connection ends so (or joins)
        once the replies owed are out.
    @ivar retiring: a handler closed the backend connection: no request
        goes to it any more.
    @ivar unavailable: the backend could not be reached; the next request
        gets the protocol's answer for it (HTTP: 502).
    """

    __slots__ = ("connection", "ending", "retiring", "unavailable", "_half")

    def __init__(self, connection: Any):
        self.connection = connection
        self.ending = False
        self.retiring = False
        self.unavailable = False
        self._half = False  # the backend ended its stream only

    def ended(self, half: bool) -> None:
        """The backend ended its stream (C{half}) or its connection on its
        own: once the answers owed are out, the client's connection ends
        the same way. With C{stay_connected}, the client is kept if no
        reply is owed: its next request opens a new backend connection."""
        connection = self.connection
        keeps_client = connection.proxy.settings.stay_connected
        if connection.mode is SKIMMING:  # every byte is passed on already
            if not (keeps_client and connection.framing.resting):
                if half:
                    connection.skimmer.join()
                    self.pass_end()
                else:
                    connection.close(connection.reset_at_end)
                return
            connection.skimmer.unskim()
        self._take_last_replies(cut_short=not half)  # joining passes those on
        if keeps_client or not half:
            self.end_connection()
        self.ending = bool(connection.exchanges.awaiting) or not keeps_client
        self._half = half
        connection.flush()
        connection.run_calls()
        connection.switch_when_idle()

    def _take_last_replies(self, cut_short: bool) -> None:
        """The replies the end of the backend's stream completes (an HTTP
        answer delimited by the close); with C{cut_short}, a reply it cut
        short goes to the client as far as it came, as it would direct."""
        connection = self.connection
        try:
            replies = connection.framing.replies_ended()
        except FramingError:
            replies = []
        for reply in replies:
            connection.new_reply(reply)
        held = connection.framing.unframed()[1] if cut_short else b""
        if not held:
            return
        awaiting = connection.exchanges.awaiting
        if awaiting:
            call = awaiting.popleft()
            call.answer += held
            call.complete = True
        else:
            connection.flush()
            connection.client.transport.write(held)

    def end_as_the_backend_did(self) -> None:
        """End the client's side as the backend ended its own: a reset, a
        close, or an end of stream after which the client's bytes still
        pass (as tcp) to the backend that goes on reading."""
        connection = self.connection
        if not self._half or connection.backend.transport is None:
            connection.close(connection.reset_at_end)
            return
        connection.fall_back.switch()  # which passes the end on

    def pass_end(self) -> None:
        """The connection is joined: pass the backend's end of stream on."""
        connection = self.connection
        connection.backend.deliver_end()
        connection.client.shutdown(socket.SHUT_WR)
        connection.close_if_both_ended()

    def retire(self) -> None:
        """A handler closed the backend wrapper: no request goes to this
        backend connection any more; it ends once the replies owed on it
        are through, and the next request opens another."""
        connection = self.connection
        if connection.backend.transport is None:
            return
        self.retiring = True
        if not connection.exchanges.awaiting:
            self.end_connection()
            connection.run_calls()

    def end_connection(self) -> None:
        """Close the backend connection; the next request opens another."""
        connection = self.connection
        self.retiring = False
        transport = connection.backend.transport
        connection.backend.detach()
        connection.backend_gate.detach()
        transport.loseConnection()

    # -- a backend that cannot be reached ----------------------------------

    def unreachable(self) -> None:
        """Close the client, or, where the protocol has an answer for it
        (HTTP: 502), give that answer to its next request, then close."""
        connection = self.connection
        if connection.proxy.protocol.unavailable_response(None) is None:
            connection.close()
            return
        self.unavailable = True
        connection.machine.unreachable()
        connection.release_early()
        self.answer_unavailable()

    def answer_unavailable(self) -> None:
        connection = self.connection
        request = next((work.frame for work in connection.exchanges.requests), None)
        if request is not None and not connection.closed:
            connection.flush()
            connection.client.transport.write(
                connection.proxy.protocol.unavailable_response(request.data)
            )
            connection.close()
