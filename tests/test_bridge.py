"""The bridge over real loopback sockets: bytes, half-close, back-pressure
and the seed's handler example."""
from __future__ import annotations

import hashlib
import os
import socket
import struct
import threading
import time

from twisted.internet import protocol, reactor
from twisted.internet.defer import gatherResults, inlineCallbacks
from twisted.internet.task import Clock, deferLater
from twisted.internet.testing import StringTransport
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.proxying import (
    Echo,
    Collector,
    PayloadSender,
    connect,
    echo_backend,
    listen,
    proxy_settings,
    start_proxy,
)
from vaurien.proxy.resets import reset_once_sent

MiB = 1 << 20


class Streamer(Collector):
    """Sends its payload as soon as it is connected, hashing what it gets."""

    def __init__(self, payload: bytes):
        super().__init__(hashing=True)
        self.payload = payload
        self.sender = None

    def connectionMade(self):
        super().connectionMade()
        self.sender = PayloadSender(self.transport, self.payload)


class StreamingBackend(protocol.Factory):
    """A backend that streams C{payload} to each client and hashes what it
    receives."""

    def __init__(self, payload: bytes):
        self.payload = payload
        self.connections: list[Streamer] = []

    def buildProtocol(self, addr):
        streamer = Streamer(self.payload)
        self.connections.append(streamer)
        return streamer


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def poll(condition, timeout: float = 10.0, step: float = 0.01) -> None:
    """Wait (bounded) for real I/O to make C{condition()} true."""
    for _ in range(int(timeout / step)):
        if condition():
            return
        await deferLater(reactor, step)
    raise AssertionError("condition not met in time")


class BytesBothWaysTests(TestCase):
    """Untouched traffic passes byte for byte, both ways at once."""

    @inlineCallbacks
    def exchange(self, size: int, handlers: str, **options):
        to_backend, to_client = os.urandom(size), os.urandom(size)
        backend = StreamingBackend(to_client)
        port, factory = start_proxy(self, proxy_settings(listen(self, backend), handlers, **options))
        client = Streamer(to_backend)
        yield connect(port, client)
        got_by_client = yield client.ended
        yield poll(lambda: backend.connections)
        got_by_backend = yield backend.connections[0].ended
        self.assertEqual((client.count, backend.connections[0].count), (size, size))
        self.assertEqual((got_by_client, got_by_backend), (sha(to_client), sha(to_backend)))
        client.transport.loseConnection()
        return factory.proxy

    async def test_64_mib_each_way_passthrough(self):
        """64 MiB of random bytes each way arrive intact through dummy,
        spliced by the kernel once past the first MiB."""
        proxy = await self.exchange(64 * MiB, "100:dummy")
        await poll(lambda: not proxy.connections)
        if proxy.fast_paths:  # else no splice: the bytes passed on the transports
            self.assertEqual(proxy.pipes.kept, 2)

    def test_64_mib_each_way_through_handler_calls(self):
        """The same through a handler that is called for every chunk."""
        return self.exchange(
            64 * MiB, "100:delay", handler_options={"delay": {"sleep": 0.0}}
        )

class HalfCloseTests(TestCase):
    """A client's end-of-stream reaches the backend, which can still answer."""

    @inlineCallbacks
    def echo_after_half_close(self, handlers: str, **options):
        port, factory = start_proxy(self, proxy_settings(echo_backend(self), handlers, **options))
        client = Collector()
        yield connect(port, client)
        PayloadSender(client.transport, b"ping" * 1000)
        received = yield client.ended
        self.assertEqual(received, b"ping" * 1000)
        yield poll(lambda: not factory.proxy.connections)

    def test_passthrough(self):
        return self.echo_after_half_close("100:dummy")

    def test_handler_calls(self):
        return self.echo_after_half_close("100:delay", handler_options={"delay": {"sleep": 0.0}})


class SlowReaderTests(TestCase):
    """A client that stops reading stops the backend, not the proxy's memory."""

    @inlineCallbacks
    def test_buffered_bytes_stay_bounded(self):
        size = 256 * MiB
        backend = StreamingBackend(b"\x5a" * size)
        port, factory = start_proxy(self, proxy_settings(listen(self, backend)))
        client = Collector(hashing=True)
        yield connect(port, client)
        client.transport.pauseProducing()
        yield poll(lambda: backend.connections and backend.connections[0].sender)
        sender = backend.connections[0].sender

        last = -1
        while sender.offset != last:
            last = sender.offset
            yield deferLater(reactor, 0.2)
        (relay,) = factory.proxy.connections
        held = sum(
            len(t.dataBuffer) + t._tempDataLen
            for t in (relay.client.transport, relay.backend.transport)
        ) + relay.client.buffered + relay.backend.buffered
        self.assertLess(held, 1 * MiB)
        self.assertLess(sender.offset, 64 * MiB)

        client.transport.resumeProducing()
        digest = yield client.ended
        self.assertEqual((client.count, digest), (size, sha(b"\x5a" * size)))


class OneShotBackend(protocol.Protocol):
    """Answers the first request with a response, then closes."""

    def dataReceived(self, data):
        self.transport.write(b"HTTP/1.0 200 OK\r\n\r\n" + b"answer:" + data)
        self.transport.loseConnection()


class SeedExampleTests(TestCase):
    """The seed's Dummy, loaded by dotted path, runs unchanged."""

    @inlineCallbacks
    def test_keep_alive_false_answers_then_closes(self):
        """Without keep_alive it forwards the request, sucks the whole answer
        back, closes the backend and then the client."""
        backend_port = listen(self, protocol.Factory.forProtocol(OneShotBackend))
        port, factory = start_proxy(
            self, proxy_settings(backend_port, "100:tests.seed_example.Dummy")
        )
        client = Collector()
        yield connect(port, client)
        client.transport.write(b"GET / HTTP/1.0\r\n\r\n")
        received = yield client.ended
        self.assertEqual(received, b"HTTP/1.0 200 OK\r\n\r\nanswer:GET / HTTP/1.0\r\n\r\n")
        yield poll(lambda: not factory.proxy.connections)

    def keep_alive_proxy(self) -> int:
        """A proxy to an echo backend through the seed's Dummy with
        keep_alive; its port."""
        port, _ = start_proxy(
            self,
            proxy_settings(
                echo_backend(self),
                "100:tests.seed_example.Dummy",
                handler_options={"dummy": {"keep_alive": True}},
            ),
        )
        return port

    @inlineCallbacks
    def test_keep_alive_true_round_trips(self):
        """With keep_alive, many exchanges share one connection."""
        port = self.keep_alive_proxy()
        client = Collector()
        yield connect(port, client)
        for n in range(5):
            message = b"round %d;" % n
            client.transport.write(message)
            yield poll(lambda: client.received.endswith(message))
        client.transport.loseConnection()
        self.assertEqual(bytes(client.received), b"".join(b"round %d;" % n for n in range(5)))

    @inlineCallbacks
    def test_keep_alive_true_keeps_every_byte(self):
        """In worker threads, 1 KiB per call, 256 KiB of random bytes come
        back intact."""
        port = self.keep_alive_proxy()
        payload = os.urandom(256 * 1024)
        client = Collector()
        yield connect(port, client)
        client.transport.write(payload)
        yield poll(lambda: client.count == len(payload))
        client.transport.loseConnection()
        self.assertEqual(bytes(client.received), payload)


class ManyConnectionsTests(TestCase):
    """Connections are independent of one another."""

    @inlineCallbacks
    def test_parallel_clients(self):
        port, _ = start_proxy(self, proxy_settings(echo_backend(self)))
        clients = [Collector() for _ in range(50)]
        yield gatherResults([connect(port, c) for c in clients])
        for n, client in enumerate(clients):
            PayloadSender(client.transport, b"%d;" % n * 1000)
        received = yield gatherResults([c.ended for c in clients])
        self.assertEqual(received, [b"%d;" % n * 1000 for n in range(50)])


class BackendGoneTests(TestCase):
    """What a client sees when its backend closes."""

    @inlineCallbacks
    def one_shot_exchanges(self, count: int, **options):
        backend_port = listen(self, protocol.Factory.forProtocol(OneShotBackend))
        port, factory = start_proxy(self, proxy_settings(backend_port, **options))
        client = Collector()
        yield connect(port, client)
        for n in range(count):
            client.transport.write(b"request %d" % n)
            yield poll(lambda: client.received.endswith(b"request %d" % n) or client.ended.called)
        return client, factory

    @inlineCallbacks
    def test_backend_close_reaches_the_client(self):
        """By default the backend's end of stream is passed on after its
        answer; the connection ends when the client closes too."""
        client, factory = yield self.one_shot_exchanges(1)
        received = yield client.ended
        self.assertTrue(received.endswith(b"answer:request 0"))
        client.transport.loseConnection()
        yield poll(lambda: not factory.proxy.connections)

    @inlineCallbacks
    def test_keep_alive_reconnects_for_the_next_request(self):
        """With tcp's keep_alive the client stays and each request gets a new
        backend connection."""
        client, factory = yield self.one_shot_exchanges(
            3, protocol_options={"keep_alive": True}
        )
        self.assertFalse(client.ended.called)
        self.assertEqual(bytes(client.received).count(b"answer:request"), 3)
        self.assertEqual(len(factory.proxy.connections), 1)
        client.transport.loseConnection()
        yield poll(lambda: not factory.proxy.connections)


class ReuseSocketTests(TestCase):
    """tcp's reuse_socket hands a backend connection to the next client."""

    @inlineCallbacks
    def test_next_client_gets_the_same_backend_connection(self):
        backend = protocol.Factory.forProtocol(Echo)
        accepted = []
        build = backend.buildProtocol
        backend.buildProtocol = lambda addr: accepted.append(addr) or build(addr)
        port, factory = start_proxy(
            self, proxy_settings(listen(self, backend), protocol_options={"reuse_socket": True})
        )
        for n in range(3):
            client = Collector()
            yield connect(port, client)
            client.transport.write(b"client %d" % n)
            yield poll(lambda: client.received == b"client %d" % n)
            client.transport.loseConnection()
            yield poll(lambda: not factory.proxy.connections)
        self.assertEqual(len(accepted), 1)


class ResetTests(TestCase):
    """A reset on one side reaches the other as a reset, after the bytes
    sent before it, as it would direct (tcp, joined or in handler calls)."""

    def resetting_backend(self, payload: bytes) -> int:
        """A backend that answers each connection with C{payload}, waits
        for it to be acknowledged, then resets; its port."""
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)

        def serve():
            sock, _ = listener.accept()
            sock.recv(100)
            sock.sendall(payload)
            time.sleep(0.05)  # acknowledged on loopback: the reset drops nothing
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()

        threading.Thread(target=serve, daemon=True).start()
        return listener.getsockname()[1]

    async def client_sees(self, handlers: str) -> tuple[bytes, str]:
        port, _ = start_proxy(self, proxy_settings(self.resetting_backend(b"last words"), handlers))

        def talk():
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(b"hello")
                data = b""
                try:
                    while True:
                        chunk = sock.recv(100)
                        if not chunk:
                            return data, "eof"
                        data += chunk
                except ConnectionResetError:
                    return data, "reset"

        return await deferToThread(talk)

    async def test_backend_reset_reaches_the_client_joined(self):
        self.assertEqual(await self.client_sees("100:dummy"), (b"last words", "reset"))

    async def test_backend_reset_reaches_the_client_through_calls(self):
        self.assertEqual(await self.client_sees("100:delay"), (b"last words", "reset"))

    async def test_client_reset_reaches_the_backend(self):
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port, _ = start_proxy(self, proxy_settings(listener.getsockname()[1]))

        def talk():
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(b"hello")
                backend, _ = listener.accept()
                backend.settimeout(5)
                got = backend.recv(100)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            try:
                return got, backend.recv(100)
            except ConnectionResetError:
                return got, "reset"
            finally:
                backend.close()

        self.assertEqual(await deferToThread(talk), (b"hello", "reset"))

    def test_a_transport_that_is_not_a_tcp_socket_is_closed_orderly(self):
        """TLS and the like have no socket of their own to reset: they are
        closed once what was written is sent."""
        transport = StringTransport()
        reset_once_sent(transport, Clock())
        self.assertTrue(transport.disconnecting)
