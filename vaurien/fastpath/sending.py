"""Writing to a transport without waiting for the reactor's next turn, and
what a transport still holds to write: both read Twisted's write buffer.

L{write} and L{queued} are their plain twins, on Twisted's public API
only, for when the fast paths are off.
"""
from __future__ import annotations

from typing import Any


def send_now(transport: Any, data: bytes, write: Any = None) -> None:
    """Write C{data} to a TCP transport's socket at once when nothing waits
    before it: Twisted's own C{write} waits for the next turn of the
    reactor, which costs a pass-through a round of C{epoll} per message.

    @param write: what takes the bytes that cannot go at once (default
        C{transport.write}): a toxics chain standing in for the
        transport's C{write} passes its own output to the one it replaced.
    """
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
    (write or transport.write)(data)


def write(transport: Any, data: bytes, write: Any = None) -> None:
    """Twisted's own C{write} (or C{write}, as for L{send_now}): the bytes
    go at the reactor's next turn."""
    (write or transport.write)(data)


def unsent_bytes(transport: Any) -> int:
    """How many bytes a Twisted transport holds to write."""
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


def queued(transport: Any) -> int:
    """Whether a transport holds bytes to write (1) or not (0), as far as
    Twisted's public API tells: it waits for its socket to be writable."""
    reactor = getattr(transport, "reactor", None)
    return int(reactor is not None and transport in reactor.getWriters())
