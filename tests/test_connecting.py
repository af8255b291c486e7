"""The direct connect to a tcp backend (vaurien.fastpath.connecting), on a
memory reactor: what an endpoint's connect does, without its wrapping."""
from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.defer import CancelledError
from twisted.internet.endpoints import TCP4ClientEndpoint, UNIXClientEndpoint
from twisted.internet.error import ConnectionRefusedError, ConnectingCancelledError
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from vaurien.fastpath.connecting import connect

ADDRESS = IPv4Address("TCP", "127.0.0.1", 6379)


def connecting(timeout: float = 30, bind=None):
    reactor = MemoryReactorClock()
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", 6379, timeout=timeout, bindAddress=bind)
    d = connect(endpoint, Factory.forProtocol(Protocol))
    return reactor, d


class DirectConnectTests(SynchronousTestCase):
    def test_connects_to_the_endpoints_address_with_its_options(self):
        reactor, _ = connecting(timeout=7, bind=("127.0.0.1", 0))
        host, port, _, timeout, bind = reactor.tcpClients[0]
        self.assertEqual((host, port, timeout, bind), ("127.0.0.1", 6379, 7, ("127.0.0.1", 0)))

    def test_the_transport_gets_the_factorys_own_protocol(self):
        """No wrapping protocol: the protocol built is the factory's, and
        the Deferred fires with it."""
        reactor, d = connecting()
        protocol = reactor.tcpClients[0][2].buildProtocol(ADDRESS)
        self.assertIs(type(protocol), Protocol)
        self.assertIs(self.successResultOf(d), protocol)

    def test_a_failed_connect_fails_the_deferred(self):
        reactor, d = connecting()
        opening = reactor.tcpClients[0][2]
        opening.clientConnectionFailed(reactor.connectors[0], Failure(ConnectionRefusedError()))
        self.failureResultOf(d, ConnectionRefusedError)

    def test_cancelling_gives_the_attempt_up(self):
        reactor, d = connecting()
        d.cancel()
        self.failureResultOf(d, ConnectingCancelledError, CancelledError)
        self.assertTrue(reactor.connectors[0].stoppedConnecting)

    def test_a_factory_that_builds_nothing_fails_the_connect(self):
        reactor = MemoryReactorClock()
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", 6379)
        d = connect(endpoint, Factory())  # no protocol to build
        self.assertIsNone(reactor.tcpClients[0][2].buildProtocol(ADDRESS))
        self.failureResultOf(d)

    def test_any_other_endpoint_connects_as_usual(self):
        reactor = MemoryReactorClock()
        d = connect(UNIXClientEndpoint(reactor, "/tmp/backend.sock"), Factory.forProtocol(Protocol))
        self.assertEqual(len(reactor.unixClients), 1)
        self.assertNoResult(d)
