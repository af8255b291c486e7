"""makeService(): the proxies as one Twisted service, shared by the
C{vaurien} command and C{twistd vaurien}."""
from __future__ import annotations

from typing import Any

from twisted.application import strports
from twisted.application.service import MultiService

from vaurien.demo import DemoService
from vaurien.proxy import ProxyFactory
from vaurien.settings import Settings


def makeService(settings: Settings, reactor: Any = None) -> MultiService:
    """A service running every proxy of C{settings}.

    In demo mode each proxy comes with the demo backend it points at.
    Starting the service raises L{twisted.internet.error.CannotListenError}
    at once when a proxy cannot listen.

    @param settings: what L{vaurien.config} read.
    @param reactor: the reactor to run on (the global one if C{None}).
    """
    proxies = MultiService()
    for proxy in settings.proxies:
        if settings.demo:
            DemoService(proxy, reactor).setServiceParent(proxies)
        else:
            factory = ProxyFactory(proxy, reactor)
            strports.service(proxy.listen, factory, reactor).setServiceParent(proxies)
    return proxies
