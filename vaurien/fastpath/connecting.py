"""Connecting to a TCP backend with the reactor's own C{connectTCP}.

An endpoint's C{connect} wraps each connection's factory and protocol in
its own (a Deferred, a wrapping factory and a wrapping protocol, about
0.4 KiB a connection for as long as it lives) and passes every chunk and
end through the wrapping protocol. For the plain C{tcp:} endpoint the
proxy asks for, L{connect} reads the endpoint's address and connects with
the reactor's C{connectTCP} directly: what stays with the connection is
Twisted's connector and one small L{_Opening}. Any other endpoint (or
one lacking what L{connect} reads) connects as usual, and
L{endpoint_connect} is the plain twin.
"""
from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.error import ConnectingCancelledError, NoProtocol
from twisted.internet.interfaces import IProtocolFactory
from zope.interface import implementer

#: What L{connect} reads of a C{TCP4ClientEndpoint}.
ENDPOINT_NEEDS = ("_reactor", "_host", "_port", "_timeout", "_bindAddress")


def endpoint_connect(endpoint: Any, factory: Any) -> Deferred:
    """The endpoint's own C{connect}."""
    return endpoint.connect(factory)


def connect(endpoint: Any, factory: Any) -> Deferred:
    """Connect C{factory}'s protocol to C{endpoint}, as its C{connect}
    would: the Deferred fires when it is connected, fails when it cannot
    be, and cancelling it gives the attempt up."""
    if type(endpoint) is not TCP4ClientEndpoint or not all(
        hasattr(endpoint, name) for name in ENDPOINT_NEEDS
    ):
        return endpoint.connect(factory)
    opening = _Opening(factory)
    try:
        opening.connector = endpoint._reactor.connectTCP(
            endpoint._host, endpoint._port, opening,
            timeout=endpoint._timeout, bindAddress=endpoint._bindAddress,
        )
    except BaseException:
        opening.fail()
    return opening.opened


@implementer(IProtocolFactory)
class _Opening:
    """The factory of one connect: builds the protocol with the factory
    given, and says how the connect went. Once connected, it holds
    nothing (Twisted's connector keeps it as long as the connection)."""

    __slots__ = ("factory", "opened", "connector")

    def __init__(self, factory: Any):
        self.factory = factory
        self.opened: Deferred = Deferred(self._cancel)
        self.connector: Any = None

    def doStart(self) -> None:
        """Nothing to count."""

    def doStop(self) -> None:
        """Nothing to count."""

    def startedConnecting(self, connector: Any) -> None:
        self.connector = connector

    def buildProtocol(self, addr: Any) -> Any:
        opened, factory = self.opened, self.factory
        self.opened = self.factory = self.connector = None
        try:
            protocol = factory.buildProtocol(addr)
            if protocol is None:
                raise NoProtocol()
        except BaseException:
            opened.errback()
            return None
        opened.callback(protocol)
        return protocol

    def clientConnectionFailed(self, connector: Any, reason: Any) -> None:
        if self.opened is not None and not self.opened.called:
            self.opened.errback(reason)

    def clientConnectionLost(self, connector: Any, reason: Any) -> None:
        """The connection's own protocol hears of it."""

    def fail(self) -> None:
        """connectTCP raised: the connect fails with that."""
        self.opened.errback()

    def _cancel(self, opened: Deferred) -> None:
        opened.errback(ConnectingCancelledError(self.connector.getDestination()))
        self.connector.stopConnecting()
