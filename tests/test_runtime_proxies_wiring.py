"""Proxies added at run time are real Vaurien proxies: made through
Toxiproxy's API (makeService with C{toxiproxy_api}), the native API lists
them, counts them in C{/stats} and C{/metrics}, and takes them down and
back (C{PUT /proxies/NAME/enabled}, C{vaurienctl enable|disable})."""
from __future__ import annotations

from typing import Any

from attrs import evolve
from twisted.internet import reactor
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.control_site import HTTP
from tests.proxying import Collector, connect, echo_backend, entries, proxy_settings
from tests.servers import free_port
from tests.test_control_client import run_ctl
from tests.test_running import busy_port
from tests.test_service import echoed
from vaurien.config import AddedProxy, Settings, added_proxy
from vaurien.control.api import control_site
from vaurien.running import RunningProxies
from vaurien.service import makeService


class WiringTests(TestCase):
    def setUp(self) -> None:
        native, toxiproxy = free_port(), free_port()
        self.configured = proxy_settings(echo_backend(self))
        settings = Settings(proxies=(self.configured,), http=True, http_port=native,
                            toxiproxy_api=f"tcp:{toxiproxy}:interface=127.0.0.1")
        self.service = makeService(settings)
        self.service.startService()
        self.addCleanup(self.service.stopService)
        self.native_root = f"http://127.0.0.1:{native}"
        self.native = HTTP(self, self.native_root)
        self.toxiproxy = HTTP(self, f"http://127.0.0.1:{toxiproxy}")

    async def added(self, name: str = "added") -> int:
        """Add a proxy through Toxiproxy's API; its port."""
        answer = await self.toxiproxy.request("POST", "/proxies", {
            "name": name, "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{echo_backend(self)}"})
        self.assertEqual(answer.code, 201, answer.body)
        return int(answer.json()["listen"].rsplit(":", 1)[1])

    async def native_json(self, method: str, path: str, body: Any = None,
                          status: int = 200) -> Any:
        answer = await self.native.request(method, path, body)
        self.assertEqual(answer.code, status, answer.body)
        return answer.json()

    async def test_toxiproxy_lists_the_configured_proxies_too(self):
        answer = await self.toxiproxy.request("GET", "/proxies")
        self.assertEqual(list(answer.json()), ["test"])
        self.assertRegex(answer.json()["test"]["listen"], r"^127\.0\.0\.1:[1-9]\d*$")

    async def test_the_native_api_stats_and_metrics_see_added_proxies(self):
        port = await self.added()
        await echoed(port, b"counted")
        self.assertEqual(await self.native_json("GET", "/proxies"), {"proxies": ["test", "added"]})
        stats = await self.native_json("GET", "/stats")
        self.assertEqual(stats["proxies"]["added"]["connections"]["total"], 1)
        self.assertEqual(await self.native_json("GET", "/proxies/added/behavior"),
                         {"behavior": "dummy"})
        metrics = (await self.native.request("GET", "/metrics")).body.decode()
        totals = {tuple(sorted(sample.labels.items())): sample.value
                  for family in text_string_to_metric_families(metrics)
                  for sample in family.samples if sample.name == "vaurien_connections_total"}
        self.assertEqual(totals[(("protocol", "tcp"), ("proxy", "added"))], 1)

    async def test_a_removed_proxy_leaves_the_native_api(self):
        await self.added()
        await self.toxiproxy.request("DELETE", "/proxies/added")
        self.assertEqual(await self.native_json("GET", "/proxies"), {"proxies": ["test"]})
        await self.native_json("GET", "/proxies/added/behavior", status=404)

    async def test_native_enabled_switch(self):
        port = await self.added()
        client = Collector()
        await connect(port, client)
        self.assertEqual(await self.native_json("GET", "/proxies/added/enabled"), {"enabled": True})
        self.assertEqual(await self.native_json("PUT", "/proxies/added/enabled", {"enabled": False}),
                         {"enabled": False})
        await client.ended
        await self.assertFailure(connect(port, Collector()), ConnectionRefusedError)
        shown = (await self.toxiproxy.request("GET", "/proxies/added")).json()
        self.assertFalse(shown["enabled"])
        await self.native_json("PUT", "/proxies/added/enabled", {"enabled": True})
        self.assertEqual(await echoed(port, b"back"), b"back")

    async def test_native_enabled_refusals(self):
        await self.added()
        error = await self.native_json("PUT", "/proxies/added/enabled", {"enabled": "no"},
                                       status=400)
        self.assertEqual(error["errors"][0]["name"], "enabled")
        await self.native_json("PUT", "/proxies/nope/enabled", {"enabled": False}, status=404)

    async def test_native_enabled_on_a_taken_port_is_a_conflict(self):
        port = busy_port(self)
        answer = await self.toxiproxy.request("POST", "/proxies", {
            "name": "late", "listen": f"127.0.0.1:{port}", "upstream": "127.0.0.1:1",
            "enabled": False})
        self.assertEqual(answer.code, 201, answer.body)
        error = await self.native_json("PUT", "/proxies/late/enabled", {"enabled": True},
                                       status=409)
        self.assertIn("cannot listen", error["errors"][0]["description"])
        self.assertEqual(await self.native_json("GET", "/proxies/late/enabled"), {"enabled": False})

    async def test_vaurienctl_enable_and_disable(self):
        port = await self.added()
        argv = ["--url", self.native_root, "--proxy", "added"]
        self.assertEqual(await deferToThread(run_ctl, [*argv, "disable"]), (0, "disabled\n", ""))
        await self.assertFailure(connect(port, Collector()), ConnectionRefusedError)
        self.assertEqual(await deferToThread(run_ctl, [*argv, "enable"]), (0, "enabled\n", ""))
        self.assertEqual(await echoed(port, b"via ctl"), b"via ctl")


class DemoTests(TestCase):
    async def test_the_demo_proxy_cannot_be_taken_down(self):
        port = free_port()
        proxy = evolve(proxy_settings(9), backend="", handlers=entries("100:dummy"))
        service = makeService(Settings(proxies=(proxy,), demo=True, http=True, http_port=port))
        service.startService()
        self.addCleanup(service.stopService)
        answer = await HTTP(self, f"http://127.0.0.1:{port}").request(
            "PUT", "/proxies/test/enabled", {"enabled": False})
        self.assertEqual(answer.code, 404)
        self.assertIn("demo", answer.json()["errors"][0]["description"])


class WorkersTests(TestCase):
    async def test_with_workers_a_proxy_cannot_be_taken_down(self):
        running = RunningProxies()
        running.add(proxy_settings(9))
        running.startService()
        self.addCleanup(running.stopService)
        port = reactor.listenTCP(0, control_site(running.controls, None, object(), running),
                                 interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        answer = await HTTP(self, f"http://127.0.0.1:{port.getHost().port}").request(
            "PUT", "/proxies/test/enabled", {"enabled": False})
        self.assertEqual(answer.code, 409)
        self.assertIn("--workers", answer.json()["errors"][0]["description"])
        self.assertTrue(running.describe("test")["enabled"])


class ConfigFileProxiesTests(TestCase):
    async def test_the_config_files_proxies_are_running_and_listed(self):
        backend = f"127.0.0.1:{echo_backend(self)}"
        api = free_port()
        added = tuple(
            AddedProxy(added_proxy(name, "127.0.0.1:0", backend), "127.0.0.1:0", backend, enabled)
            for name, enabled in (("up", True), ("down", False)))
        service = makeService(Settings(proxies=(), added_proxies=added,
                                       toxiproxy_api=f"tcp:{api}:interface=127.0.0.1"))
        service.startService()
        self.addCleanup(service.stopService)
        listed = (await HTTP(self, f"http://127.0.0.1:{api}").request("GET", "/proxies")).json()
        self.assertEqual([(p["name"], p["enabled"]) for p in listed.values()],
                         [("up", True), ("down", False)])
        port = int(listed["up"]["listen"].rsplit(":", 1)[1])
        self.assertEqual(await echoed(port, b"from the file"), b"from the file")


class NoProxyYetTests(TestCase):
    async def test_the_native_api_runs_with_no_proxy(self):
        running = RunningProxies()
        port = reactor.listenTCP(0, control_site(running.controls, None, None, running),
                                 interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        http = HTTP(self, f"http://127.0.0.1:{port.getHost().port}")
        self.assertEqual((await http.request("GET", "/proxies")).json(), {"proxies": []})
        self.assertEqual((await http.request("GET", "/stats")).json(), {"proxies": {}})
        answer = await http.request("GET", "/behavior")
        self.assertEqual(answer.code, 404)
        self.assertIn("no proxy", answer.json()["errors"][0]["description"])
