"""BaseHandler: what the seed's handlers inherit (C{option}, C{_get_data})."""
from __future__ import annotations

import socket
from typing import Any

from zope.interface import implementer

from vaurien.interfaces import IHandler
from vaurien.registry import convert

#: Most bytes a built-in handler takes from a side in one C{recv}.
READ_SIZE = 1 << 20


@implementer(IHandler)
class BaseHandler:
    """A handler with options, as the seed described it.

    Subclasses set C{name}, C{options} and C{__call__}. A subclass runs in
    a worker thread with blocking sockets unless it sets C{blocking = False}
    (or its C{__call__} is a coroutine function); the built-ins all do.

    @ivar settings: the handler's options as loaded (defaults filled in by
        the proxy; L{option} falls back to the declared default).
    @ivar proxy: the proxy this handler serves (C{None} until used).
    """

    name = ""
    options: dict[str, tuple] = {}
    # What it declares (IHandler): a call of its own, blocking sockets.
    passthrough = False
    holds_connection = False
    blocking = True

    def __init__(self, settings: dict[str, Any] | None = None, proxy: Any = None):
        self.settings = dict(settings or {})
        self.proxy = proxy

    def update_settings(self, settings: dict[str, Any]) -> None:
        """Merge C{settings} into this handler's options."""
        self.settings.update(settings)

    def option(self, name: str) -> Any:
        """The value of option C{name}, converted to its declared type."""
        type_, default = self.options[name][1:3]
        return convert(self.settings.get(name, default), type_)

    def _get_data(self, client_sock, backend_sock, to_backend: bool, buffer: int = 1024) -> bytes:
        """Read up to C{buffer} bytes from the side the data came from.

        As the seed's helper did, a socket error reads as C{b""}.
        """
        source = client_sock if to_backend else backend_sock
        try:
            return source.recv(buffer)
        except OSError:
            return b""

    def __call__(self, client_sock, backend_sock, to_backend: bool):
        raise NotImplementedError(f"{type(self).__name__} must define __call__")


class NonBlockingHandler(BaseHandler):
    """Base of the built-ins: runs on the reactor, never blocks.

    Gives the helpers they share for moving bytes between the sides.
    """

    blocking = False

    @staticmethod
    def sides(client_sock, backend_sock, to_backend: bool):
        """Return C{(source, dest)} for a call's direction."""
        if to_backend:
            return client_sock, backend_sock
        return backend_sock, client_sock

    @staticmethod
    def drain(source) -> tuple[bytes, bool]:
        """Take everything C{source} holds now.

        @return: the bytes, and C{True} when the peer has ended its stream.
            On a framed protocol, never: C{b""} there ends the call's
            frame, and the proxy passes the ends of streams on itself,
            once every request before them is through.
        """
        chunks = []
        while True:
            try:
                data = source.recv(READ_SIZE)
            except BlockingIOError:
                return b"".join(chunks), False
            if not data:
                return b"".join(chunks), not source.framed
            chunks.append(data)

    def forward(self, source, dest) -> bool:
        """Pass what C{source} holds to C{dest}, and its end of stream as a
        half-close.

        @return: C{True} (the connection goes on).
        """
        data, ended = self.drain(source)
        if data:
            dest.sendall(data)
        if ended:
            dest.shutdown(socket.SHUT_WR)
        return True
