"""The relay over in-memory transports: whatever the chunking and the
interleaving of the two directions, bytes pass in order and intact."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st
from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase

from tests.proxying import proxy_settings
from vaurien.proxy import ProxyFactory

LOOPBACK = IPv4Address("TCP", "127.0.0.1", 40000)

chunks = st.lists(st.binary(min_size=1, max_size=300), max_size=20)
directions = st.lists(st.booleans(), max_size=40)


def open_connection(handlers: str, client_transport=None, **options):
    """A proxy on a memory reactor, one client connected, its backend
    connected; returns the reactor and both transports."""
    reactor = MemoryReactorClock()
    factory = ProxyFactory(proxy_settings(1, handlers, **options), reactor)
    client = factory.buildProtocol(LOOPBACK)
    client_transport = client_transport or StringTransport(peerAddress=LOOPBACK)
    client.makeConnection(client_transport)
    backend = reactor.tcpClients[-1][2].buildProtocol(LOOPBACK)
    backend_transport = StringTransport(peerAddress=LOOPBACK)
    backend.makeConnection(backend_transport)
    return reactor, client, client_transport, backend, backend_transport


class ChunkingTests(SynchronousTestCase):
    """Any cut of the streams into chunks gives the same bytes out."""

    def relay_in_order(self, handlers, to_backend, to_client, order, **options):
        reactor, client, client_out, backend, backend_out = open_connection(handlers, **options)
        pending = {True: list(to_backend), False: list(to_client)}
        for from_client in order + [True] * len(to_backend) + [False] * len(to_client):
            if pending[from_client]:
                side = client if from_client else backend
                side.dataReceived(pending[from_client].pop(0))
                reactor.advance(0)
        self.assertEqual(backend_out.value(), b"".join(to_backend))
        self.assertEqual(client_out.value(), b"".join(to_client))

    @settings(max_examples=200, deadline=None)
    @given(chunks, chunks, directions)
    def test_passthrough(self, to_backend, to_client, order):
        self.relay_in_order("100:dummy", to_backend, to_client, order)

    @settings(max_examples=200, deadline=None)
    @given(chunks, chunks, directions)
    def test_through_a_waiting_handler(self, to_backend, to_client, order):
        self.relay_in_order(
            "100:delay", to_backend, to_client, order,
            handler_options={"delay": {"sleep": 0.0}},
        )

    @settings(max_examples=200, deadline=None)
    @given(chunks, chunks, directions)
    def test_through_a_handler_on_the_reactor(self, to_backend, to_client, order):
        self.relay_in_order(
            "100:error", to_backend, to_client, order,
            handler_options={"error": {"warmup": 10**9}},
        )

    def test_client_waits_for_the_backend(self):
        """Bytes sent before the backend accepted are passed on once it has;
        meanwhile the client is still read (so its leaving is seen)."""
        reactor = MemoryReactorClock()
        factory = ProxyFactory(proxy_settings(1, "100:dummy"), reactor)
        client = factory.buildProtocol(LOOPBACK)
        client_transport = StringTransport(peerAddress=LOOPBACK)
        client.makeConnection(client_transport)
        self.assertEqual(client_transport.producerState, "producing")
        client.dataReceived(b"early")
        backend = reactor.tcpClients[-1][2].buildProtocol(LOOPBACK)
        backend_transport = StringTransport(peerAddress=LOOPBACK)
        backend.makeConnection(backend_transport)
        self.assertEqual(client_transport.producerState, "producing")
        self.assertEqual(backend_transport.value(), b"early")

    def test_client_leaving_while_connecting_cancels_the_connect(self):
        """A client that closes while its backend connection is pending is
        closed at once and the connect attempt given up, whichever way it
        leaves (end of stream, or a reset)."""
        for leave in ("readConnectionLost", "connectionLost"):
            reactor = MemoryReactorClock()
            factory = ProxyFactory(proxy_settings(1, "100:dummy", timeout=30.0), reactor)
            client = factory.buildProtocol(LOOPBACK)
            client_transport = StringTransport(peerAddress=LOOPBACK)
            client.makeConnection(client_transport)
            getattr(client, leave)()
            self.assertTrue(client_transport.disconnecting, leave)
            self.assertTrue(reactor.connectors[-1].stoppedConnecting, leave)
            self.assertEqual(factory.proxy.connections, set())

    def test_client_read_while_connecting_is_bounded(self):
        """Past C{max_buffer} bytes held for a pending backend, the client
        is paused; the backend's accepting lets it go on."""
        reactor = MemoryReactorClock()
        factory = ProxyFactory(proxy_settings(1, "100:dummy", max_buffer=10), reactor)
        client = factory.buildProtocol(LOOPBACK)
        client_transport = StringTransport(peerAddress=LOOPBACK)
        client.makeConnection(client_transport)
        client.dataReceived(b"x" * 11)
        self.assertEqual(client_transport.producerState, "paused")
        backend = reactor.tcpClients[-1][2].buildProtocol(LOOPBACK)
        backend_transport = StringTransport(peerAddress=LOOPBACK)
        backend.makeConnection(backend_transport)
        self.assertEqual(client_transport.producerState, "producing")
        self.assertEqual(backend_transport.value(), b"x" * 11)

    def test_backend_that_never_answers_times_out(self):
        """A backend connection still pending after C{timeout} seconds is
        given up: the client is closed and the failure counted."""
        reactor = MemoryReactorClock()
        factory = ProxyFactory(proxy_settings(1, "100:dummy", timeout=5.0), reactor)
        client = factory.buildProtocol(LOOPBACK)
        client_transport = StringTransport(peerAddress=LOOPBACK)
        client.makeConnection(client_transport)
        reactor.advance(4.9)
        self.assertFalse(client_transport.disconnecting)
        reactor.advance(0.2)
        self.assertTrue(client_transport.disconnecting)
        self.assertEqual(factory.proxy.backend_failures, 1)


class CallLoggingTests(SynchronousTestCase):
    """Each handler call is logged at debug level when asked, else not."""

    def calls_logged(self, log_calls: bool) -> list:
        from twisted.logger import capturedLogs

        with capturedLogs() as events:
            _, client, _, backend, _ = open_connection(
                "100:error", handler_options={"error": {"warmup": 10**9}}, log_calls=log_calls
            )
            client.dataReceived(b"ping")
        return [e for e in events if "call {handler}" in e.get("log_format", "")]

    def test_debug_logs_each_call(self):
        (event,) = self.calls_logged(True)
        self.assertEqual((event["handler"], event["to_backend"]), ("error", True))

    def test_no_call_events_otherwise(self):
        self.assertEqual(self.calls_logged(False), [])


class FallBackOrderTests(SynchronousTestCase):
    """When framing stops in the middle of a read, nothing is lost or
    reordered: the frames already cut pass before the bytes after them."""

    def test_replies_to_no_request_in_one_read(self):
        _, client, client_out, backend, backend_out = open_connection("100:dummy", protocol="redis")
        client.dataReceived(b"*1\r\n$4\r\nPING\r\n")
        backend.dataReceived(b"+PONG\r\n+EXTRA1\r\n+EXTRA2\r\n+PART")
        backend.dataReceived(b"IAL\r\n")
        self.assertEqual(client_out.value(), b"+PONG\r\n+EXTRA1\r\n+EXTRA2\r\n+PARTIAL\r\n")
        client.dataReceived(b"raw now")
        self.assertEqual(backend_out.value(), b"*1\r\n$4\r\nPING\r\nraw now")

    def test_bad_request_after_good_ones_in_one_read(self):
        _, client, client_out, backend, backend_out = open_connection("100:dummy", protocol="redis")
        client.dataReceived(b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n*x\r\nmore")
        self.assertEqual(backend_out.value(), b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n*x\r\nmore")


class HalfClosable(StringTransport):
    """A transport that records an end of stream sent on it."""

    write_shut = False

    def loseWriteConnection(self) -> None:
        self.write_shut = True


class EndWhileConnectingTests(SynchronousTestCase):
    """A framed client whose requests and end of stream all came before the
    backend accepted (which the asyncio reactor's order of events made
    happen in the flood test): once it has, the backend gets them in order."""

    def test_a_request_then_the_end(self):
        reactor = MemoryReactorClock()
        factory = ProxyFactory(proxy_settings(1, "100:dummy", protocol="redis"), reactor)
        client = factory.buildProtocol(LOOPBACK)
        client.makeConnection(HalfClosable(peerAddress=LOOPBACK))
        client.dataReceived(b"*1\r\n$4\r\nPING\r\n")
        client.readConnectionLost()
        backend = reactor.tcpClients[-1][2].buildProtocol(LOOPBACK)
        backend_transport = HalfClosable(peerAddress=LOOPBACK)
        backend.makeConnection(backend_transport)
        self.assertEqual(backend_transport.value(), b"*1\r\n$4\r\nPING\r\n")
        self.assertTrue(backend_transport.write_shut)


class EndDuringTheTunnelCallTests(SynchronousTestCase):
    """The backend ends its stream while the call of a request that makes
    the connection a tunnel (SUBSCRIBE) still runs: once joined, the
    client gets that end, as it would direct."""

    def test_the_backend_end_is_passed_on(self):
        reactor, client, client_transport, backend, backend_transport = open_connection(
            "100:delay", protocol="redis", handler_options={"delay": {"sleep": 1.0}},
            client_transport=HalfClosable(peerAddress=LOOPBACK),
        )
        client.dataReceived(b"*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n")
        backend.readConnectionLost()  # while the delay runs
        reactor.advance(1.0)
        self.assertEqual(backend_transport.value(), b"*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n")
        self.assertTrue(client_transport.write_shut)
