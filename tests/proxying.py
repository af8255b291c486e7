"""Test fixtures: real loopback backends and in-process proxies."""
from __future__ import annotations

import hashlib
from typing import Any, Callable

from twisted.internet import protocol, reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.interfaces import IHalfCloseableProtocol, IPullProducer
from twisted.internet.task import deferLater
from zope.interface import implementer

from vaurien.config import HandlerEntry, ProxySettings
from vaurien.config.values import defaults
from vaurien.handlers import Handler
from vaurien.protocols import Protocol
from vaurien.proxy import ProxyFactory

#: Longest wait for socket I/O before a test fails (seconds, real time).
WAIT = 5.0
#: Interval of the polls that wait for socket I/O.
POLL = 0.005


def entries(spec: str, **options: dict[str, Any]) -> tuple[HandlerEntry, ...]:
    """C{"20:delay,5:error"} as handler entries, the rest to dummy;
    C{options} by handler name."""
    result = []
    for part in spec.split(","):
        percent, name = part.split(":")
        cls = Handler.resolve(name)
        merged = {**defaults(cls), **options.get(cls.name, {})}
        result.append(HandlerEntry(int(percent), cls.name, cls, merged))
    rest = 100 - sum(entry.percent for entry in result)
    if rest:
        result.append(HandlerEntry(rest, "dummy", Handler.get("dummy")))
    return tuple(result)


def proxy_settings(backend_port: int, handlers: str = "100:dummy", protocol: str = "tcp",
                   protocol_options: dict[str, Any] | None = None,
                   handler_options: dict[str, dict[str, Any]] | None = None,
                   **kwargs: Any) -> ProxySettings:
    """Settings of a proxy to C{127.0.0.1:backend_port}."""
    protocol_class = Protocol.resolve(protocol)
    return ProxySettings(
        name="test",
        listen="tcp:0:interface=127.0.0.1",
        backend=f"tcp:host=127.0.0.1:port={backend_port}",
        protocol_class=protocol_class,
        protocol_options={**defaults(protocol_class), **(protocol_options or {})},
        handlers=entries(handlers, **(handler_options or {})),
        **kwargs,
    )


@implementer(IHalfCloseableProtocol)
class Echo(protocol.Protocol):
    """Sends back what it gets; half-closes when the client does."""

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)

    def readConnectionLost(self) -> None:
        self.transport.loseWriteConnection()

    def writeConnectionLost(self) -> None:
        self.transport.loseConnection()


def listen(test: Any, factory: protocol.Factory) -> int:
    """Listen on a free loopback port for the test's duration; return it."""
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    test.addCleanup(port.stopListening)
    return port.getHost().port


def echo_backend(test: Any) -> int:
    """A real echo server on loopback; its port."""
    return listen(test, protocol.Factory.forProtocol(Echo))


def start_proxy(test: Any, settings: ProxySettings, clock: Any = None) -> tuple[int, ProxyFactory]:
    """Run a proxy in-process on a free loopback port; its timers on
    C{clock} when given."""
    factory = ProxyFactory(settings, clock=clock)
    port = listen(test, factory)
    test.addCleanup(factory.proxy.stop)
    return port, factory


@implementer(IHalfCloseableProtocol)
class Collector(protocol.Protocol):
    """A client or backend that keeps (or only hashes) what it receives.

    @ivar ended: fires with the received bytes (or the hex digest) when
        the peer half-closes or the connection is lost.
    """

    def __init__(self, hashing: bool = False):
        self.hash = hashlib.sha256() if hashing else None
        self.received = bytearray()
        self.count = 0
        self.ended: Deferred = Deferred()
        self.connected_d: Deferred = Deferred()

    def connectionMade(self) -> None:
        self.connected_d.callback(self)

    def dataReceived(self, data: bytes) -> None:
        self.count += len(data)
        if self.hash is not None:
            self.hash.update(data)
        else:
            self.received += data

    def _end(self) -> None:
        if not self.ended.called:
            self.ended.callback(
                self.hash.hexdigest() if self.hash is not None else bytes(self.received)
            )

    def readConnectionLost(self) -> None:
        self._end()

    def writeConnectionLost(self) -> None:
        """Our own half-close: keep reading."""

    def connectionLost(self, reason: Any = None) -> None:
        self._end()


@implementer(IPullProducer)
class PayloadSender:
    """Writes C{payload} to a transport in chunks as it asks, then
    half-closes (or, with C{close}, closes)."""

    def __init__(self, transport: Any, payload: bytes, chunk: int = 1 << 16, close: bool = False):
        self.transport = transport
        self.payload = memoryview(payload)
        self.offset = 0
        self.chunk = chunk
        self.close = close
        transport.registerProducer(self, False)

    def resumeProducing(self) -> None:
        piece = self.payload[self.offset:self.offset + self.chunk]
        self.offset += len(piece)
        if piece:
            self.transport.write(bytes(piece))
        else:
            self.transport.unregisterProducer()
            if self.close:
                self.transport.loseConnection()
            else:
                self.transport.loseWriteConnection()

    def stopProducing(self) -> None:
        self.offset = len(self.payload)


def connect(port: int, client: protocol.Protocol) -> Deferred:
    """Connect C{client} to C{127.0.0.1:port}."""
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    return connectProtocol(endpoint, client)


def read_reply(sock: Any, expected: bytes) -> bytes:
    """Read from a blocking socket until C{expected}'s length has come (or
    the peer closed): a whole reply, to compare with C{expected}."""
    data = b""
    while len(data) < len(expected):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


async def eventually(predicate: Callable[[], bool], what: str) -> None:
    """Wait (real time, bounded by L{WAIT}) until C{predicate()} holds.

    Only for socket I/O: timing logic runs on a Clock.
    """
    deadline = reactor.seconds() + WAIT
    while not predicate():
        if reactor.seconds() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await deferLater(reactor, POLL)
