"""The control API over real loopback HTTP, driving real proxies."""
from __future__ import annotations

import os
import sys
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from twisted.internet import reactor
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import deferLater
from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.trial.unittest import TestCase
from twisted.web.iweb import UNKNOWN_LENGTH, IBodyProducer
from zope.interface import implementer

from tests.control_site import HTTP, Answer, serve, two_proxies
from vaurien.control.answers import MAX_BODY
from vaurien.control.api import control_site
from vaurien.control.channel import STATS, WorkerError, backend_command, behavior_command


@implementer(IBodyProducer)
class ChunkedBody:
    """A body of unknown length: the Agent sends it chunked, without a
    Content-Length."""

    length = UNKNOWN_LENGTH

    def __init__(self, body: bytes):
        self.body = body

    def startProducing(self, consumer: Any) -> Any:
        consumer.write(self.body)
        return succeed(None)

    def stopProducing(self) -> None:
        """Nothing to stop: all is written at once."""

    def pauseProducing(self) -> None:
        """Nothing to pause: all is written at once."""

    def resumeProducing(self) -> None:
        """Nothing to resume: all is written at once."""


def labels(**given: str) -> tuple[tuple[str, str], ...]:
    """Sample labels as L{RouteTests.scrape} keys them."""
    return tuple(sorted(given.items()))


class ControlAPITestCase(TestCase):
    """Proxies C{a} and C{b} (C{a} the default) and their API on loopback."""

    token: str | None = None

    def setUp(self) -> None:
        self.proxies = two_proxies()
        self.http = HTTP(self, serve(self, self.proxies, self.token))

    async def refused(self, status: int, method: str, path: str, body: Any = None,
                      headers: dict[str, str] | None = None) -> dict[str, Any]:
        """Send a request that must get C{status} with the original's error
        shape; its one error entry."""
        answer = await self.http.request(method, path, body, headers)
        self.assertEqual(answer.code, status, answer.body)
        self.assertEqual(answer.header("content-type"), "application/json")
        self.assertEqual(answer.json()["status"], "error")
        [error] = answer.json()["errors"]
        self.assertEqual(set(error), {"location", "name", "description"})
        return error

    async def json(self, method: str, path: str, body: Any = None) -> Any:
        """Send a request that must succeed; its JSON answer."""
        answer = await self.http.request(method, path, body)
        self.assertEqual((answer.code, answer.header("content-type")),
                         (200, "application/json"), answer.body)
        return answer.json()


class RouteTests(ControlAPITestCase):
    async def test_get_behavior_and_handler(self):
        self.assertEqual(await self.json("GET", "/behavior"), {"behavior": "dummy"})
        self.assertEqual(await self.json("GET", "/handler"), {"handler": "dummy"})

    async def test_put_and_post_set_one_handler_with_its_options(self):
        for method, path in (("PUT", "/behavior"), ("POST", "/behavior"),
                             ("PUT", "/handler"), ("POST", "/handler")):
            sleep = len(path) + len(method)
            answer = await self.json(method, path, {"name": "delay", "sleep": sleep})
            self.assertEqual(answer, {"status": "ok"})
            slot = self.proxies["a"].choose()
            self.assertEqual((slot.name, slot.handler.option("sleep")), ("delay", sleep))
        self.assertEqual(await self.json("GET", "/behavior"), {"behavior": "delay"})

    async def test_shares_with_options_by_handler(self):
        body = {"name": "20:delay,5:error", "delay": {"sleep": 1.5}}
        self.assertEqual(await self.json("PUT", "/behavior", body), {"status": "ok"})
        self.assertEqual(await self.json("GET", "/behavior"),
                         {"behavior": "20:delay,5:error,75:dummy"})
        delay = self.proxies["a"].handler_entries[0]
        self.assertEqual((delay.name, delay.options["sleep"]), ("delay", 1.5))

    async def test_list_behaviors_and_handlers(self):
        behaviors = (await self.json("GET", "/behaviors"))["behaviors"]
        self.assertTrue({"dummy", "delay", "error", "hang", "blackout"} <= set(behaviors))
        self.assertEqual(await self.json("GET", "/handlers"), {"handlers": behaviors})

    async def test_backend(self):
        self.assertEqual(await self.json("GET", "/backend"),
                         {"backend": "tcp:host=127.0.0.1:port=1"})
        self.assertEqual(await self.json("PUT", "/backend", {"backend": "127.0.0.1:6380"}),
                         {"status": "ok"})
        self.assertEqual(self.proxies["a"].backend, "tcp:host=127.0.0.1:port=6380")
        self.assertEqual(await self.json("GET", "/backend"),
                         {"backend": "tcp:host=127.0.0.1:port=6380"})

    async def test_proxies_are_listed_in_order(self):
        self.assertEqual(await self.json("GET", "/proxies"), {"proxies": ["a", "b"]})

    async def test_two_proxies_are_controlled_independently(self):
        await self.json("PUT", "/proxies/b/behavior", {"name": "error"})
        await self.json("PUT", "/proxies/a/handler", {"name": "hang"})
        await self.json("PUT", "/proxies/b/backend", {"backend": "127.0.0.1:9"})
        self.assertEqual(await self.json("GET", "/proxies/b/handler"), {"handler": "error"})
        self.assertEqual(await self.json("GET", "/behavior"), {"behavior": "hang"})
        self.assertEqual(self.proxies["a"].backend, "tcp:host=127.0.0.1:port=1")
        self.assertEqual(self.proxies["b"].choose().name, "error")
        self.assertEqual(await self.json("GET", "/proxies/b/behaviors"),
                         await self.json("GET", "/behaviors"))

    async def test_a_trailing_slash_is_the_same_route(self):
        self.assertEqual(await self.json("GET", "/proxies/b/behavior/"), {"behavior": "dummy"})

    async def test_ttl_returns_to_the_configured_handlers_on_the_clock(self):
        await self.json("PUT", "/proxies/b/behavior", {"name": "hang", "ttl": 5})
        await self.json("PUT", "/behavior", {"name": "error", "ttl": 50})
        self.proxies["b"].clock.advance(4.9)
        self.assertEqual(await self.json("GET", "/proxies/b/behavior"), {"behavior": "hang"})
        self.proxies["b"].clock.advance(0.2)
        self.assertEqual(await self.json("GET", "/proxies/b/behavior"), {"behavior": "dummy"})
        self.assertEqual(await self.json("GET", "/behavior"), {"behavior": "error"})

    async def test_stats_of_every_proxy_and_of_one(self):
        self.proxies["b"].choose()
        stats = await self.json("GET", "/stats")
        self.assertEqual(list(stats), ["proxies"])
        self.assertEqual(list(stats["proxies"]), ["a", "b"])
        self.assertEqual(stats["proxies"]["b"]["calls"], {"dummy": 1})
        self.assertEqual(stats["proxies"]["a"]["calls"], {})
        self.assertEqual(await self.json("GET", "/proxies/b/stats"), stats["proxies"]["b"])
        self.assertEqual(set(stats["proxies"]["a"]), {
            "behavior", "backend", "protocol", "calls", "connections", "bytes",
            "backend_failures", "fallbacks", "stuck_threads",
        })

    async def test_each_change_is_logged_at_info(self):
        with capturedLogs() as events:
            await self.json("PUT", "/proxies/b/behavior", {"name": "delay", "sleep": 1, "ttl": 9})
            await self.json("PUT", "/backend", {"backend": "127.0.0.1:7"})
        ours = [event for event in events if event["log_namespace"] == "vaurien.control.api"]
        self.assertEqual([event["log_level"] for event in ours], [LogLevel.info] * 2)
        behavior, backend = (formatEvent(event) for event in ours)
        self.assertIn("proxy b: handlers set to delay", behavior)
        self.assertIn("ttl 9", behavior)
        self.assertIn("proxy a: backend set to tcp:host=127.0.0.1:port=7", backend)

    async def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """GET /metrics, parsed: (sample name, sorted labels) to value."""
        answer: Answer = await self.http.request("GET", "/metrics")
        self.assertEqual(answer.code, 200)
        self.assertTrue(answer.header("content-type").startswith("text/plain"))
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.body.decode())
            for sample in family.samples
        }

    async def test_metrics_parse_and_move_with_the_counters(self):
        a = labels(protocol="tcp", proxy="a")
        before = await self.scrape()
        for name in ("vaurien_connections_open", "vaurien_connections_total",
                     "vaurien_backend_failures_total", "vaurien_fallbacks_total",
                     "vaurien_stuck_threads"):
            self.assertEqual(before[(name, a)], 0)
        self.assertEqual(before[("vaurien_bytes_total", labels(
            protocol="tcp", proxy="a", direction="to_backend"))], 0)
        proxy = self.proxies["a"]
        proxy.choose()
        proxy.choose()
        proxy.bytes_to_backend += 10
        proxy.bytes_to_client += 7
        proxy.backend_failed()
        proxy.fell_back()
        after = await self.scrape()
        self.assertEqual(after[("vaurien_calls_total", labels(
            protocol="tcp", proxy="a", handler="dummy"))], 2)
        for direction, count in (("to_backend", 10), ("to_client", 7)):
            self.assertEqual(after[("vaurien_bytes_total", labels(
                protocol="tcp", proxy="a", direction=direction))], count)
        self.assertEqual(after[("vaurien_backend_failures_total", a)], 1)
        self.assertEqual(after[("vaurien_fallbacks_total", a)], 1)
        self.assertEqual(after[("vaurien_backend_failures_total",
                                labels(protocol="tcp", proxy="b"))], 0)


class RefusalTests(ControlAPITestCase):
    async def test_bad_json_and_bodies_that_are_not_objects(self):
        for body in (b"{nope", b"[1, 2]", b'"delay"', b'{"name": "delay", "ttl": NaN}', b"\xff"):
            error = await self.refused(400, "PUT", "/behavior", body)
            self.assertEqual((error["location"], error["name"]), ("body", "body"))

    async def test_a_name_is_required_and_is_a_string(self):
        for body in ({}, {"sleep": 1}, {"name": 5}, {"name": " "}):
            error = await self.refused(400, "PUT", "/behavior", body)
            self.assertEqual((error["location"], error["name"]), ("body", "name"))

    async def test_unknown_handler_lists_the_registered_ones(self):
        error = await self.refused(400, "PUT", "/handler", {"name": "nosuch"})
        self.assertEqual(error["name"], "name")
        self.assertIn("delay, dummy, error", error["description"])
        error = await self.refused(400, "PUT", "/behavior", {"name": "20:delay,5:nosuch"})
        self.assertIn("'nosuch'", error["description"])
        self.assertEqual(await self.json("GET", "/behavior"), {"behavior": "dummy"})

    async def test_a_dotted_path_is_never_imported(self):
        probe = self.mktemp()
        os.makedirs(probe)
        with open(os.path.join(probe, "vaurien_api_probe.py"), "w") as module:
            module.write("class Handler:\n    name = 'probe'\n")
        sys.path.insert(0, probe)
        self.addCleanup(sys.path.remove, probe)
        for spec in ("vaurien_api_probe.Handler", "100:vaurien_api_probe.Handler"):
            error = await self.refused(400, "PUT", "/behavior", {"name": spec})
            self.assertEqual(error["name"], "name")
            self.assertIn("registered handlers", error["description"])
        self.assertNotIn("vaurien_api_probe", sys.modules)

    async def test_wrong_option_types_name_the_option(self):
        for body, field in (({"name": "delay", "sleep": "abc"}, "sleep"),
                            ({"name": "delay", "before": "maybe"}, "before"),
                            ({"name": "delay", "nope": 1}, "nope"),
                            ({"name": "20:delay", "delay": {"sleep": [1]}}, "sleep"),
                            ({"name": "20:delay,5:error", "sleep": 1}, "sleep")):
            error = await self.refused(400, "PUT", "/behavior", body)
            self.assertEqual((error["location"], error["name"]), ("body", field), error)

    async def test_ttl_must_be_positive(self):
        for ttl in (0, -1, "soon", [5]):
            error = await self.refused(400, "PUT", "/behavior", {"name": "hang", "ttl": ttl})
            self.assertEqual(error["name"], "ttl")
        self.assertEqual(await self.json("GET", "/behavior"), {"behavior": "dummy"})

    async def test_shares_over_100(self):
        error = await self.refused(400, "PUT", "/behavior", {"name": "60:delay,50:error"})
        self.assertEqual(error["name"], "name")
        self.assertIn("110%", error["description"])

    async def test_bodies_over_the_limit(self):
        padding = b" " * MAX_BODY
        for body in (b'{"name": "delay"}' + padding, ChunkedBody(b'{"name": "delay"}' + padding)):
            answer = await self.http.request("PUT", "/behavior", body)
            self.assertEqual(answer.code, 400)
            self.assertIn(str(MAX_BODY), answer.json()["errors"][0]["description"])
        body = b'{"name": "delay"}'
        self.assertEqual((await self.http.request("PUT", "/behavior", ChunkedBody(body))).code, 200)

    async def test_bad_backend(self):
        for body in ({"backend": "not an address"}, {}, {"backend": 5}):
            error = await self.refused(400, "PUT", "/backend", body)
            self.assertEqual((error["location"], error["name"]), ("body", "backend"))
        self.assertEqual(self.proxies["a"].backend, "tcp:host=127.0.0.1:port=1")

    async def test_unknown_routes_and_proxies(self):
        for path in ("/", "/nope", "/behavior/more", "/proxies/a/nope", "/proxies/a"):
            error = await self.refused(404, "GET", path)
            self.assertEqual((error["location"], error["name"]), ("url", "path"))
        error = await self.refused(404, "GET", "/proxies/zz/behavior")
        self.assertEqual(error["name"], "proxy")
        self.assertIn("a, b", error["description"])

    async def test_wrong_methods(self):
        for method, path, allowed in (("PATCH", "/behavior", "GET, PUT, POST, DELETE"),
                                      ("PUT", "/behavior/options", "GET"),
                                      ("PUT", "/behaviors", "GET"),
                                      ("POST", "/backend", "GET, PUT"),
                                      ("PUT", "/proxies/b/stats", "GET"),
                                      ("POST", "/metrics", "GET")):
            answer = await self.http.request(method, path, {"name": "delay"})
            self.assertEqual((answer.code, answer.header("allow")), (405, allowed))
            self.assertEqual(answer.json()["errors"][0]["name"], "method")


class TokenTests(ControlAPITestCase):
    token = "s3cret"

    async def test_every_route_needs_the_token(self):
        for headers in (None, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            for method, path in (("GET", "/behavior"), ("GET", "/metrics"), ("GET", "/nope")):
                error = await self.refused(401, method, path, headers=headers)
                self.assertEqual((error["location"], error["name"]), ("header", "Authorization"))
            await self.refused(401, "PUT", "/behavior", {"name": "hang"}, headers)
        self.assertEqual(self.proxies["a"].control.behavior(), "dummy")

    async def test_the_right_token_is_let_in(self):
        headers = {"Authorization": "Bearer s3cret"}
        answer = await self.http.request("PUT", "/behavior", {"name": "hang"}, headers)
        self.assertEqual(answer.json(), {"status": "ok"})
        answer = await self.http.request("GET", "/behavior", headers=headers)
        self.assertEqual(answer.json(), {"behavior": "hang"})

    async def test_a_refusal_asks_for_a_bearer_token(self):
        answer = await self.http.request("GET", "/behavior")
        self.assertEqual(answer.header("www-authenticate"), 'Bearer realm="vaurien"')


class FakeWorkers:
    """Workers as the API sees them: each broadcast is kept, and answered
    when the test says."""

    def __init__(self) -> None:
        self.commands: list[dict[str, Any]] = []
        self.answers: list[Deferred] = []
        self.asked: Deferred = Deferred()

    def broadcast(self, command: dict[str, Any]) -> Deferred:
        self.commands.append(command)
        self.answers.append(Deferred())
        asked, self.asked = self.asked, Deferred()
        asked.callback(command)
        return self.answers[-1]


class WorkersTests(ControlAPITestCase):
    """With --workers N: changes made in every worker before the answer,
    counters totalled over every process."""

    def setUp(self) -> None:
        self.proxies = two_proxies()
        self.workers = FakeWorkers()
        site = control_site({name: p.control for name, p in self.proxies.items()}, None, self.workers)
        port = reactor.listenTCP(0, site, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.http = HTTP(self, f"http://127.0.0.1:{port.getHost().port}")

    async def test_a_change_is_answered_once_every_worker_made_it(self):
        for path, body, command in (
            ("/proxies/b/behavior", {"name": "delay", "sleep": 2, "ttl": 9},
             behavior_command("b", "delay", {"delay": {"sleep": 2}}, 9)),
            ("/backend", {"backend": "127.0.0.1:6380"}, backend_command("a", "127.0.0.1:6380")),
        ):
            answer = Deferred.fromCoroutine(self.http.request("PUT", path, body))
            self.assertEqual(await self.workers.asked, command)
            await deferLater(reactor, 0.01)
            self.assertNoResult(answer)
            self.workers.answers[-1].callback([(1, 4242, None)])
            self.assertEqual(((await answer).code, (await answer).json()), (200, {"status": "ok"}))
        self.assertEqual(self.proxies["b"].control.behavior(), "delay")

    async def test_a_worker_failure_is_a_5xx_naming_it(self):
        answer = Deferred.fromCoroutine(self.http.request("POST", "/handler", {"name": "error"}))
        await self.workers.asked
        self.workers.answers[-1].errback(
            WorkerError("worker 2 (pid 4242)", "worker 2 (pid 4242) did not answer within 5 seconds"))
        error = (await answer).json()["errors"][0]
        self.assertEqual((await answer).code, 503)
        self.assertEqual((error["location"], error["name"]), ("worker", "worker 2 (pid 4242)"))
        self.assertIn("did not answer within 5 seconds; the change is in force in every other"
                      " process", error["description"])

    async def test_a_refused_change_reaches_no_worker(self):
        error = await self.refused(400, "PUT", "/behavior", {"name": "nosuch"})
        self.assertEqual(error["name"], "name")
        await self.refused(400, "PUT", "/backend", {"backend": "not an address"})
        self.assertEqual(self.workers.commands, [])

    def worker_stats(self) -> dict[str, Any]:
        stats = {name: proxy.control.stats() for name, proxy in self.proxies.items()}
        stats["a"]["calls"] = {"error": 3}
        stats["a"]["connections"] = {"open": 1, "total": 3}
        return stats

    async def test_stats_and_metrics_are_totalled_over_every_process(self):
        self.proxies["a"].choose()
        worker = self.worker_stats()
        for path in ("/stats", "/proxies/a/stats", "/metrics"):
            answer = Deferred.fromCoroutine(self.http.request("GET", path))
            self.assertEqual(await self.workers.asked, dict(STATS))
            self.workers.answers[-1].callback([(1, 4242, worker)])
            answer = await answer
            self.assertEqual(answer.code, 200, answer.body)
            if path == "/stats":
                stats = answer.json()
                self.assertEqual(stats["proxies"]["a"]["calls"], {"dummy": 1, "error": 3})
                self.assertEqual(stats["proxies"]["a"]["connections"], {"open": 1, "total": 3})
                self.assertEqual([(w["worker"], w["pid"]) for w in stats["workers"]],
                                 [(0, os.getpid()), (1, 4242)])
                self.assertEqual(stats["workers"][1]["proxies"], worker)
            elif path == "/proxies/a/stats":
                self.assertEqual(answer.json(), stats["proxies"]["a"])
            else:
                self.assertIn('vaurien_calls_total{handler="error",protocol="tcp",proxy="a"} 3.0',
                              answer.body.decode())

    async def test_counters_without_a_worker_are_a_503(self):
        answer = Deferred.fromCoroutine(self.http.request("GET", "/metrics"))
        await self.workers.asked
        self.workers.answers[-1].errback(
            WorkerError("worker 1 (pid 9)", "worker 1 (pid 9) is gone (killed by signal 9)"))
        error = (await answer).json()["errors"][0]
        self.assertEqual(((await answer).code, error["name"]), (503, "worker 1 (pid 9)"))
        self.assertIn("cannot be totalled without it", error["description"])

    async def test_reads_of_this_process_ask_no_worker(self):
        for path in ("/behavior", "/behaviors", "/backend", "/proxies"):
            await self.json("GET", path)
        self.assertEqual(self.workers.commands, [])
