"""The demo for newcomers: a small HTTP backend on a free loopback port,
served through a proxy with a visible share of faults.

L{DemoService} listens for the backend first, then for the proxy pointed
at it, so that the backend's port is known before any client arrives, and
logs the C{curl} lines to try.
"""
from __future__ import annotations

import json
import os
from typing import Any

from attrs import evolve
from twisted.application.service import Service
from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.defer import gatherResults
from twisted.internet.endpoints import serverFromString
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site

from vaurien.config import ProxySettings
from vaurien.proxy import Proxy, ProxyFactory

#: Seconds C{/slow} takes to answer.
SLOW_SECONDS = 2.0

_HOME = (
    b"Hello from the Vaurien demo backend.\n"
    b"This page came through the proxy; run it again a few times: some\n"
    b"answers come late (delay), some are broken (error).\n"
)


class _Home(Resource):
    isLeaf = True

    def render_GET(self, request) -> bytes:
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return _HOME


class _Json(Resource):
    isLeaf = True

    def render_GET(self, request) -> bytes:
        request.setHeader(b"content-type", b"application/json")
        return json.dumps({"backend": "vaurien demo", "path": "/json", "ok": True}).encode()


class _Slow(Resource):
    isLeaf = True

    def __init__(self, clock: Any):
        super().__init__()
        self._clock = clock

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        call = self._clock.callLater(SLOW_SECONDS, self._answer, request)
        request.notifyFinish().addErrback(lambda _: call.cancel() if call.active() else None)
        return NOT_DONE_YET

    @staticmethod
    def _answer(request) -> None:
        request.write(b"This one took %g seconds at the backend.\n" % SLOW_SECONDS)
        request.finish()


def demo_site(clock: Any) -> Site:
    """The demo backend: C{/} a short text page, C{/json} a small JSON
    document, C{/slow} an answer that takes L{SLOW_SECONDS}.

    @param clock: what C{/slow} waits on (the reactor).
    """
    root = Resource()
    root.putChild(b"", _Home())
    root.putChild(b"json", _Json())
    root.putChild(b"slow", _Slow(clock))
    return Site(root)


class DemoService(Service):
    """Runs the demo backend and one proxy to it.

    @ivar proxy_settings: the proxy's settings, its backend filled in once
        the demo backend listens (C{None} before).
    @ivar proxy: the L{vaurien.proxy.Proxy}, once started (C{None} before).
    """

    log = Logger()

    def __init__(self, settings: ProxySettings, reactor: Any = None):
        """
        @param settings: the proxy's settings; their C{backend} is replaced.
        @param reactor: the reactor to listen with (the global one if C{None}).
        """
        if reactor is None:
            from twisted.internet import reactor
        self._settings = settings
        self._reactor = reactor
        self._ports: list[Any] = []
        self.proxy_settings: ProxySettings | None = None
        self.proxy: Proxy | None = None

    def startService(self) -> None:
        """Listen for the backend, then for the proxy.

        @raise twisted.internet.error.CannotListenError: at once when the
            proxy cannot listen.
        """
        super().startService()
        backend = self._reactor.listenTCP(0, demo_site(self._reactor), interface="127.0.0.1")
        self._ports.append(backend)
        self.proxy_settings = evolve(
            self._settings, backend=f"tcp:host=127.0.0.1:port={backend.getHost().port}"
        )
        endpoint = serverFromString(self._reactor, self.proxy_settings.listen)
        factory = ProxyFactory(self.proxy_settings, self._reactor)
        self.proxy = factory.proxy
        listening = endpoint.listen(factory)
        failures: list[Failure] = []
        listening.addCallbacks(self._proxy_listening, failures.append)
        if failures:
            backend.stopListening()
            self._ports.clear()
            failures[0].raiseException()

    def stopService(self):
        """Stop listening, for the proxy and the backend."""
        super().stopService()
        ports, self._ports = self._ports, []
        return gatherResults([port.stopListening() for port in ports])

    def _proxy_listening(self, port: Any) -> None:
        self._ports.append(port)
        url = _base_url(port.getHost())
        shares = ", ".join(f"{e.percent}% {e.name}" for e in self._settings.handlers)
        self.log.info(
            "Vaurien demo: the proxy at {url} forwards to the demo backend at"
            " {backend} ({shares}).",
            url=url,
            backend=self.proxy_settings.backend,
            shares=shares,
        )
        for path in ("", "json", "slow"):
            self.log.info("try: curl -i {url}/{path}", url=url, path=path)


def _base_url(address: Any) -> str:
    """The C{curl} arguments that reach the proxy listening at C{address}."""
    if isinstance(address, UNIXAddress):
        return f"--unix-socket {os.fsdecode(address.name)} http://localhost"
    if isinstance(address, IPv6Address):
        host = "::1" if address.host == "::" else address.host
        return f"http://[{host}]:{address.port}"
    if isinstance(address, IPv4Address):
        host = "127.0.0.1" if address.host == "0.0.0.0" else address.host
        return f"http://{host}:{address.port}"
    return f"http://{address}"
