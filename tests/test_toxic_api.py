"""The control API's toxic routes: list, add, read, change, remove (with a
ttl), every refusal as a 4xx JSON body, and each change made in the
workers too."""
from __future__ import annotations

from twisted.internet import reactor
from twisted.internet.defer import Deferred

from tests.control_site import HTTP
from tests.test_control_api import ControlAPITestCase, FakeWorkers
from vaurien.control.api import control_site
from vaurien.control.channel import obey, toxic_command


class ToxicRouteTests(ControlAPITestCase):
    async def test_add_list_read_change_remove(self):
        toxic = await self.json("POST", "/toxics", {"type": "latency", "attributes": {"latency": 50}})
        self.assertEqual(toxic, {"name": "latency_downstream", "type": "latency",
                                 "stream": "downstream", "toxicity": 1.0,
                                 "attributes": {"latency": 50, "jitter": 0}})
        await self.json("POST", "/proxies/a/toxics",
                        {"name": "thin", "type": "bandwidth", "stream": "upstream", "toxicity": 0.5})
        listed = await self.json("GET", "/toxics")
        self.assertEqual([t["name"] for t in listed["toxics"]], ["latency_downstream", "thin"])
        self.assertEqual(await self.json("GET", "/toxics/thin"), listed["toxics"][1])
        for method in ("PUT", "POST", "PATCH"):
            changed = await self.json(method, "/toxics/thin", {"attributes": {"rate": 7}})
        self.assertEqual((changed["attributes"], changed["toxicity"]), ({"rate": 7}, 0.5))
        changed = await self.json("PATCH", "/toxics/thin", {"toxicity": 0.25})
        self.assertEqual((changed["attributes"], changed["toxicity"]), ({"rate": 7}, 0.25))
        self.assertEqual(await self.json("DELETE", "/toxics/thin"), {"status": "ok"})
        self.assertEqual([t["name"] for t in self.proxies["a"].control.toxics()],
                         ["latency_downstream"])
        self.assertEqual(await self.json("DELETE", "/toxics"), {"status": "ok"})
        self.assertEqual(await self.json("GET", "/toxics"), {"toxics": []})

    async def test_each_proxy_has_its_own(self):
        await self.json("POST", "/proxies/b/toxics", {"type": "slicer"})
        self.assertEqual(await self.json("GET", "/toxics"), {"toxics": []})
        self.assertEqual(len((await self.json("GET", "/proxies/b/toxics"))["toxics"]), 1)

    async def test_ttl_on_the_proxy_clock(self):
        await self.json("POST", "/toxics", {"type": "latency", "ttl": 3})
        self.proxies["a"].clock.advance(3)
        self.assertEqual(await self.json("GET", "/toxics"), {"toxics": []})

    async def test_refusals(self):
        await self.json("POST", "/toxics", {"name": "slow", "type": "latency"})
        for status, method, path, body, field, saying in [
            (400, "POST", "/toxics", {}, "type", "give the toxic's type"),
            (400, "POST", "/toxics", {"type": "nosuch"}, "type", "unknown toxic 'nosuch'"),
            (400, "POST", "/toxics", {"type": "latency", "stream": "both"}, "stream", "'both'"),
            (400, "POST", "/toxics", {"type": "latency", "toxicity": 3}, "toxicity", "toxicity 3"),
            (400, "POST", "/toxics", {"type": "latency", "attributes": {"latency": -1}},
             "attributes", "must not be negative"),
            (400, "POST", "/toxics", {"type": "latency", "attributes": {"speed": 1}},
             "attributes", "unknown attribute 'speed'"),
            (400, "POST", "/toxics", {"type": "latency", "attributes": [1]},
             "attributes", "attributes is an object"),
            (400, "POST", "/toxics", {"type": "latency", "ttl": 0}, "ttl", "ttl"),
            (400, "POST", "/toxics", {"type": "latency", "colour": 1}, "colour", "unknown field"),
            (400, "POST", "/toxics", b"[", "body", "not JSON"),
            (409, "POST", "/toxics", {"name": "slow", "type": "bandwidth"}, "name", "exists"),
            (404, "GET", "/toxics/nope", None, "toxic", "no toxic 'nope'"),
            (404, "PATCH", "/toxics/nope", {"toxicity": 1}, "toxic", "no toxic 'nope'"),
            (404, "DELETE", "/toxics/nope", None, "toxic", "no toxic 'nope'"),
            (400, "PATCH", "/toxics/slow", {"attributes": {"jitter": -2}}, "attributes", "negative"),
            (400, "PATCH", "/toxics/slow", {"type": "bandwidth"}, "type", "unknown field"),
            (404, "GET", "/proxies/c/toxics", None, "proxy", "no proxy named 'c'"),
            (404, "GET", "/toxics/slow/more", None, "path", "no such route"),
            (405, "PUT", "/toxics", {}, "method", "PUT is not allowed"),
        ]:
            error = await self.refused(status, method, path, body)
            self.assertEqual(error["name"], field, error)
            self.assertIn(saying, error["description"])
        self.assertEqual(self.proxies["a"].control.toxics(), [{
            "name": "slow", "type": "latency", "stream": "downstream", "toxicity": 1.0,
            "attributes": {"latency": 0, "jitter": 0},
        }])


class ToxicWorkersTests(ControlAPITestCase):
    def setUp(self) -> None:
        super().setUp()
        self.workers = FakeWorkers()
        site = control_site({n: p.control for n, p in self.proxies.items()}, None, self.workers)
        port = reactor.listenTCP(0, site, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.http = HTTP(self, f"http://127.0.0.1:{port.getHost().port}")

    async def test_changes_reach_the_workers_and_a_worker_obeys_them(self):
        elsewhere = {"a": self._other_proxy().control}
        for method, path, body, answer_of in [
            ("POST", "/toxics", {"type": "latency", "ttl": 5}, None),
            ("PATCH", "/toxics/latency_downstream", {"attributes": {"latency": 9}}, None),
            ("DELETE", "/toxics/latency_downstream", None, {"status": "ok"}),
            ("DELETE", "/toxics", None, {"status": "ok"}),
        ]:
            answer = Deferred.fromCoroutine(self.http.request(method, path, body))
            command = await self.workers.asked
            self.assertEqual(command["proxy"], "a")
            obey(elsewhere, command)
            self.workers.answers[-1].callback([(1, 4242, None)])
            got = (await answer).json()
            if answer_of is not None:
                self.assertEqual(got, answer_of)
            self.assertEqual(elsewhere["a"].toxics(), self.proxies["a"].control.toxics())
        self.assertEqual(self.workers.commands[0], toxic_command(
            "a", "add_toxic", name="latency_downstream", type="latency", stream="downstream",
            toxicity=1.0, attributes=None, ttl=5))

    def _other_proxy(self):
        from tests.control_site import two_proxies

        return two_proxies()["a"]
