"""makeService(): the proxies, the control APIs and the statsd sender (and,
in the first process of C{vaurien --workers N}, the other workers) as one
Twisted service, shared by the C{vaurien} command and C{twistd vaurien}."""
from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping

from twisted.application import strports
from twisted.application.service import MultiService

from vaurien.config import Settings
from vaurien.demo import DemoService
from vaurien.interfaces import IProxies, IProxyControl
from vaurien.running import RunningProxies
from vaurien.statsd import StatsdService

#: Gives each proxy's name and control surface (a live mapping).
Controls = Callable[[], Mapping[str, IProxyControl]]


class VaurienService(MultiService):
    """The proxies and what goes with them.

    @ivar controls: gives each proxy's name and control surface (a live
        mapping: proxies added later are in it).
    @ivar proxies: the running proxies, which can be added, taken down and
        removed (the demo's are not among them).
    """

    def __init__(self, controls: Controls, proxies: RunningProxies):
        super().__init__()
        self.controls = controls
        self.proxies = proxies


def makeService(settings: Settings, reactor: Any = None, workers: Any = None) -> VaurienService:
    """A service running every proxy of C{settings}, and the control APIs
    and the statsd sender when the settings ask for them.

    In demo mode each proxy comes with the demo backend it points at.
    Starting the service raises L{twisted.internet.error.CannotListenError}
    at once when a proxy or an API cannot listen.

    @param settings: what L{vaurien.config} read.
    @param reactor: the reactor to run on (the global one if C{None}).
    @param workers: with C{--workers N}, in the first process, the
        L{vaurien.workers.WorkerProcesses} service: started last (once this
        process listens), stopped first, and driven by the control API too.
    """
    running = RunningProxies(reactor, settings.workers > 1, settings.log_level == "debug")
    demos = [DemoService(proxy, reactor) for proxy in settings.proxies if settings.demo]
    every = _Controls(demos, running.controls)
    service = VaurienService(lambda: every, running)
    for demo in demos:
        demo.setServiceParent(service)
    for proxy in settings.proxies if not settings.demo else ():
        running.add(proxy)
    for added in settings.added_proxies:
        running.add(added.settings, added.enabled, added.listen, added.upstream)
    running.setServiceParent(service)
    if settings.http:
        ControlApiService(settings, lambda: every, reactor, workers, running).setServiceParent(service)
    if settings.toxiproxy_api:
        ToxiproxyApiService(settings.toxiproxy_api, running, reactor).setServiceParent(service)
    if settings.statsd.enabled:
        StatsdService(settings.statsd, lambda: every, reactor).setServiceParent(service)
    if workers is not None:
        workers.setServiceParent(service)
    return service


class _Controls(Mapping[str, IProxyControl]):
    """Every proxy's control surface, live: the demo's once started, then
    the running proxies (added and removed ones included)."""

    def __init__(self, demos: list[DemoService], running: Mapping[str, IProxyControl]):
        self._demos = demos
        self._running = running

    def _all(self) -> dict[str, IProxyControl]:
        demos = {demo.proxy.name: demo.proxy.control for demo in self._demos if demo.proxy}
        return {**demos, **self._running}

    def __getitem__(self, name: str) -> IProxyControl:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


class _SiteService(MultiService):
    """An HTTP API on an endpoint string. Its site, from the subclass's
    C{site()}, is made when it starts, after the proxies (the demo's exist
    only then).

    @ivar endpoint: the endpoint string it listens on.
    """

    def __init__(self, endpoint: str, reactor: Any = None):
        super().__init__()
        self.endpoint = endpoint
        self._reactor = reactor

    def startService(self) -> None:
        """Listen; raise L{twisted.internet.error.CannotListenError} at once
        when the address cannot be used."""
        if not self.services:
            strports.service(self.endpoint, self.site(), self._reactor).setServiceParent(self)
        super().startService()


class ControlApiService(_SiteService):
    """The HTTP control API of the proxies, on C{http_host:http_port}."""

    def __init__(self, settings: Settings, controls: Controls, reactor: Any = None,
                 workers: Any = None, proxies: IProxies | None = None):
        """
        @param settings: C{http_host}, C{http_port} and C{http_token} are read.
        @param controls: gives each proxy's name and control surface.
        @param reactor: the reactor to listen with (the global one if C{None}).
        @param workers: the other processes of C{--workers N}, which every
            change reaches too (C{None}: this process only).
        @param proxies: the running proxies, which the API takes down and
            brings back (C{None}: it cannot).
        """
        host = settings.http_host.replace("\\", "\\\\").replace(":", "\\:")
        super().__init__(f"tcp:{settings.http_port}:interface={host}", reactor)
        self._token = settings.http_token
        self._controls = controls
        self._workers = workers
        self._proxies = proxies

    def site(self) -> Any:
        # Imported here: twisted.web and prometheus_client load only when
        # the API runs.
        from vaurien.control.api import control_site

        return control_site(self._controls(), self._token, self._workers, self._proxies)


class ToxiproxyApiService(_SiteService):
    """Toxiproxy's HTTP API (C{--toxiproxy-api}), over the running proxies."""

    def __init__(self, endpoint: str, proxies: IProxies, reactor: Any = None):
        """
        @param endpoint: the endpoint string it listens on.
        @param proxies: the running proxies it lists, adds and changes.
        """
        super().__init__(endpoint, reactor)
        self._proxies = proxies

    def site(self) -> Any:
        from vaurien.control.toxiproxy import toxiproxy_site

        return toxiproxy_site(self._proxies)
