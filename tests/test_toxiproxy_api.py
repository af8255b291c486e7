"""Toxiproxy's API (vaurien/control/toxiproxy.py) over real loopback HTTP,
driving real running proxies: every route, its status and body, and
every error case with Toxiproxy's error body."""
from __future__ import annotations

from typing import Any

import redis

from twisted.internet import reactor
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.control_site import HTTP
from tests.proxying import Collector, connect, echo_backend
from tests.servers import free_port, start_redis
from tests.test_running import busy_port
from tests.test_service import echoed
from vaurien.control.toxiproxy import toxiproxy_site
from vaurien.running import RunningProxies


def port_of(proxy: dict[str, Any]) -> int:
    """The port a proxy object says it listens on."""
    return int(proxy["listen"].rsplit(":", 1)[1])


class ToxiproxyAPITestCase(TestCase):
    """Running proxies and Toxiproxy's API over them, on loopback."""

    def setUp(self) -> None:
        self.running = RunningProxies()
        self.running.startService()
        self.addCleanup(self.running.stopService)
        port = reactor.listenTCP(0, toxiproxy_site(self.running),
                                 interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.http = HTTP(self, f"http://127.0.0.1:{port.getHost().port}")
        self.backend = f"127.0.0.1:{echo_backend(self)}"

    async def json(self, status: int, method: str, path: str, body: Any = None) -> Any:
        """Send a request that must get C{status} and JSON; its body."""
        answer = await self.http.request(method, path, body)
        self.assertEqual(answer.code, status, answer.body)
        self.assertEqual(answer.header("content-type"), "application/json")
        return answer.json()

    async def empty(self, method: str, path: str, body: Any = None) -> None:
        """Send a request that must get a 204 with no body."""
        answer = await self.http.request(method, path, body)
        self.assertEqual((answer.code, answer.body), (204, b""))

    async def refused(self, status: int, method: str, path: str, body: Any = None) -> str:
        """Send a request that must get C{status} with Toxiproxy's error
        body; its message."""
        error = await self.json(status, method, path, body)
        self.assertEqual(set(error), {"error", "status"})
        self.assertEqual(error["status"], status)
        return error["error"]

    async def proxy(self, name: str = "echo", **given: Any) -> dict[str, Any]:
        """Create a proxy to the echo backend; its object."""
        body = {"name": name, "listen": "127.0.0.1:0", "upstream": self.backend, **given}
        return await self.json(201, "POST", "/proxies", body)


class ProxyRouteTests(ToxiproxyAPITestCase):
    async def test_version(self):
        self.assertIn("version", await self.json(200, "GET", "/version"))

    async def test_no_proxies_at_first(self):
        self.assertEqual(await self.json(200, "GET", "/proxies"), {})

    async def test_create_answers_the_proxy_with_its_real_port(self):
        created = await self.proxy()
        self.assertEqual(
            {key: created[key] for key in ("name", "upstream", "enabled", "toxics", "protocol")},
            {"name": "echo", "upstream": self.backend, "enabled": True, "toxics": [],
             "protocol": "tcp"})
        self.assertRegex(created["listen"], r"^127\.0\.0\.1:[1-9]\d*$")
        self.assertEqual(await echoed(port_of(created), b"through"), b"through")

    async def test_a_listen_address_with_a_port_is_echoed(self):
        listen = f"127.0.0.1:{free_port()}"
        self.assertEqual((await self.proxy(listen=listen))["listen"], listen)

    async def test_no_listen_address_means_a_free_loopback_port(self):
        created = await self.json(201, "POST", "/proxies", {"name": "p", "upstream": self.backend})
        self.assertRegex(created["listen"], r"^127\.0\.0\.1:[1-9]\d*$")

    async def test_created_disabled_it_does_not_listen(self):
        created = await self.proxy(enabled=False)
        self.assertFalse(created["enabled"])

    async def test_listed_and_shown(self):
        created = await self.proxy()
        self.assertEqual(await self.json(200, "GET", "/proxies"), {"echo": created})
        self.assertEqual(await self.json(200, "GET", "/proxies/echo"), created)

    async def test_a_protocol_may_be_named(self):
        self.assertEqual((await self.proxy(protocol="redis"))["protocol"], "redis")

    async def test_create_refusals(self):
        await self.proxy()
        cases = [
            (409, {"name": "echo", "upstream": self.backend}, "exists"),
            (400, {"upstream": self.backend}, "missing required field: name"),
            (400, {"name": "p"}, "missing required field: upstream"),
            (400, [], "expected a JSON object"),
            (400, b"{not json", "bad request body"),
            (400, {"name": "p", "upstream": "nowhere"}, "upstream 'nowhere'"),
            (400, {"name": "p", "upstream": self.backend, "protocol": "os.system"}, "protocol"),
            (400, {"name": "p", "upstream": self.backend, "enabled": "yes"}, "enabled"),
        ]
        for status, body, words in cases:
            self.assertIn(words, await self.refused(status, "POST", "/proxies", body))
        self.assertEqual(list(await self.json(200, "GET", "/proxies")), ["echo"])

    async def test_a_busy_port_is_a_conflict_and_adds_nothing(self):
        port = busy_port(self)
        message = await self.refused(409, "POST", "/proxies", {
            "name": "p", "listen": f"127.0.0.1:{port}", "upstream": self.backend})
        self.assertIn(f"cannot listen on 127.0.0.1:{port}", message)
        self.assertEqual(await self.json(200, "GET", "/proxies"), {})

    async def test_disabled_it_closes_connections_and_stops_listening(self):
        created = await self.proxy()
        client = Collector()
        await connect(port_of(created), client)
        updated = await self.json(200, "POST", "/proxies/echo", {"enabled": False})
        self.assertFalse(updated["enabled"])
        await client.ended
        await self.assertFailure(connect(port_of(created), Collector()), ConnectionRefusedError)

        updated = await self.json(200, "PATCH", "/proxies/echo", {"enabled": True})
        self.assertEqual(updated, created)
        self.assertEqual(await echoed(port_of(created), b"back"), b"back")

    async def test_an_update_may_repeat_the_whole_object(self):
        created = await self.proxy()
        self.assertEqual(await self.json(200, "POST", "/proxies/echo", created), created)

    async def test_an_update_may_change_the_upstream(self):
        created = await self.proxy(upstream="127.0.0.1:1")
        updated = await self.json(200, "POST", "/proxies/echo", {"upstream": self.backend})
        self.assertEqual(updated["upstream"], self.backend)
        self.assertEqual(await echoed(port_of(created), b"new backend"), b"new backend")

    async def test_update_refusals(self):
        await self.proxy()
        port = busy_port(self)
        cases = [
            (400, {"name": "other"}, "name cannot change"),
            (400, {"enabled": 1}, "enabled"),
            (400, {"listen": 8000}, "listen must be a string"),
            (400, "text", "expected a JSON object"),
            (409, {"listen": f"127.0.0.1:{port}"}, "cannot listen"),
        ]
        for status, body, words in cases:
            self.assertIn(words, await self.refused(status, "POST", "/proxies/echo", body))

    async def test_delete(self):
        created = await self.proxy()
        await self.empty("DELETE", "/proxies/echo")
        self.assertEqual(await self.json(200, "GET", "/proxies"), {})
        await self.assertFailure(connect(port_of(created), Collector()), ConnectionRefusedError)

    async def test_an_unknown_proxy_is_not_found(self):
        for method, path in [("GET", "/proxies/nope"), ("POST", "/proxies/nope"),
                             ("PATCH", "/proxies/nope"), ("DELETE", "/proxies/nope"),
                             ("GET", "/proxies/nope/toxics"), ("POST", "/proxies/nope/toxics"),
                             ("GET", "/proxies/nope/toxics/t"),
                             ("DELETE", "/proxies/nope/toxics/t")]:
            body = {"type": "latency"} if method in ("POST", "PATCH") else None
            self.assertIn("nope", await self.refused(404, method, path, body))

    async def test_unknown_routes_and_methods(self):
        await self.refused(404, "GET", "/nothing")
        self.assertIn("allowed: GET, POST", await self.refused(405, "PUT", "/proxies"))


class PopulateTests(ToxiproxyAPITestCase):
    async def test_creates_each_proxy_enabled_unless_said(self):
        answer = await self.json(201, "POST", "/populate", [
            {"name": "one", "listen": "127.0.0.1:0", "upstream": self.backend},
            {"name": "two", "listen": "127.0.0.1:0", "upstream": self.backend, "enabled": False},
        ])
        self.assertEqual([(p["name"], p["enabled"]) for p in answer["proxies"]],
                         [("one", True), ("two", False)])
        self.assertEqual(await echoed(port_of(answer["proxies"][0]), b"one"), b"one")

    async def test_an_equal_entry_leaves_the_proxy_untouched(self):
        created = await self.proxy()
        client = Collector()
        await connect(port_of(created), client)
        entry = {key: created[key] for key in ("name", "listen", "upstream")}
        answer = await self.json(201, "POST", "/populate", [entry])
        self.assertEqual(answer, {"proxies": [created]})
        client.transport.write(b"still open")
        client.transport.loseWriteConnection()
        self.assertEqual(await client.ended, b"still open")

    async def test_a_changed_entry_replaces_the_proxy(self):
        await self.proxy(upstream="127.0.0.1:1")
        answer = await self.json(201, "POST", "/populate", [
            {"name": "echo", "listen": "127.0.0.1:0", "upstream": self.backend}])
        [replaced] = answer["proxies"]
        self.assertEqual(replaced["upstream"], self.backend)
        self.assertEqual(await echoed(port_of(replaced), b"replaced"), b"replaced")

    async def test_refusals_add_nothing(self):
        port = busy_port(self)
        good = {"name": "good", "listen": "127.0.0.1:0", "upstream": self.backend}
        cases = [
            (400, {"name": "x"}, "expected a list"),
            (400, [good, {"name": "bad"}], "missing required field: upstream"),
            (400, [good, good], "named twice"),
            (409, [good, {"name": "busy", "listen": f"127.0.0.1:{port}",
                          "upstream": self.backend}], "cannot listen"),
        ]
        for status, body, words in cases:
            self.assertIn(words, await self.refused(status, "POST", "/populate", body))
            self.assertEqual(await self.json(200, "GET", "/proxies"), {})


class ResetTests(ToxiproxyAPITestCase):
    async def test_removes_every_toxic_and_enables_every_proxy(self):
        created = await self.proxy()
        await self.proxy("down", enabled=False)
        await self.json(200, "POST", "/proxies/echo/toxics", {"type": "latency"})
        await self.json(200, "POST", "/proxies/echo/toxics", {"type": "error", "toxicity": 0.5})
        await self.empty("POST", "/reset")
        proxies = await self.json(200, "GET", "/proxies")
        self.assertEqual([(p["enabled"], p["toxics"]) for p in proxies.values()],
                         [(True, []), (True, [])])
        self.assertEqual(proxies["echo"], created)
        self.assertEqual(self.running.controls["echo"].behavior(), "dummy")


class ToxicRouteTests(ToxiproxyAPITestCase):
    async def test_add_answers_the_whole_toxic_with_defaults(self):
        await self.proxy()
        toxic = await self.json(200, "POST", "/proxies/echo/toxics",
                                {"type": "latency", "attributes": {"latency": 100}})
        self.assertEqual(toxic, {"name": "latency_downstream", "type": "latency",
                                 "stream": "downstream", "toxicity": 1.0,
                                 "attributes": {"latency": 100, "jitter": 0}})
        self.assertEqual(await self.json(200, "GET", "/proxies/echo/toxics"), [toxic])
        self.assertEqual(await self.json(200, "GET", "/proxies/echo/toxics/latency_downstream"),
                         toxic)
        self.assertEqual((await self.json(200, "GET", "/proxies/echo"))["toxics"], [toxic])

    async def test_add_with_every_field(self):
        await self.proxy()
        body = {"name": "slow", "type": "bandwidth", "stream": "upstream", "toxicity": 0.5,
                "attributes": {"rate": 10}}
        self.assertEqual(await self.json(200, "POST", "/proxies/echo/toxics", body), body)

    async def test_add_refusals(self):
        await self.proxy()
        await self.json(200, "POST", "/proxies/echo/toxics", {"type": "latency"})
        cases = [
            (409, {"type": "latency"}, "exists"),
            (400, {"type": "no_such_type"}, "type"),
            (400, {"type": "latency", "name": "x", "stream": "sideways"}, "stream was invalid"),
            (400, {"attributes": {}}, "missing required field: type"),
            (400, {"type": "latency", "name": "y", "toxicity": 1.5}, "toxicity"),
            (400, {"type": "latency", "name": "z", "attributes": {"nope": 1}}, "nope"),
            (400, {"type": "latency", "name": "w", "attributes": [1]}, "attributes"),
            (400, b"[", "bad request body"),
        ]
        for status, body, words in cases:
            self.assertIn(words, await self.refused(status, "POST", "/proxies/echo/toxics", body))
        self.assertEqual(len(await self.json(200, "GET", "/proxies/echo/toxics")), 1)

    async def test_update_merges_attributes_and_toxicity(self):
        await self.proxy()
        await self.json(200, "POST", "/proxies/echo/toxics",
                        {"type": "latency", "attributes": {"latency": 100}})
        path = "/proxies/echo/toxics/latency_downstream"
        toxic = await self.json(200, "POST", path, {"attributes": {"jitter": 10}})
        self.assertEqual(toxic["attributes"], {"latency": 100, "jitter": 10})
        toxic = await self.json(200, "PATCH", path, {"toxicity": 0.25})
        self.assertEqual((toxic["toxicity"], toxic["attributes"]["jitter"]), (0.25, 10))
        self.assertEqual(await self.json(200, "POST", path, toxic), toxic)

    async def test_update_refusals(self):
        await self.proxy()
        toxic = await self.json(200, "POST", "/proxies/echo/toxics", {"type": "latency"})
        path = "/proxies/echo/toxics/latency_downstream"
        cases = [
            (400, {"type": "bandwidth"}, "type cannot change"),
            (400, {"stream": "upstream"}, "stream cannot change"),
            (400, {"toxicity": -1}, "toxicity"),
            (400, {"attributes": {"nope": 1}}, "nope"),
            (404, {"toxicity": 1}, "nope"),
        ]
        for status, body, words in cases:
            target = path if status != 404 else "/proxies/echo/toxics/nope"
            self.assertIn(words, await self.refused(status, "POST", target, body))
        self.assertEqual(await self.json(200, "GET", path), toxic)

    async def test_remove(self):
        await self.proxy()
        await self.json(200, "POST", "/proxies/echo/toxics", {"type": "latency"})
        await self.empty("DELETE", "/proxies/echo/toxics/latency_downstream")
        self.assertEqual(await self.json(200, "GET", "/proxies/echo/toxics"), [])
        await self.refused(404, "DELETE", "/proxies/echo/toxics/latency_downstream")
        await self.refused(404, "GET", "/proxies/echo/toxics/latency_downstream")

    async def test_toxics_are_kept_while_disabled(self):
        await self.proxy()
        toxic = await self.json(200, "POST", "/proxies/echo/toxics", {"type": "latency"})
        await self.json(200, "POST", "/proxies/echo", {"enabled": False})
        await self.json(200, "POST", "/proxies/echo", {"enabled": True})
        self.assertEqual(await self.json(200, "GET", "/proxies/echo/toxics"), [toxic])


class HandlerToxicTests(ToxiproxyAPITestCase):
    """Vaurien's handlers as extra toxic types: a share of the calls."""

    async def test_toxicity_is_the_share_of_calls(self):
        await self.proxy(protocol="redis")
        control = self.running.controls["echo"]
        toxic = await self.json(200, "POST", "/proxies/echo/toxics",
                                {"type": "error", "toxicity": 0.2})
        self.assertEqual((toxic["name"], toxic["type"], toxic["toxicity"]),
                         ("error_downstream", "error", 0.2))
        self.assertEqual(control.behavior(), "20:error,80:dummy")
        await self.json(200, "POST", "/proxies/echo/toxics/error_downstream", {"toxicity": 0.5})
        self.assertEqual(control.behavior(), "50:error,50:dummy")
        await self.empty("DELETE", "/proxies/echo/toxics/error_downstream")
        self.assertEqual(control.behavior(), "dummy")

    async def test_attributes_are_the_handlers_options(self):
        await self.proxy()
        toxic = await self.json(200, "POST", "/proxies/echo/toxics",
                                {"type": "delay", "attributes": {"sleep": 0.5}})
        self.assertEqual(toxic["attributes"]["sleep"], 0.5)
        self.assertIn("before", toxic["attributes"])
        self.assertEqual(self.running.controls["echo"].behavior_options()["delay"]["sleep"], 0.5)

    async def test_several_handlers_share_the_calls(self):
        await self.proxy()
        await self.json(200, "POST", "/proxies/echo/toxics", {"type": "error", "toxicity": 0.2})
        await self.json(200, "POST", "/proxies/echo/toxics", {"type": "delay", "toxicity": 0.1})
        self.assertEqual(self.running.controls["echo"].behavior(), "20:error,10:delay,70:dummy")

    async def test_refusals_change_nothing(self):
        await self.proxy()
        await self.json(200, "POST", "/proxies/echo/toxics", {"type": "error", "toxicity": 0.8})
        self.assertIn("100", await self.refused(400, "POST", "/proxies/echo/toxics",
                                                {"type": "delay", "toxicity": 0.5}))
        self.assertIn("nope", await self.refused(400, "POST", "/proxies/echo/toxics",
                                                 {"type": "hang", "attributes": {"nope": 1}}))
        self.assertEqual(self.running.controls["echo"].behavior(), "80:error,20:dummy")
        self.assertEqual(len(await self.json(200, "GET", "/proxies/echo/toxics")), 1)


class RedisHandlerToxicTests(ToxiproxyAPITestCase):
    """A Toxiproxy client gets Vaurien's protocol-native faults: an C{error}
    toxic on a redis proxy answers C{-ERR} per command, and the connection
    goes on."""

    async def test_error_toxic_on_a_redis_proxy(self):
        backend = start_redis(self)
        created = await self.proxy(protocol="redis", upstream=f"127.0.0.1:{backend}")
        client = redis.Redis(host="127.0.0.1", port=port_of(created), socket_timeout=10)
        self.addCleanup(client.close)
        await deferToThread(client.set, "key", "value")
        await self.json(200, "POST", "/proxies/echo/toxics", {"type": "error"})
        await self.assertFailure(deferToThread(client.get, "key"), redis.ResponseError)
        await self.empty("DELETE", "/proxies/echo/toxics/error_downstream")
        self.assertEqual(await deferToThread(client.get, "key"), b"value")
