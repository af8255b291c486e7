"""One proxy: a listening address, its backend, its protocol and handlers.

L{Proxy} is what handlers see as C{self.proxy}; L{ProxyFactory} is the
Twisted factory a listening endpoint is given.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import clientFromString, connectProtocol
from twisted.internet.protocol import ServerFactory
from twisted.python.threadpool import ThreadPool

from vaurien.proxy.calls import HandlerSlot, runs_in_thread
from vaurien.proxy.choice import HandlerChoice
from vaurien.proxy.sides import BackendSide, ClientSide
from vaurien.settings import ProxySettings


def _instantiate(cls: type, options: Any, proxy: Any = None) -> Any:
    """Build a plugin the way the seed described: no arguments, then the
    C{settings} (and C{proxy}) attributes."""
    plugin = cls()
    plugin.settings = dict(options)
    if proxy is not None:
        plugin.proxy = proxy
    return plugin


class Proxy:
    """The proxy instance: settings, protocol, handlers and counters.

    @ivar name: the proxy's name.
    @ivar settings: its L{ProxySettings}.
    @ivar reactor: the reactor it runs on.
    @ivar clock: what timers run on (handlers wait on it); the reactor
        unless a test gives a C{task.Clock}.
    @ivar protocol: the L{vaurien.interfaces.IProtocol} instance.
    @ivar connections: the open connections (L{vaurien.proxy.relay.Relay}).
    @ivar calls: how many calls (connections, for tcp) each handler got.
    @ivar backend_failures: how many backend connections failed.
    """

    def __init__(self, settings: ProxySettings, reactor: Any = None, clock: Any = None):
        if reactor is None:
            from twisted.internet import reactor
        self.name = settings.name
        self.settings = settings
        self.reactor = reactor
        self.clock = reactor if clock is None else clock
        self.protocol = _instantiate(settings.protocol_class, settings.protocol_options)
        self.read_size = int(self.protocol.settings.get("buffer", 65536))
        self._choice = HandlerChoice(
            [self._slot(entry) for entry in settings.handlers], settings.seed
        )
        self._backend = clientFromString(reactor, settings.backend)
        self._threads: ThreadPool | None = None
        self.connections: set[Any] = set()
        self.calls: Counter[str] = Counter()
        self.backend_failures = 0

    def _slot(self, entry: Any) -> HandlerSlot:
        handler = _instantiate(entry.handler_class, entry.options, self)
        return HandlerSlot(
            percent=entry.percent,
            name=entry.name,
            handler=handler,
            in_thread=runs_in_thread(handler),
            passthrough=bool(getattr(handler, "passthrough", False)),
        )

    def choose(self) -> HandlerSlot:
        """The handler slot for the next call, counted."""
        slot = self._choice.choose()
        self.calls[slot.name] += 1
        return slot

    @property
    def threads(self) -> ThreadPool:
        """The worker threads of blocking handlers, started on first use."""
        if self._threads is None:
            self._threads = ThreadPool(0, self.settings.threads, f"vaurien-{self.name}")
            self._threads.start()
        return self._threads

    def connect_backend(self, relay: Any) -> Deferred:
        """Open a backend connection for C{relay}, bounded by the timeout."""
        d = connectProtocol(self._backend, BackendSide(relay))
        timeout = self.settings.timeout
        if timeout:
            timer = self.clock.callLater(timeout, d.cancel)
            d.addBoth(_cancel_timer, timer)
        return d

    def backend_failed(self) -> None:
        """Count a backend connection that failed."""
        self.backend_failures += 1

    def connection_opened(self, relay: Any) -> None:
        """Track a new connection."""
        self.connections.add(relay)

    def connection_closed(self, relay: Any) -> None:
        """Forget a connection that ended."""
        self.connections.discard(relay)

    def stop(self) -> None:
        """Close every connection and stop the worker threads."""
        for relay in list(self.connections):
            relay.close()
        if self._threads is not None:
            self._threads.stop()
            self._threads = None


def _cancel_timer(result: Any, timer: Any) -> Any:
    if timer.active():
        timer.cancel()
    return result


class ProxyFactory(ServerFactory):
    """The factory a listening endpoint serves a L{Proxy} with."""

    def __init__(self, settings: ProxySettings, reactor: Any = None, clock: Any = None):
        self.proxy = Proxy(settings, reactor, clock)

    def buildProtocol(self, addr: Any) -> ClientSide:
        return ClientSide(self.proxy)

    def stopFactory(self) -> None:
        self.proxy.stop()
