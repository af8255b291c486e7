"""Opening a connection's backend side: the connect, bounded by the
proxy's timeout and cancelled when the client leaves meanwhile, and a
backend that cannot be reached."""
from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure


class BackendOpener:
    """Opens the backend side of one connection (again, where a backend
    connection was dropped and the client stayed).

    @ivar connecting: the connect under way, else C{None}.
    """

    __slots__ = ("connection", "connecting")
    log = Logger()

    def __init__(self, connection: Any):
        self.connection = connection
        self.connecting: Deferred | None = None

    def connect(self) -> None:
        """Ask the proxy for a backend connection; the connection hears of
        it through C{backend_connected}, or C{backend_unreachable}."""
        connecting = self.connection.proxy.connect_backend(self.connection)
        if not connecting.called:  # a kept connection is attached at once
            self.connecting = connecting
        connecting.addErrback(self._failed)

    def done(self) -> None:
        """The connect succeeded."""
        self.connecting = None

    def cancel(self) -> None:
        """The client left: stop connecting."""
        if self.connecting is not None:
            self.connecting.cancel()

    def _failed(self, failure: Failure) -> None:
        self.connecting = None
        connection = self.connection
        if connection.closed:
            return
        proxy = connection.proxy
        proxy.backend_failed()
        self.log.warn(
            "{proxy}: backend {backend} unreachable for {peer}: {reason}",
            proxy=proxy.name, backend=proxy.settings.backend,
            peer=connection.peer, reason=failure.getErrorMessage() or failure.type.__name__,
        )
        connection.backend_unreachable()
