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
from vaurien.sending import send_now


def _tune(transport: Any, read_size: int) -> None:
    """Read C{read_size} bytes at a time, and send small writes at once
    (no Nagle delay: a proxy must not hold a peer's bytes back)."""
    transport.bufferSize = read_size
    set_no_delay = getattr(transport, "setTcpNoDelay", None)
    if set_no_delay is not None:
        set_no_delay(True)


@implementer(IHalfCloseableProtocol)
class _Side(Protocol):
    """What both sides do at the ends of their streams: tell the relay.

    @cvar from_client: C{True} for the client's side.
    """

    from_client: bool
    relay: Connection

    def readConnectionLost(self) -> None:
        self.relay.end_from(self.from_client, self.transport)

    def writeConnectionLost(self) -> None:
        """Nothing to do: the relay decided to half-close this side."""

    def connectionLost(self, reason: Any = None) -> None:
        reset = reason is not None and bool(
            reason.check(ConnectionLost) and not reason.check(ConnectionAborted)
        )  # the peer's reset, not one of ours
        self.relay.lost(self.from_client, self.transport, reset)


class ClientSide(_Side):
    """The connection a client opened to the proxy."""

    from_client = True

    def __init__(self, proxy: Any):
        self.proxy = proxy

    def connectionMade(self) -> None:
        _tune(self.transport, self.proxy.read_size)
        self.relay = self.proxy.new_relay(self.transport)
        self.proxy.connection_opened(self.relay)
        self.relay.start()

    def dataReceived(self, data: bytes) -> None:
        relay = self.relay
        relay.active = True
        self.proxy.bytes_to_backend += len(data)
        if relay.mode in PASSING and relay.backend.transport is not None:
            send_now(relay.backend.transport, data)
            relay.unspliced -= len(data)
            if relay.unspliced < 0:
                relay.try_splice()
            elif not relay.in_lane:
                relay.try_lane()
        else:
            relay.data_from(True, data)


class BackendSide(_Side):
    """The connection the proxy opened to the backend for one client."""

    from_client = False

    def __init__(self, relay: Connection):
        self.relay = relay

    def connectionMade(self) -> None:
        _tune(self.transport, self.relay.proxy.read_size)
        self.relay.backend_connected(self)

    def dataReceived(self, data: bytes) -> None:
        relay = self.relay
        relay.active = True
        relay.proxy.bytes_to_client += len(data)
        if relay.mode in PASSING:
            send_now(relay.client.transport, data)
            relay.unspliced -= len(data)
            if relay.unspliced < 0:
                relay.try_splice()
            elif not relay.in_lane:
                relay.try_lane()
        else:
            relay.data_from(False, data)


class BackendFactory(Factory):
    """Builds the backend side of one relay (quietly: one per connection)."""

    noisy = False

    def __init__(self, relay: Connection):
        self.relay = relay

    def buildProtocol(self, addr: Any) -> BackendSide:
        return BackendSide(self.relay)
