"""The built-in handlers, seen from a real client socket.

Every test runs a real echo backend and an in-process proxy on loopback,
and talks to it with a Twisted client. Timing logic (delays, the idle
timeout) runs on a L{task.Clock} given to the proxy; the real reactor is
only waited on for socket I/O, with bounded polls.
"""
from __future__ import annotations

import threading
from typing import Any

from twisted.internet import protocol, reactor, task
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.task import deferLater
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import TestCase
from zope.interface.verify import verifyClass, verifyObject

from tests.proxying import WAIT, Echo, echo_backend, eventually, listen, proxy_settings, start_proxy
from vaurien.handlers import Handler
from vaurien.interfaces import IHandler

#: Real time given to bytes that must NOT arrive, before saying they did not.
SETTLE = 0.05

BUILT_INS = ("dummy", "delay", "error", "hang", "blackout", "transient", "abort")


# -- a client, a recording backend and waiting for I/O ---------------------


class Client(protocol.Protocol):
    """A client that keeps what it receives.

    @ivar received: every byte received so far.
    @ivar closed: fires with C{received} when the connection is gone.
    """

    def __init__(self) -> None:
        self.received = bytearray()
        self.closed: Deferred[bytes] = Deferred()
        self._waiting: list[tuple[int, Deferred[bytes]]] = []

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        for entry in list(self._waiting):
            if len(self.received) >= entry[0]:
                self._waiting.remove(entry)
                entry[1].callback(bytes(self.received))

    def connectionLost(self, reason: Any = None) -> None:
        for _, waiting in self._waiting:
            waiting.errback(AssertionError(
                f"connection closed after {len(self.received)} bytes"
            ))
        self._waiting = []
        self.closed.callback(bytes(self.received))

    def receive(self, count: int) -> Deferred[bytes]:
        """Fires with everything received once there are C{count} bytes."""
        d: Deferred[bytes] = Deferred()
        self._waiting.append((count, d))
        self.dataReceived(b"")
        return d.addTimeout(WAIT, reactor)

    def send(self, data: bytes) -> None:
        self.transport.write(data)

    @property
    def is_closed(self) -> bool:
        return self.closed.called


class RecordingEcho(Echo):
    """An echo server that also keeps every byte it got in its factory."""

    def connectionMade(self) -> None:
        self.factory.connections += 1

    def dataReceived(self, data: bytes) -> None:
        self.factory.received += data
        super().dataReceived(data)


def recording_backend(test: TestCase) -> tuple[int, protocol.Factory]:
    """A real echo server on loopback that records what it got.

    @return: its port and its factory (C{received}, C{connections}).
    """
    factory = protocol.Factory.forProtocol(RecordingEcho)
    factory.received = bytearray()
    factory.connections = 0
    return listen(test, factory), factory


async def settle() -> None:
    """Give bytes that must not arrive the time they would take to."""
    await deferLater(reactor, SETTLE)


async def connect(test: TestCase, port: int) -> Client:
    """A L{Client} connected to C{port}; closed when the test ends."""
    client = Client()
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), client)
    test.addCleanup(_close_client, client)
    return client


def _close_client(client: Client) -> Deferred[bytes]:
    if not client.is_closed:
        client.transport.loseConnection()
    return client.closed


async def round_trip(client: Client, data: bytes) -> bytes:
    """Send C{data}; return the next C{len(data)} bytes the client gets."""
    already = len(client.received)
    client.send(data)
    received = await client.receive(already + len(data))
    return received[already:]


async def send_and_close(client: Client, data: bytes) -> bytes:
    """Send C{data}, half-close, and return all the client got until the
    proxy closed it."""
    client.send(data)
    client.transport.loseWriteConnection()
    return await client.closed.addTimeout(WAIT, reactor)


# -- handlers written by "third parties", in the three styles -------------


def _pass_on(source: Any, dest: Any) -> bool:
    """Move what C{source} holds to C{dest} without waiting; C{False} once
    C{source} has ended."""
    chunks = []
    while True:
        try:
            chunk = source.recv(1024)
        except BlockingIOError:
            break
        if not chunk:
            dest.sendall(b"".join(chunks))
            return False
        chunks.append(chunk)
    dest.sendall(b"".join(chunks))
    return True


def _sides(client_sock: Any, backend_sock: Any, to_backend: bool) -> tuple[Any, Any]:
    return (client_sock, backend_sock) if to_backend else (backend_sock, client_sock)


class AsyncRelay:
    """Style 1: an C{async def __call__} that waits on the reactor first."""

    name = "test-async-relay"
    options: dict[str, tuple] = {}

    async def __call__(self, client_sock, backend_sock, to_backend):
        await deferLater(reactor, 0)
        return _pass_on(*_sides(client_sock, backend_sock, to_backend))


class NonBlockingRelay:
    """Style 2: a plain function that reads until C{BlockingIOError}."""

    name = "test-nonblocking-relay"
    options: dict[str, tuple] = {}
    blocking = False

    def __call__(self, client_sock, backend_sock, to_backend):
        return _pass_on(*_sides(client_sock, backend_sock, to_backend))


class BlockingRelay:
    """Style 3, the seed's: blocking sockets, in a worker thread. The
    request's call sends it, then loops on C{recv} until the whole echo
    is back."""

    name = "test-blocking-relay"
    options: dict[str, tuple] = {}

    def __call__(self, client_sock, backend_sock, to_backend):
        if not to_backend:
            return True
        request = client_sock.recv(65536)
        if not request:
            return False
        backend_sock.sendall(request)
        answer = b""
        while len(answer) < len(request):
            chunk = backend_sock.recv(1024)
            if not chunk:
                break
            answer += chunk
        client_sock.sendall(answer)
        return True


class GatedBlockingRelay:
    """Style 3, holding the request's call until the test opens C{gate},
    so that more of the client's bytes arrive during the call."""

    name = "test-gated-blocking-relay"
    options: dict[str, tuple] = {}
    entered = threading.Event()
    gate = threading.Event()

    def __call__(self, client_sock, backend_sock, to_backend):
        source, dest = _sides(client_sock, backend_sock, to_backend)
        if to_backend:
            self.entered.set()
            self.gate.wait(WAIT)
        data = source.recv(65536)
        dest.sendall(data)
        return bool(data)


class BoomError(Exception):
    """What L{Boom} raises."""


class Boom:
    """A handler that raises on the client's bytes (not on its end of
    stream: a connection the test drops must not log a failure)."""

    name = "test-boom"
    options: dict[str, tuple] = {}
    blocking = False

    def __call__(self, client_sock, backend_sock, to_backend):
        if _pass_on(client_sock, backend_sock) and to_backend:
            raise BoomError("boom")
        return False


# -- the tests ------------------------------------------------------------


class HandlerTestCase(TestCase):
    """Base: a proxy in front of a recording echo backend."""

    def proxy(self, handlers: str, clock: Any = None, **kwargs: Any) -> tuple[int, Any]:
        """Start a proxy to a fresh recording backend.

        @return: the proxy's port and L{Proxy}; the backend's factory is
            C{self.backend}.
        """
        backend_port, self.backend = recording_backend(self)
        port, factory = start_proxy(
            self, proxy_settings(backend_port, handlers, **kwargs), clock=clock
        )
        return port, factory.proxy

    async def assertBackendGetsNothing(self) -> None:
        await settle()
        self.assertEqual(bytes(self.backend.received), b"")


class DummyTests(HandlerTestCase):

    async def test_echo_round_trip_is_byte_identical(self):
        port, proxy = self.proxy("100:dummy")
        client = await connect(self, port)
        payload = bytes(range(256)) * 40
        self.assertEqual(await round_trip(client, payload), payload)
        self.assertEqual(bytes(self.backend.received), payload)
        self.assertEqual(proxy.calls["dummy"], 1)


class DelayTests(HandlerTestCase):
    """C{delay} waits C{sleep} seconds on the proxy's clock."""

    SLEEP = 2.0

    def delayed_proxy(self, before: bool) -> tuple[int, task.Clock]:
        clock = task.Clock()
        port, _ = self.proxy(
            "100:delay", clock=clock, timeout=0,
            handler_options={"delay": {"sleep": self.SLEEP, "before": before}},
        )
        return port, clock

    async def test_before_holds_the_request_until_sleep_passed(self):
        port, clock = self.delayed_proxy(before=True)
        client = await connect(self, port)
        answer = client.receive(5)
        client.send(b"hello")
        await eventually(lambda: clock.getDelayedCalls(), "the delay to start")
        clock.advance(self.SLEEP - 0.001)
        await self.assertBackendGetsNothing()
        self.assertNoResult(answer)
        clock.advance(0.001)
        self.assertEqual(await answer, b"hello")
        self.assertEqual(bytes(self.backend.received), b"hello")

    async def test_after_holds_the_answer_until_sleep_passed(self):
        port, clock = self.delayed_proxy(before=False)
        client = await connect(self, port)
        answer = client.receive(5)
        client.send(b"hello")
        await eventually(lambda: self.backend.received == b"hello", "the request")
        await eventually(lambda: clock.getDelayedCalls(), "the delay to start")
        clock.advance(self.SLEEP - 0.001)
        await settle()
        self.assertNoResult(answer)
        clock.advance(0.001)
        self.assertEqual(await answer, b"hello")


class ErrorTests(HandlerTestCase):
    """C{error} on tcp: the request passes, the answer is replaced."""

    REQUEST = b"GET / HTTP/1.0\r\n\r\n"

    async def test_answer_is_1000_random_bytes(self):
        port, _ = self.proxy("100:error")
        answer = await send_and_close(await connect(self, port), self.REQUEST)
        self.assertEqual(bytes(self.backend.received), self.REQUEST)
        self.assertEqual(len(answer), 1000)
        self.assertNotIn(self.REQUEST, answer)

    async def test_inject_slips_100_bytes_into_the_middle(self):
        port, _ = self.proxy("100:error", handler_options={"error": {"inject": True}})
        request = b"a" * 50 + b"b" * 50
        answer = await send_and_close(await connect(self, port), request)
        self.assertEqual(len(answer), len(request) + 100)
        self.assertEqual(answer[:50], b"a" * 50)
        self.assertEqual(answer[-50:], b"b" * 50)
        self.assertNotEqual(answer[50:150], b"a" * 50 + b"b" * 50)

    async def test_warmup_lets_the_first_answers_pass(self):
        port, _ = self.proxy("100:error", handler_options={"error": {"warmup": 2}})
        answers = [
            await send_and_close(await connect(self, port), self.REQUEST) for _ in range(3)
        ]
        self.assertEqual(answers[:2], [self.REQUEST, self.REQUEST])
        self.assertEqual(len(answers[2]), 1000)


class TransientTests(HandlerTestCase):

    async def test_first_agitate_answers_are_errors_across_connections(self):
        port, _ = self.proxy("100:transient", handler_options={"transient": {"agitate": 2}})
        request = b"PING\r\n"
        answers = [
            await send_and_close(await connect(self, port), request) for _ in range(4)
        ]
        self.assertEqual([len(a) for a in answers[:2]], [1000, 1000])
        self.assertEqual(answers[2:], [request, request])


class HangTests(HandlerTestCase):

    async def test_swallows_the_request_and_never_answers_nor_times_out(self):
        clock = task.Clock()
        port, proxy = self.proxy("100:hang", clock=clock, timeout=1.0)
        client = await connect(self, port)
        client.send(b"hello")
        await eventually(
            lambda: any(r.client.consumed == 5 for r in proxy.connections),
            "the hang handler to read the request",
        )
        for _ in range(20):
            clock.advance(0.25)
        self.assertEqual(len(proxy.connections), 1, "the idle timeout closed a hung connection")
        await self.assertBackendGetsNothing()
        self.assertFalse(client.is_closed)
        self.assertEqual(bytes(client.received), b"")

    async def test_closing_the_client_cleans_up(self):
        port, proxy = self.proxy("100:hang")
        client = await connect(self, port)
        client.send(b"hello")
        await eventually(lambda: proxy.connections, "the connection")
        client.transport.loseConnection()
        await client.closed
        await eventually(lambda: not proxy.connections, "the proxy to forget it")


class BlackoutTests(HandlerTestCase):

    async def test_client_closed_at_once_backend_gets_nothing(self):
        port, _ = self.proxy("100:blackout")
        client = await connect(self, port)
        client.send(b"hello")
        self.assertEqual(await client.closed.addTimeout(WAIT, reactor), b"")
        await self.assertBackendGetsNothing()


class AbortTests(HandlerTestCase):

    async def test_request_reaches_backend_answer_never_reaches_client(self):
        port, _ = self.proxy("100:abort")
        client = await connect(self, port)
        client.send(b"hello")
        self.assertEqual(await client.closed.addTimeout(WAIT, reactor), b"")
        self.assertEqual(bytes(self.backend.received), b"hello")


class InterfaceTests(TestCase):

    def test_every_built_in_provides_IHandler(self):
        for name in BUILT_INS:
            cls = Handler.get(name)
            self.assertEqual(cls.name, name)
            self.assertTrue(verifyClass(IHandler, cls))
            self.assertTrue(verifyObject(IHandler, cls()))


class IdleTimeoutTests(HandlerTestCase):
    """The proxy's C{timeout} closes silent connections, on its clock."""

    TIMEOUT = 1.0

    async def idle_connection(self, **kwargs: Any) -> tuple[Client, Any, task.Clock]:
        clock = task.Clock()
        port, proxy = self.proxy("100:dummy", clock=clock, timeout=self.TIMEOUT, **kwargs)
        client = await connect(self, port)
        self.assertEqual(await round_trip(client, b"hi"), b"hi")
        return client, proxy, clock

    def advance(self, clock: task.Clock, seconds: float, steps: int) -> None:
        for _ in range(steps):
            clock.advance(seconds / steps)

    async def test_idle_connection_is_closed(self):
        client, proxy, clock = await self.idle_connection()
        self.advance(clock, self.TIMEOUT / 2, 2)
        self.assertEqual(len(proxy.connections), 1, "closed before the timeout")
        self.advance(clock, self.TIMEOUT * 2, 8)
        self.assertEqual(proxy.connections, set())
        await client.closed.addTimeout(WAIT, reactor)

    async def test_connection_with_traffic_stays_open(self):
        client, proxy, clock = await self.idle_connection()
        for _ in range(8):
            self.advance(clock, self.TIMEOUT / 2, 2)
            self.assertEqual(await round_trip(client, b"ping"), b"ping")
        self.assertEqual(len(proxy.connections), 1)

    async def test_stay_connected_disables_it(self):
        client, proxy, clock = await self.idle_connection(stay_connected=True)
        self.advance(clock, self.TIMEOUT * 10, 40)
        self.assertEqual(len(proxy.connections), 1)
        self.assertEqual(await round_trip(client, b"still"), b"still")


class RefusedBackendTests(TestCase):

    async def test_client_closed_counted_logged_and_proxy_goes_on(self):
        probe = reactor.listenTCP(0, protocol.Factory(), interface="127.0.0.1")
        backend_port = probe.getHost().port
        await probe.stopListening()
        events: list[dict] = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        port, factory = start_proxy(self, proxy_settings(backend_port))
        proxy = factory.proxy

        client = await connect(self, port)
        self.assertEqual(await client.closed.addTimeout(WAIT, reactor), b"")
        self.assertEqual(proxy.backend_failures, 1)
        warnings = [e for e in events if "unreachable" in e.get("log_format", "")]
        self.assertEqual(len(warnings), 1)
        self.assertEqual([e for e in events if "log_failure" in e], [])
        self.assertEqual(self.flushLoggedErrors(), [])

        backend = reactor.listenTCP(
            backend_port, protocol.Factory.forProtocol(Echo), interface="127.0.0.1"
        )
        self.addCleanup(backend.stopListening)
        client = await connect(self, port)
        self.assertEqual(await round_trip(client, b"back"), b"back")
        self.assertEqual(proxy.backend_failures, 1)


class FailingHandlerTests(TestCase):

    async def connection_with(self, port: int, proxy: Any, name: str) -> Client:
        """Open connections until one is served by C{name}; close the others."""
        for _ in range(50):
            before = proxy.calls[name]
            total = sum(proxy.calls.values())
            client = await connect(self, port)
            await eventually(lambda: sum(proxy.calls.values()) > total, "the proxy to accept")
            if proxy.calls[name] > before:
                return client
            client.transport.loseConnection()
        raise AssertionError(f"no connection got {name}")

    async def test_raising_handler_kills_only_its_own_connection(self):
        settings = proxy_settings(
            echo_backend(self), "50:tests.test_handlers.Boom,50:dummy", seed=3
        )
        port, factory = start_proxy(self, settings)
        proxy = factory.proxy
        survivor = await self.connection_with(port, proxy, "dummy")
        doomed = await self.connection_with(port, proxy, Boom.name)

        doomed.send(b"hello")
        self.assertEqual(await doomed.closed.addTimeout(WAIT, reactor), b"")
        self.assertEqual(len(self.flushLoggedErrors(BoomError)), 1)
        self.assertEqual(await round_trip(survivor, b"still here"), b"still here")


class HandlerStyleTests(HandlerTestCase):
    """The three ways of writing a handler each relay an echo."""

    PAYLOAD = bytes(range(256)) * 20

    async def assertRelaysEcho(self, handler: type) -> None:
        port, proxy = self.proxy(f"100:{handler.__module__}.{handler.__qualname__}")
        client = await connect(self, port)
        self.assertEqual(await round_trip(client, self.PAYLOAD), self.PAYLOAD)
        self.assertEqual(await round_trip(client, b"again"), b"again")
        self.assertEqual(proxy.calls[handler.name], 1)

    async def test_async_def_handler(self):
        await self.assertRelaysEcho(AsyncRelay)

    async def test_plain_non_blocking_handler(self):
        await self.assertRelaysEcho(NonBlockingRelay)

    async def test_plain_blocking_handler_in_a_thread(self):
        await self.assertRelaysEcho(BlockingRelay)

    async def test_blocking_handler_not_called_again_for_bytes_it_already_read(self):
        """Bytes that arrive during a call and that the call reads itself
        must not cause another call: a blocking handler called with nothing
        to read blocks in C{recv}, and the answer is never relayed."""
        GatedBlockingRelay.entered.clear()
        GatedBlockingRelay.gate.clear()
        self.addCleanup(GatedBlockingRelay.gate.set)
        port, proxy = self.proxy("100:tests.test_handlers.GatedBlockingRelay")
        client = await connect(self, port)
        answer = client.receive(6)
        client.send(b"one")
        await eventually(GatedBlockingRelay.entered.is_set, "the call to start")
        client.send(b"two")
        await eventually(
            lambda: any(r.client.buffered == 6 for r in proxy.connections),
            "the second write to reach the proxy",
        )
        GatedBlockingRelay.gate.set()
        self.assertEqual(await answer, b"onetwo")
