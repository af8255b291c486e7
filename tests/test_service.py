"""makeService(): one listening proxy per ProxySettings, failing at once
when it cannot listen; the demo's proxy points at the demo backend."""
from __future__ import annotations

from attrs import evolve
from twisted.internet import reactor
from twisted.internet.error import CannotListenError
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import TestCase

from tests.proxying import Collector, connect, echo_backend, proxy_settings
from vaurien.settings import Settings
from vaurien.service import makeService


class MakeServiceTests(TestCase):
    async def test_proxies_to_the_backend(self):
        taken = reactor.listenTCP(0, Factory.forProtocol(Protocol), interface="127.0.0.1")
        port = taken.getHost().port
        await taken.stopListening()
        proxy = evolve(proxy_settings(echo_backend(self)), listen=f"tcp:{port}:interface=127.0.0.1")
        service = makeService(Settings(proxies=(proxy,)))
        service.startService()
        self.addCleanup(service.stopService)
        client = Collector()
        await connect(port, client)
        client.transport.write(b"through makeService")
        client.transport.loseWriteConnection()
        self.assertEqual(await client.ended, b"through makeService")

    def test_port_in_use_raises_at_start(self):
        taken = reactor.listenTCP(0, Factory.forProtocol(Protocol), interface="127.0.0.1")
        self.addCleanup(taken.stopListening)
        proxy = evolve(proxy_settings(9), listen=f"tcp:{taken.getHost().port}:interface=127.0.0.1")
        service = makeService(Settings(proxies=(proxy,)))
        self.assertRaises(CannotListenError, service.startService)

    async def test_demo_points_the_proxy_at_the_demo_backend(self):
        proxy = evolve(proxy_settings(9), backend="")
        service = makeService(Settings(proxies=(proxy,), demo=True))
        service.startService()
        self.addCleanup(service.stopService)
        demo = list(service)[0]
        self.assertRegex(demo.proxy_settings.backend, r"^tcp:host=127\.0\.0\.1:port=\d+$")
        self.assertEqual(demo.proxy_settings.handlers, proxy.handlers)
