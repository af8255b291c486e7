"""makeService(): one listening proxy per ProxySettings, failing at once
when it cannot listen; the demo's proxy points at the demo backend; the
control API and statsd when the settings ask for them."""
from __future__ import annotations

import json

from attrs import evolve
from twisted.internet import reactor
from twisted.internet.error import CannotListenError
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, readBody

from tests.proxying import Collector, connect, echo_backend, entries, proxy_settings
from tests.servers import free_port
from vaurien.config import Settings, StatsdSettings
from vaurien.service import ControlApiService, makeService
from vaurien.statsd import StatsdService


async def echoed(port: int, data: bytes) -> bytes:
    """Send C{data} to loopback C{port}, half-close, and return all that
    comes back."""
    client = Collector()
    await connect(port, client)
    client.transport.write(data)
    client.transport.loseWriteConnection()
    return await client.ended


class MakeServiceTests(TestCase):
    async def test_proxies_to_the_backend(self):
        taken = reactor.listenTCP(0, Factory.forProtocol(Protocol), interface="127.0.0.1")
        port = taken.getHost().port
        await taken.stopListening()
        proxy = evolve(proxy_settings(echo_backend(self)), listen=f"tcp:{port}:interface=127.0.0.1")
        service = makeService(Settings(proxies=(proxy,)))
        service.startService()
        self.addCleanup(service.stopService)
        self.assertEqual(await echoed(port, b"through makeService"), b"through makeService")

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


async def get_json(url: str) -> object:
    """GET C{url} over a real connection; the JSON body."""
    response = await Agent(reactor).request(b"GET", url.encode())
    return json.loads(await readBody(response))


class ControlAndStatsdWiringTests(TestCase):
    def start(self, settings: Settings):
        service = makeService(settings)
        service.startService()
        self.addCleanup(service.stopService)
        return service

    async def test_http_serves_the_api_of_every_proxy(self):
        port = free_port()
        first = proxy_settings(echo_backend(self))
        second = evolve(first, name="second", handlers=entries("100:delay"))
        self.start(Settings(proxies=(first, second), http=True, http_port=port))
        self.assertEqual(await get_json(f"http://127.0.0.1:{port}/proxies"), {"proxies": ["test", "second"]})
        self.assertEqual(
            await get_json(f"http://127.0.0.1:{port}/proxies/second/behavior"), {"behavior": "delay"}
        )

    async def test_http_in_demo_mode_drives_the_demo_proxy(self):
        port = free_port()
        proxy = evolve(proxy_settings(9), backend="", handlers=entries("20:delay"))
        self.start(Settings(proxies=(proxy,), demo=True, http=True, http_port=port))
        self.assertEqual(
            await get_json(f"http://127.0.0.1:{port}/behavior"), {"behavior": "20:delay,80:dummy"}
        )

    def test_api_listens_on_loopback_by_default(self):
        service = makeService(Settings(proxies=(proxy_settings(9),), http=True, http_port=8181))
        api = next(s for s in service if isinstance(s, ControlApiService))
        self.assertEqual(api.endpoint, "tcp:8181:interface=127.0.0.1")

    def test_api_port_in_use_raises_at_start(self):
        taken = reactor.listenTCP(0, Factory.forProtocol(Protocol), interface="127.0.0.1")
        self.addCleanup(taken.stopListening)
        settings = Settings(proxies=(proxy_settings(9),), http=True, http_port=taken.getHost().port)
        service = makeService(settings)
        self.addCleanup(service.stopService)
        self.assertRaises(CannotListenError, service.startService)

    def test_statsd_only_when_enabled(self):
        proxies = (proxy_settings(9),)
        self.assertFalse([s for s in makeService(Settings(proxies=proxies)) if isinstance(s, StatsdService)])
        enabled = Settings(proxies=proxies, statsd=StatsdSettings(enabled=True))
        self.assertTrue([s for s in makeService(enabled) if isinstance(s, StatsdService)])
