"""A proxy in the test's own process and reactor, for trial tests::

    async def test_retries(self):
        proxy = run_proxy(self, backend=f"127.0.0.1:{port}", handler="50:error")
        ... connect to proxy.port ...
        self.assertEqual(proxy.control.stats()["calls"]["error"], 3)

It listens on a free loopback port and stops with the test's cleanups.
"""
from __future__ import annotations

from typing import Any

from attrs import frozen

from vaurien.config import VaurienOptions
from vaurien.interfaces import IProxyControl
from vaurien.proxy import Proxy, ProxyFactory
from vaurien.testing import command_line

#: The interface test proxies listen on.
LOOPBACK = "127.0.0.1"


@frozen
class InProcessProxy:
    """A proxy running in the test's reactor.

    @ivar host: the host it listens on.
    @ivar port: the port it listens on.
    @ivar proxy: the L{Proxy} itself (its counters, its settings).
    """

    host: str
    port: int
    proxy: Proxy

    @property
    def address(self) -> str:
        """C{host:port}."""
        return f"{self.host}:{self.port}"

    @property
    def control(self) -> IProxyControl:
        """What the control API would see: set handlers, read counters."""
        return self.proxy.control


def run_proxy(
    test_case: Any,
    backend: str,
    handler: str = "100:dummy",
    protocol: str = "tcp",
    reactor: Any = None,
    clock: Any = None,
    **options: Any,
) -> InProcessProxy:
    """Run a proxy to C{backend} until C{test_case} ends.

    @param backend: C{host:port} or an endpoint string.
    @param handler: the handler shares (C{"20:delay,5:error"}).
    @param reactor: the reactor to listen on (the global one if C{None}).
    @param clock: what the proxy's timers run on (the reactor if C{None}).
    @param options: more C{vaurien} options (C{timeout=2},
        C{handler_delay_sleep=0.1}), checked as on the command line.
    @raise twisted.python.usage.UsageError: naming a wrong option.
    """
    if reactor is None:
        from twisted.internet import reactor
    parsed = VaurienOptions()
    parsed.parseOptions(
        ["--proxy", f"{LOOPBACK}:0", "--backend", backend, "--handler", handler,
         "--protocol", protocol, *command_line(options)]
    )
    settings = parsed.settings.proxies[0]
    factory = ProxyFactory(settings, reactor, clock)
    port = reactor.listenTCP(0, factory, backlog=settings.backlog, interface=LOOPBACK)
    test_case.addCleanup(port.stopListening)
    return InProcessProxy(LOOPBACK, port.getHost().port, factory.proxy)
