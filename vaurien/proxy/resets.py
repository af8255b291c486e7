"""Ending a connection with a TCP reset, as its peer on the other side did.

When one side of a proxied connection is reset, a direct peer would have
seen the reset: the proxy passes it on to the other side, after the bytes
it already took for that side have reached it (a direct reset comes after
the bytes sent before it, too).
"""
from __future__ import annotations

import fcntl
import socket
import struct
import termios
from typing import Any, Callable

from twisted.logger import Logger

#: How often the kernel's send queue is looked at, in seconds.
POLL = 0.001
#: Longest wait for the peer to take what was written before the reset.
MOST = 1.0

_LINGER_ZERO = struct.pack("ii", 1, 0)
log = Logger()


def reset_once_sent(
    transport: Any, clock: Any, unsent: Callable[[Any], int] | None = None
) -> None:
    """Reset C{transport}'s connection once what was written to it is sent
    and acknowledged (at most L{MOST} seconds from now). A transport that
    is not a plain TCP socket (TLS, say) is closed the orderly way.

    @param unsent: what C{transport} still holds to write, in bytes (the
        proxy's, L{vaurien.fastpath.FastPaths.unsent}); C{None}: nothing
        but the kernel's send queue is looked at."""
    if getattr(transport, "socket", None) is None:
        transport.loseConnection()
        return
    transport.stopReading()
    deadline = clock.seconds() + MOST

    def check() -> None:
        if transport.disconnected:
            return
        handle = transport.getHandle()
        if _queued(transport, handle, unsent) and clock.seconds() < deadline:
            clock.callLater(POLL, check)
            return
        try:
            handle.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
        except OSError as e:  # not TCP, or gone: an orderly close then
            log.debug("no reset for {transport}: {error}", transport=transport, error=e)
        transport.abortConnection()

    check()


def _queued(transport: Any, handle: Any, unsent: Callable[[Any], int] | None) -> int:
    """Bytes written to C{transport} not yet acknowledged by its peer: in
    Twisted's buffer, then in the kernel's send queue."""
    held = 0 if unsent is None else unsent(transport)
    if held:
        return held
    try:
        return struct.unpack(
            "i", fcntl.ioctl(handle.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
        )[0]
    except OSError:
        return 0
