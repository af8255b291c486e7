"""The two Twisted protocols of a proxied connection: thin, they feed the
L{Connection}: bytes pass straight on while its mode is one that passes
them (joined, tunnel), else they go to the connection."""
from __future__ import annotations

from typing import Any

from twisted.internet.error import ConnectionAborted, ConnectionLost
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import Factory, Protocol
from zope.interface import implementer

from vaurien.proxy.connection import Connection
from vaurien.proxy.machine import PASSING


def _tune(transport: Any, read_size: int) -> None:
    """Read C{read_size} bytes at a time, and send small writes at once
    (no Nagle delay: a proxy must not hold a peer's bytes back). The size
    is set only when it differs from the transport's own: an attribute
    more may cost a Twisted transport a dict of its own."""
    if getattr(transport, "bufferSize", None) != read_size:
        transport.bufferSize = read_size
    set_no_delay = getattr(transport, "setTcpNoDelay", None)
    if set_no_delay is not None:
        set_no_delay(True)


@implementer(IHalfCloseableProtocol)
class _Side(Protocol):
    """What both sides do at the ends of their streams: tell the connection.

    @cvar from_client: C{True} for the client's side.
    """

    from_client: bool
    connection: Connection

    def readConnectionLost(self) -> None:
        self.connection.end_from(self.from_client, self.transport)

    def writeConnectionLost(self) -> None:
        """Nothing to do: the connection decided to half-close this side."""

    def connectionLost(self, reason: Any = None) -> None:
        reset = reason is not None and bool(
            reason.check(ConnectionLost) and not reason.check(ConnectionAborted)
        )  # the peer's reset, not one of ours
        self.connection.lost(self.from_client, self.transport, reset)


class ClientSide(_Side):
    """The connection a client opened to the proxy."""

    from_client = True

    def __init__(self, proxy: Any):
        self.proxy = proxy

    def connectionMade(self) -> None:
        _tune(self.transport, self.proxy.read_size)
        self.connection = self.proxy.new_connection(self.transport)
        self.proxy.connection_opened(self.connection)
        self.connection.start()

    def dataReceived(self, data: bytes) -> None:
        connection = self.connection
        connection.active = True
        self.proxy.bytes_to_backend += len(data)
        if connection.mode in PASSING and connection.backend.transport is not None:
            connection.send_now(connection.backend.transport, data)
            connection.sent_straight(len(data))
        else:
            connection.data_from(True, data)


class BackendSide(_Side):
    """The connection the proxy opened to the backend for one client."""

    from_client = False

    def __init__(self, connection: Connection):
        self.connection = connection

    def connectionMade(self) -> None:
        _tune(self.transport, self.connection.proxy.read_size)
        self.connection.backend_connected(self)

    def dataReceived(self, data: bytes) -> None:
        connection = self.connection
        connection.active = True
        connection.proxy.bytes_to_client += len(data)
        if connection.mode in PASSING:
            connection.send_now(connection.client.transport, data)
            connection.sent_straight(len(data))
        else:
            connection.data_from(False, data)


class BackendFactory(Factory):
    """Builds the backend side of one connection (quietly: one per connection)."""

    noisy = False

    def __init__(self, connection: Connection):
        self.connection = connection

    def buildProtocol(self, addr: Any) -> BackendSide:
        return BackendSide(self.connection)
