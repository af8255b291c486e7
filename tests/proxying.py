"""Test fixtures: real loopback backends and in-process proxies."""
from __future__ import annotations

from typing import Any

from twisted.internet import protocol, reactor
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.interfaces import IHalfCloseableProtocol
from zope.interface import implementer

from vaurien.handlers import Handler
from vaurien.option_values import defaults
from vaurien.protocols import Protocol
from vaurien.proxy import ProxyFactory
from vaurien.settings import HandlerEntry, ProxySettings


def entries(spec: str, **options: dict[str, Any]) -> tuple[HandlerEntry, ...]:
    """C{"20:delay,80:dummy"} as handler entries; C{options} by handler name."""
    result = []
    for part in spec.split(","):
        percent, name = part.split(":")
        cls = Handler.resolve(name)
        merged = {**defaults(cls), **options.get(cls.name, {})}
        result.append(HandlerEntry(int(percent), cls.name, cls, merged))
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


def start_proxy(test: Any, settings: ProxySettings) -> tuple[int, ProxyFactory]:
    """Run a proxy in-process on a free loopback port."""
    factory = ProxyFactory(settings)
    port = listen(test, factory)
    test.addCleanup(factory.proxy.stop)
    return port, factory
