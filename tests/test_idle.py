"""The idle timeout (vaurien.proxy.idle) over in-memory transports, on a
clock: one timer per proxy, none per connection, and no connection
closed before its timeout."""
from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase

from tests.proxying import proxy_settings
from vaurien.proxy import ProxyFactory

LOOPBACK = IPv4Address("TCP", "127.0.0.1", 40000)
TIMEOUT = 1.0


class IdleSweepTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.factory = ProxyFactory(proxy_settings(1, "100:dummy", timeout=TIMEOUT), self.reactor)
        self.clock = self.reactor  # the proxy's clock: its reactor's

    def connect(self) -> StringTransport:
        """A client connected through the proxy, its backend accepted."""
        client = self.factory.buildProtocol(LOOPBACK)
        client_transport = StringTransport(peerAddress=LOOPBACK)
        client.makeConnection(client_transport)
        backend = self.reactor.tcpClients[-1][2].buildProtocol(LOOPBACK)
        backend.makeConnection(StringTransport(peerAddress=LOOPBACK))
        return client_transport

    def advance(self, seconds: float) -> None:
        """Time passes, as the reactor lives it: in small steps."""
        for _ in range(round(seconds * 100)):
            self.clock.advance(0.01)

    def test_one_timer_for_every_idle_connection(self):
        for _ in range(5):
            self.connect()
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)

    def test_no_connection_is_closed_before_its_timeout(self):
        """A connection opened just before the proxy's check (timed by an
        earlier connection) is not closed before its own timeout, and is
        closed within a quarter more."""
        self.connect()
        self.advance(TIMEOUT / 4 - 0.01)
        late = self.connect()
        self.advance(TIMEOUT - 0.01)
        self.assertFalse(late.disconnecting)
        self.advance(TIMEOUT / 4)
        self.assertTrue(late.disconnecting)

    def test_no_timer_once_every_connection_closed(self):
        for _ in range(3):
            self.connect()
        for connection in list(self.factory.proxy.connections):
            connection.close()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_a_connection_that_moves_bytes_stays(self):
        client = self.connect()
        connection = next(iter(self.factory.proxy.connections))
        for _ in range(12):
            self.advance(TIMEOUT / 2)
            connection.active = True  # as each chunk sets it
        self.assertFalse(client.disconnecting)
