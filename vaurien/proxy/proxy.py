"""One proxy: a listening address, its backend, its protocol and handlers.

L{Proxy} is what handlers see as C{self.proxy}; L{ProxyFactory} is the
Twisted factory a listening endpoint is given.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import clientFromString
from twisted.internet.protocol import ServerFactory
from twisted.python.threadpool import ThreadPool

from vaurien.proxy.calls import HandlerSlot, runs_in_thread
from vaurien.proxy.choice import HandlerChoice
from vaurien.handlers import Handler
from vaurien.proxy.framed import FramedConnection
from vaurien.fastpath import FastPaths
from vaurien.proxy.idle import IdleSweep
from vaurien.proxy.live import LiveControl
from vaurien.proxy.connection import Connection
from vaurien.proxy.sides import BackendFactory, ClientSide
from vaurien.proxy.toxic_set import ProxyToxics
from vaurien.config import HandlerEntry, ProxySettings, Targets


#: Most backend connections kept for reuse (tcp's C{reuse_socket}).
MAX_IDLE_BACKENDS = 100


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
    @ivar connections: the open connections (L{vaurien.proxy.connection.Connection}).
    @ivar handler_entries: the handler entries in force (the configured
        ones unless the control API changed them).
    @ivar skim_slot: the handler slot of the calls framed connections may
        skim (pass on as they come, with no call): the one handler in force
        when it takes every call and only passes bytes; or, with faults in
        play too, the one that only passes bytes, when L{draws} says so;
        else C{None}. A new object whenever the handlers change.
    @ivar draws: C{True} when the calls framed connections skim are drawn
        first (L{draw_run}): faults are in play beside L{skim_slot}.
    @ivar calls: how many calls (connections, for tcp) each handler got.
    @ivar connections_total: how many connections were accepted.
    @ivar bytes_to_backend: bytes received from clients.
    @ivar bytes_to_client: bytes received from backends.
    @ivar backend_failures: how many backend connections failed.
    @ivar fallbacks: how many connections stopped being framed.
    @ivar stuck_threads: worker threads still running a handler call whose
        connection was closed at the timeout.
    @ivar control: what the control API may do to this proxy.
    @ivar idle: what closes its idle connections (L{IdleSweep}).
    @ivar toxics: the toxics in force (L{vaurien.proxy.toxic_set.ProxyToxics}).
    @ivar fast_paths: whether its connections may take the fast paths
        (L{vaurien.fastpath}); L{lane}, L{pipes}, L{send_now}, L{unsent}
        and how backends are connected are theirs, or their plain
        stand-ins when off.
    """

    def __init__(self, settings: ProxySettings, reactor: Any = None, clock: Any = None):
        if reactor is None:
            from twisted.internet import reactor
        self.name = settings.name
        self.settings = settings
        self.reactor = reactor
        self.clock = reactor if clock is None else clock
        self.protocol = _instantiate(settings.protocol_class, settings.protocol_options, self)
        self.read_size = int(self.protocol.settings.get("buffer", 65536))
        self.use_handlers(settings.handlers)
        self.dummy_slot = self._slot(HandlerEntry(0, "dummy", Handler.get("dummy")))
        self.use_backend(settings.backend)
        self._threads: ThreadPool | None = None
        self._idle_backends: list[Any] = []
        fast = FastPaths(self, not settings.no_fast_path)
        self.fast_paths = fast.on
        self.lane, self.pipes, self.send_now, self.unsent, self._connect = (
            fast.lane, fast.pipes, fast.send_now, fast.unsent, fast.connect)
        self.connections: set[Any] = set()
        self.calls: Counter[str] = Counter()
        self.connections_total = 0
        self.bytes_to_backend = self.bytes_to_client = 0
        self.backend_failures = 0
        self.fallbacks = 0
        self.stuck_threads = 0
        self.toxics = ProxyToxics(self)
        self.control = LiveControl(self)
        self.idle = IdleSweep(self)

    def use_handlers(self, entries: Any) -> None:
        """Put C{entries} in force for the next connections and calls."""
        self.handler_entries = tuple(entries)
        self._choice = HandlerChoice(
            [self._slot(entry) for entry in self.handler_entries], self.settings.seed
        )
        entries = self._choice.entries
        passing = [slot for slot in entries if slot.passthrough]
        draws = len(entries) > 1
        skims = len(passing) == 1 and all(slot.every_request for slot in entries) and not (
            draws and self.settings.log_calls)  # then each call is cut, to be logged
        self.skim_slot = passing[0] if skims else None
        self.draws = draws and skims

    def use_backend(self, description: str) -> None:
        """Send the next connections to the backend endpoint C{description}."""
        self.backend = description
        self._backend = clientFromString(self.reactor, description)

    def _slot(self, entry: Any) -> HandlerSlot:
        handler = _instantiate(entry.handler_class, entry.options, self)
        return HandlerSlot(
            percent=entry.percent,
            name=entry.name,
            handler=handler,
            in_thread=runs_in_thread(handler),
            passthrough=bool(getattr(handler, "passthrough", False)),
            holds_connection=bool(getattr(handler, "holds_connection", False)),
            targets=entry.targets,
            every_request=entry.targets == Targets(),
        )

    def choose(self) -> HandlerSlot:
        """The handler slot for the next connection or call, counted."""
        slot = self._choice.choose()
        self.calls[slot.name] += 1
        return slot

    def draw_run(self) -> tuple[int, HandlerSlot]:
        """Draw the calls ahead, while L{draws}: how many go to
        L{skim_slot} before the next that does not, and its slot."""
        return self._choice.run_of(self.skim_slot)

    def choose_for(self, request: Any, drawn: HandlerSlot | None = None) -> HandlerSlot:
        """The handler slot for one framed request, counted: C{dummy} for a
        request no fault may touch, or that the chosen handler does not
        target.

        @param drawn: the slot drawn for it already (L{draw_run}), if any.
        """
        if not request.faultable:
            slot = self.dummy_slot
        else:
            slot = self._choice.choose() if drawn is None else drawn
        if not (slot.every_request or slot.targets.matches(request)):
            slot = self.dummy_slot
        self.calls[slot.name] += 1
        return slot

    def new_connection(self, client_transport: Any) -> Connection:
        """The connection for a new client, as the protocol needs."""
        if self.protocol.per_call:
            return FramedConnection(self, client_transport)
        return Connection(self, client_transport)

    @property
    def threads(self) -> ThreadPool:
        """The worker threads of blocking handlers, started on first use."""
        if self._threads is None:
            self._threads = ThreadPool(0, self.settings.threads, f"vaurien-{self.name}")
            self._threads.start()
        return self._threads

    def connect_backend(self, connection: Any) -> Deferred:
        """Give C{connection} a backend connection: a kept one (tcp's
        C{reuse_socket}) at once, or a new one, bounded by the timeout."""
        while self._idle_backends:
            backend_side = self._idle_backends.pop()
            if not backend_side.transport.disconnected:
                backend_side.connection = connection
                connection.backend_connected(backend_side)
                return succeed(backend_side)
        d = self._connect(self._backend, BackendFactory(connection))
        if self.settings.timeout:
            d.addTimeout(self.settings.timeout, self.clock)
        return d

    def park_backend(self, backend_side: Any) -> bool:
        """Keep a live backend connection whose client left, for the next
        client; at most L{MAX_IDLE_BACKENDS} are kept.

        @return: C{True} when it was kept.
        """
        if len(self._idle_backends) >= MAX_IDLE_BACKENDS:
            return False
        backend_side.connection = IdleBackend(self, backend_side)
        self._idle_backends.append(backend_side)
        return True

    def unpark_backend(self, backend_side: Any) -> None:
        """Forget a kept backend connection that went bad."""
        if backend_side in self._idle_backends:
            self._idle_backends.remove(backend_side)

    def backend_failed(self) -> None:
        """Count a backend connection that failed."""
        self.backend_failures += 1

    def connection_opened(self, connection: Any) -> None:
        """Track a new connection."""
        self.connections.add(connection)
        self.connections_total += 1
        self.idle.watch()

    def fell_back(self) -> None:
        """Count a connection that stopped being framed."""
        self.fallbacks += 1

    def thread_stuck(self, call: Deferred) -> None:
        """Count a handler call stuck in its thread until it returns."""
        self.stuck_threads += 1

        def returned(result: Any) -> Any:
            self.stuck_threads -= 1
            return result

        call.addBoth(returned)

    def connection_closed(self, connection: Any) -> None:
        """Forget a connection that ended."""
        self.connections.discard(connection)
        if not self.connections:
            self.idle.stop()

    def stop(self) -> None:
        """Close every connection (what toxics held passed on at once) and
        stop the worker threads."""
        self.toxics.stop()
        for connection in list(self.connections):
            connection.close()
        self.idle.stop()
        for backend_side in self._idle_backends:
            backend_side.transport.loseConnection()
        self._idle_backends.clear()
        if self.pipes is not None:
            self.pipes.close()
        if self._threads is not None:
            self._threads.stop()
            self._threads = None


class IdleBackend:
    """Stands for the connection a kept backend connection serves while no
    client uses it: anything it does (data, end of stream) ends it."""

    mode = None  # no mode passes bytes on
    active = False

    def __init__(self, proxy: Proxy, backend_side: Any):
        self.proxy = proxy
        self.backend_side = backend_side

    def data_from(self, from_client: bool, data: bytes) -> None:
        self._drop()

    def end_from(self, from_client: bool, transport: Any) -> None:
        self._drop()

    def lost(self, from_client: bool, transport: Any, reset: bool = False) -> None:
        self._drop()

    def _drop(self) -> None:
        self.proxy.unpark_backend(self.backend_side)
        self.backend_side.transport.loseConnection()


class ProxyFactory(ServerFactory):
    """The factory a listening endpoint serves a L{Proxy} with; quiet, as
    the service logs each proxy's start in one line of its own."""

    noisy = False

    def __init__(self, settings: ProxySettings, reactor: Any = None, clock: Any = None):
        self.proxy = Proxy(settings, reactor, clock)

    def logPrefix(self) -> str:
        """How the listening port names itself in Twisted's own lines."""
        return f"vaurien proxy {self.proxy.name}"

    def buildProtocol(self, addr: Any) -> ClientSide:
        return ClientSide(self.proxy)

    def stopFactory(self) -> None:
        self.proxy.stop()
