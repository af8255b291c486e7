"""makeService(): the proxies, the control API and the statsd sender (and,
in the first process of C{vaurien --workers N}, the other workers) as one
Twisted service, shared by the C{vaurien} command and C{twistd vaurien}."""
from __future__ import annotations

from typing import Any, Callable, Mapping

import os

from twisted.application import strports
from twisted.application.service import MultiService, Service
from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import IStreamServerEndpoint
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from vaurien.config import ProxySettings, Settings, handlers_label, listening_endpoint
from vaurien.demo import DemoService
from vaurien.endpoints import backend_authority
from vaurien.interfaces import IProxyControl
from vaurien.proxy import ProxyFactory
from vaurien.statsd import StatsdService

#: Gives each proxy's name and control surface, once the proxies started.
Controls = Callable[[], Mapping[str, IProxyControl]]


class VaurienService(MultiService):
    """The proxies and what goes with them.

    @ivar controls: gives each proxy's name and control surface, once the
        proxies started.
    """

    def __init__(self, controls: Controls):
        super().__init__()
        self.controls = controls


def makeService(settings: Settings, reactor: Any = None, workers: Any = None) -> VaurienService:
    """A service running every proxy of C{settings}, and the control API
    and the statsd sender when the settings ask for them.

    In demo mode each proxy comes with the demo backend it points at.
    Starting the service raises L{twisted.internet.error.CannotListenError}
    at once when a proxy or the control API cannot listen.

    @param settings: what L{vaurien.config} read.
    @param reactor: the reactor to run on (the global one if C{None}).
    @param workers: with C{--workers N}, in the first process, the
        L{vaurien.workers.WorkerProcesses} service: started last (once this
        process listens), stopped first, and driven by the control API too.
    """
    running: list[Any] = []

    def controls() -> Mapping[str, IProxyControl]:
        return {each.proxy.name: each.proxy.control for each in running}

    service = VaurienService(controls)
    for proxy in settings.proxies:
        if settings.demo:
            demo = DemoService(proxy, reactor)
            demo.setServiceParent(service)
            running.append(demo)
        else:
            factory = ProxyFactory(proxy, reactor)
            _listening(proxy, factory, settings.workers > 1, reactor).setServiceParent(service)
            running.append(factory)
    if settings.http:
        ControlApiService(settings, controls, reactor, workers).setServiceParent(service)
    if settings.statsd.enabled:
        StatsdService(settings.statsd, controls, reactor).setServiceParent(service)
    if workers is not None:
        workers.setServiceParent(service)
    return service


def _listening(
    proxy: ProxySettings, factory: ProxyFactory, reuse_port: bool, reactor: Any
) -> Listening:
    """The service listening for C{proxy}."""
    if reactor is None:
        from twisted.internet import reactor
    endpoint = _Announcing(
        listening_endpoint(reactor, proxy.listen, proxy.backlog, reuse_port), proxy
    )
    return Listening(endpoint, factory)


class Listening(Service):
    """Listens on an endpoint while it runs. An address that cannot be used
    raises at start, from C{privilegedStartService} (the command then
    names it and exits), rather than being logged later."""

    log = Logger()

    def __init__(self, endpoint: IStreamServerEndpoint, factory: Any):
        self.endpoint = endpoint
        self.factory = factory
        self._listening: Deferred | None = None  # the port, once listening

    def privilegedStartService(self) -> None:
        Service.privilegedStartService(self)
        self._listening = self.endpoint.listen(self.factory)
        if not self._listening.called:
            self._listening.addErrback(self._failed_later)
            return
        failed: list[Failure] = []
        self._listening.addErrback(failed.append)
        if failed:
            failed[0].raiseException()

    def _failed_later(self, failure: Failure) -> None:
        if not failure.check(CancelledError):
            self.log.failure("listening failed", failure)

    def startService(self) -> None:
        Service.startService(self)
        if self._listening is None:
            self.privilegedStartService()

    def stopService(self) -> Deferred:
        """Stop listening (or trying to)."""
        Service.stopService(self)
        self._listening.cancel()
        return self._listening.addCallback(_stop_listening)


def _stop_listening(port: Any) -> Any:
    return port.stopListening() if port is not None else None


@implementer(IStreamServerEndpoint)
class _Announcing:
    """A proxy's listening endpoint, which logs the proxy's start line
    (L{start_line}) once it listens."""

    log = Logger()

    def __init__(self, endpoint: IStreamServerEndpoint, proxy: ProxySettings):
        self._endpoint = endpoint
        self._proxy = proxy

    def listen(self, factory: Any) -> Deferred:
        def announce(port: Any) -> Any:
            self.log.info("{line}", line=start_line(self._proxy, port.getHost()))
            return port

        return self._endpoint.listen(factory).addCallback(announce)


def start_line(proxy: ProxySettings, address: Any) -> str:
    """What a proxy does, in one line: C{proxy default: 127.0.0.1:8000 ->
    127.0.0.1:6379, protocol redis, handlers 20:delay(sleep=1.0,...),80:dummy}.

    @param address: the address it listens on (the port's C{getHost()}).
    """
    if isinstance(address, (IPv4Address, IPv6Address)):
        host = f"[{address.host}]" if ":" in address.host else address.host
        listening = f"{host}:{address.port}"
    else:
        listening = os.fsdecode(address.name) if isinstance(address, UNIXAddress) else str(address)
    backend = backend_authority(proxy.backend) or proxy.backend
    declared = proxy.protocol_class.options
    options = ",".join(
        f"{k}={v}" for k, v in proxy.protocol_options.items()
        if k in declared and declared[k][2] != v
    )
    protocol = proxy.protocol_class.name + (f"({options})" if options else "")
    line = (
        f"proxy {proxy.name}: {listening} -> {backend}, protocol {protocol},"
        f" handlers {handlers_label(proxy.handlers, every_option=True)}"
    )
    return line if proxy.seed is None else f"{line}, seed {proxy.seed}"


class ControlApiService(MultiService):
    """The HTTP control API of the proxies, on C{http_host:http_port}.

    Its site is made when it starts, after the proxies (the demo's exist
    only then).
    """

    def __init__(self, settings: Settings, controls: Controls, reactor: Any = None,
                 workers: Any = None):
        """
        @param settings: C{http_host}, C{http_port} and C{http_token} are read.
        @param controls: gives each proxy's name and control surface.
        @param reactor: the reactor to listen with (the global one if C{None}).
        @param workers: the other processes of C{--workers N}, which every
            change reaches too (C{None}: this process only).
        """
        super().__init__()
        host = settings.http_host.replace("\\", "\\\\").replace(":", "\\:")
        self.endpoint = f"tcp:{settings.http_port}:interface={host}"
        self._token = settings.http_token
        self._controls = controls
        self._reactor = reactor
        self._workers = workers

    def startService(self) -> None:
        """Listen; raise L{twisted.internet.error.CannotListenError} at once
        when the address cannot be used."""
        # Imported here: twisted.web and prometheus_client load only when
        # the API runs.
        from vaurien.control.api import control_site

        if not self.services:
            site = control_site(self._controls(), self._token, self._workers)
            strports.service(self.endpoint, site, self._reactor).setServiceParent(self)
        super().startService()
