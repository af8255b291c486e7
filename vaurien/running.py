"""The running proxies (L{IProxies}): those configured at start, and those
the control APIs add while Vaurien runs, each of which can be taken down
(it stops listening and its connections are closed; its settings, counters
and toxics are kept), brought back, moved and removed.

A proxy's L{vaurien.proxy.Proxy} lives as long as the proxy is known here:
taking it down only stops its listening port, whose factory closes the
proxy's connections when its last port stops.
"""
from __future__ import annotations

import re
from typing import Any, Iterator, Mapping

from twisted.application.service import MultiService
from twisted.internet.defer import CancelledError, Deferred, fail, gatherResults, succeed
from twisted.internet.error import CannotListenError
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from vaurien.config import (
    ProxySettings, added_proxy, backend_endpoint, listen_endpoint, listening_endpoint,
)
from vaurien.endpoints import backend_authority
from vaurien.errors import Conflict, NotFound, VaurienError
from vaurien.interfaces import IProxies, IProxyControl
from vaurien.listening import Announcing, address_text
from vaurien.proxy import ProxyFactory

#: A TCP endpoint string whose port the system chooses.
_ANY_PORT = re.compile(r"^(tcp6?:)0(?=:|$)")


class _Entry:
    """One proxy of L{RunningProxies}.

    @ivar factory: its L{ProxyFactory}.
    @ivar listen: its listening address as given to the API (C{None}: from
        the configuration), or once it listened on a port the system chose,
        the real C{host:port}.
    @ivar upstream: its backend as given to the API, and the endpoint
        string it was made into (C{None}: from the configuration).
    @ivar endpoint: the endpoint string it listens on (its port filled in
        once the system chose it, so that it comes back on the same one).
    @ivar enabled: whether it should listen.
    @ivar port: its listening port while it listens.
    @ivar pending: the listening under way, if not done at once.
    """

    def __init__(self, factory: ProxyFactory, enabled: bool, listen: str | None,
                 upstream: tuple[str, str] | None):
        self.factory = factory
        self.listen = listen
        self.upstream = upstream
        self.endpoint = factory.proxy.settings.listen
        self.enabled = enabled
        self.port: Any = None
        self.pending: Deferred | None = None


class _Controls(Mapping[str, IProxyControl]):
    """The live mapping of proxy name to its control surface."""

    def __init__(self, entries: Mapping[str, _Entry]):
        self._entries = entries

    def __getitem__(self, name: str) -> IProxyControl:
        return self._entries[name].factory.proxy.control

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)


@implementer(IProxies)
class RunningProxies(MultiService):
    """Every proxy this process runs, by name, in the order added.

    Starting it listens for every enabled proxy, raising
    L{CannotListenError} at once when an address cannot be used (under
    twistd, from C{privilegedStartService}, before privileges are dropped).
    """

    log = Logger()

    def __init__(self, reactor: Any = None, reuse_port: bool = False, log_calls: bool = False):
        """
        @param reactor: the reactor to listen with (the global one if C{None}).
        @param reuse_port: share each TCP port with other processes
            (C{--workers N}).
        @param log_calls: what proxies added later log (debug logging).
        """
        super().__init__()
        if reactor is None:
            from twisted.internet import reactor
        self._reactor = reactor
        self._reuse_port = reuse_port
        self._log_calls = log_calls
        self._entries: dict[str, _Entry] = {}
        self.controls = _Controls(self._entries)

    def proxy(self, name: str) -> Any:
        """The L{vaurien.proxy.Proxy} called C{name}, for what needs more
        than its control surface (tests reading its fast paths).

        @raise NotFound: no such proxy.
        """
        return self._entry(name).factory.proxy

    def add(self, settings: ProxySettings, enabled: bool = True, listen: str | None = None,
            upstream: str | None = None) -> Deferred:
        """Add a proxy of C{settings}; while running, it listens at once.

        @param listen: its listening address as given, shown by L{describe}.
        @param upstream: its backend as given, shown by L{describe}.
        @return: a Deferred firing with its description (L{describe}), or
            failing with L{Conflict} (nothing is added then).
        """
        if settings.name in self._entries:
            return fail(Conflict(f"a proxy named {settings.name!r} exists already"))
        given = None if upstream is None else (upstream, settings.backend)
        entry = _Entry(ProxyFactory(settings, self._reactor), enabled, listen, given)
        self._entries[settings.name] = entry
        if not (self.running and enabled):
            return succeed(self.describe(settings.name))

        def refused(failure: Failure) -> Failure:
            del self._entries[settings.name]
            return failure

        listening = self._listen(entry).addErrback(refused)
        return listening.addCallback(lambda _: self.describe(settings.name))

    def create(self, name: str, listen: str, upstream: str, enabled: bool = True,
               protocol: str | None = None) -> Deferred:
        try:
            settings = added_proxy(name, listen, upstream, protocol, self._log_calls)
        except VaurienError:
            return fail()
        return self.add(settings, enabled, listen, upstream)

    def describe(self, name: str) -> dict[str, Any]:
        entry = self._entry(name)
        proxy = entry.factory.proxy
        upstream = backend_authority(proxy.backend) or proxy.backend
        if entry.upstream is not None and entry.upstream[1] == proxy.backend:
            upstream = entry.upstream[0]
        return {
            "name": name,
            "listen": entry.listen if entry.listen is not None else entry.endpoint,
            "upstream": upstream,
            "enabled": entry.enabled,
            "protocol": proxy.protocol.name,
        }

    def set_enabled(self, name: str, enabled: bool) -> Deferred:
        entry = self._entry(name)
        if entry.enabled == enabled:
            return succeed(self.describe(name))
        entry.enabled = enabled
        if not self.running:
            return succeed(self.describe(name))
        if enabled:
            def refused(failure: Failure) -> Failure:
                entry.enabled = False
                return failure

            done = self._listen(entry).addErrback(refused)
        else:
            done = self._stop(entry)
        return done.addCallback(lambda _: self.describe(name))

    def move(self, name: str, listen: str | None = None, upstream: str | None = None) -> Deferred:
        entry = self._entry(name)
        shown = self.describe(name)
        try:
            endpoint = None if listen is None else listen_endpoint(listen, f"listen {listen!r}")
            backend = None if upstream is None else backend_endpoint(upstream, f"upstream {upstream!r}")
        except VaurienError:
            return fail()
        if endpoint is None or listen == shown["listen"]:
            done: Deferred = succeed(None)
        elif not (self.running and entry.enabled):
            entry.listen, entry.endpoint = listen, endpoint
            done = succeed(None)
        else:
            done = self._relisten(entry, listen, endpoint)

        def new_backend(_: Any) -> dict[str, Any]:
            if backend is not None and upstream != shown["upstream"]:
                entry.factory.proxy.control.set_backend(backend)
                entry.upstream = (upstream, backend)
            return self.describe(name)

        return done.addCallback(new_backend)

    def remove(self, name: str) -> Deferred:
        entry = self._entry(name)
        del self._entries[name]
        return self._stop(entry)

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        self._listen_at_start()

    def startService(self) -> None:
        super().startService()
        self._listen_at_start()

    def stopService(self) -> Deferred:
        super().stopService()
        return gatherResults([self._stop(entry) for entry in self._entries.values()])

    def _entry(self, name: str) -> _Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise NotFound(f"no proxy named {name!r}") from None

    def _listen_at_start(self) -> None:
        """Listen for every enabled proxy not listening yet; raise at once
        when one cannot."""
        for entry in self._entries.values():
            if entry.enabled and entry.port is None and entry.pending is None:
                failed: list[Failure] = []
                listening = self._listen(entry, refuse=False)
                listening.addErrback(failed.append if listening.called else self._failed_later)
                if failed:
                    failed[0].raiseException()

    def _failed_later(self, failure: Failure) -> None:
        if not failure.check(CancelledError):
            self.log.failure("listening failed", failure)

    def _listen(self, entry: _Entry, endpoint: str | None = None, refuse: bool = True) -> Deferred:
        """Make C{entry} listen (on C{endpoint}, else its own); fires with
        its port (failing with L{Conflict} when the address is taken, if
        C{refuse}, else with L{CannotListenError})."""
        description = entry.endpoint if endpoint is None else endpoint
        settings = entry.factory.proxy.settings
        made = listening_endpoint(self._reactor, description, settings.backlog, self._reuse_port)
        listening = Announcing(made, settings).listen(entry.factory)
        if not listening.called:
            entry.pending = listening

        def listened(port: Any) -> Any:
            entry.pending, entry.port = None, port
            if _ANY_PORT.match(description):
                entry.endpoint = _ANY_PORT.sub(rf"\g<1>{port.getHost().port}", description)
            if entry.listen is None or _ANY_PORT.match(description):
                entry.listen = address_text(port.getHost())
            return port

        def failed(failure: Failure) -> Failure:
            entry.pending = None
            if refuse and failure.check(CannotListenError):
                error = failure.value
                raise Conflict(
                    f"cannot listen on {error.interface or '*'}:{error.port}: {error.socketError}"
                )
            return failure

        return listening.addCallbacks(listened, failed)

    def _relisten(self, entry: _Entry, listen: str, endpoint: str) -> Deferred:
        """Listen on C{endpoint} too, then stop the old port: the proxy's
        connections stay; when the new address is taken, nothing changes."""
        old = entry.port
        entry.port = None

        def kept(failure: Failure) -> Failure:
            entry.port = old
            return failure

        def moved(port: Any) -> Deferred:
            if not _ANY_PORT.match(endpoint):
                entry.listen, entry.endpoint = listen, endpoint
            return old.stopListening()

        return self._listen(entry, endpoint).addCallbacks(moved, kept)

    @staticmethod
    def _stop(entry: _Entry) -> Deferred:
        """Stop C{entry}'s listening (its factory then closes its
        connections)."""
        port, entry.port = entry.port, None
        if entry.pending is not None:
            entry.pending.cancel()
        return succeed(None) if port is None else port.stopListening()
