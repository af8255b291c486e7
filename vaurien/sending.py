"""Writing to a transport without waiting for the reactor's next turn."""
from __future__ import annotations

from typing import Any


def send_now(transport: Any, data: bytes) -> None:
    """Write C{data} to a TCP transport's socket at once when nothing waits
    before it: Twisted's own C{write} waits for the next turn of the
    reactor, which costs a pass-through a round of C{epoll} per message."""
    socket = getattr(transport, "socket", None)
    if socket is not None and not (
        transport.dataBuffer or transport._tempDataLen or transport.disconnecting
    ):
        try:
            sent = socket.send(data)
        except OSError:
            sent = 0  # would block, or failed: Twisted's write sees to it
        if sent == len(data):
            return
        data = data[sent:]
    transport.write(data)
