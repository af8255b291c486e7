"""The counters of /metrics and /stats move as real traffic flows."""
from prometheus_client.parser import text_string_to_metric_families
from twisted.trial.unittest import TestCase

from tests.control_site import HTTP, serve
from tests.proxying import Collector, PayloadSender, connect, echo_backend
from vaurien.testing.trial import run_proxy


def samples(text: str) -> dict[tuple, float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


class MetricsTrafficTests(TestCase):
    async def test_counters_follow_traffic(self):
        running = run_proxy(self, f"127.0.0.1:{echo_backend(self)}", "100:dummy")
        http = HTTP(self, serve(self, {"main": running.proxy}))
        before = samples((await http.request("GET", "/metrics")).body.decode())
        for _ in range(3):
            client = Collector()
            await connect(running.port, client)
            PayloadSender(client.transport, b"x" * 1000)
            self.assertEqual(await client.ended, b"x" * 1000)
        after = samples((await http.request("GET", "/metrics")).body.decode())
        labels = (("protocol", "tcp"), ("proxy", "main"))
        total = ("vaurien_connections_total", labels)
        self.assertEqual(after[total] - before.get(total, 0), 3)
        sent = ("vaurien_bytes_total", (("direction", "to_backend"), *labels))
        self.assertEqual(after[sent] - before.get(sent, 0), 3000)
        stats = (await http.request("GET", "/stats")).json()["proxies"]["main"]
        self.assertEqual(stats["calls"], {"dummy": 3})
        self.assertEqual(stats["bytes"], {"to_backend": 3000, "to_client": 3000})
