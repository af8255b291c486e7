"""Prometheus metrics of the proxies, made from their counters at scrape
time: nothing is counted twice, and nothing here runs per event."""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

_PROXY_LABELS = ["proxy", "protocol"]


class ProxyStatsCollector(Collector):
    """Turns one reading of each proxy's counters
    (L{vaurien.interfaces.IProxyControl.stats}, or their totals over the
    workers) into metric families, labelled with the proxy's name and
    protocol.

    @ivar stats: proxy name to its counters.
    """

    def __init__(self, stats: Mapping[str, Mapping[str, Any]]):
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        """Build every family from the reading."""
        open_connections = GaugeMetricFamily(
            "vaurien_connections_open", "Client connections open now", labels=_PROXY_LABELS
        )
        connections = CounterMetricFamily(
            "vaurien_connections", "Client connections accepted", labels=_PROXY_LABELS
        )
        calls = CounterMetricFamily(
            "vaurien_calls",
            "Calls (connections, for tcp) given to each handler",
            labels=_PROXY_LABELS + ["handler"],
        )
        transferred = CounterMetricFamily(
            "vaurien_bytes",
            "Bytes received from clients (to_backend) and from backends (to_client)",
            labels=_PROXY_LABELS + ["direction"],
        )
        backend_failures = CounterMetricFamily(
            "vaurien_backend_failures",
            "Backend connections that failed",
            labels=_PROXY_LABELS,
        )
        fallbacks = CounterMetricFamily(
            "vaurien_fallbacks",
            "Connections that stopped being framed and passed as plain TCP",
            labels=_PROXY_LABELS,
        )
        stuck_threads = GaugeMetricFamily(
            "vaurien_stuck_threads",
            "Worker threads still in a handler call whose connection timed out",
            labels=_PROXY_LABELS,
        )
        for name, stats in self.stats.items():
            labels = [name, stats["protocol"]]
            open_connections.add_metric(labels, stats["connections"]["open"])
            connections.add_metric(labels, stats["connections"]["total"])
            for handler, count in sorted(stats["calls"].items()):
                calls.add_metric(labels + [handler], count)
            for direction, count in sorted(stats["bytes"].items()):
                transferred.add_metric(labels + [direction], count)
            backend_failures.add_metric(labels, stats["backend_failures"])
            fallbacks.add_metric(labels, stats["fallbacks"])
            stuck_threads.add_metric(labels, stats["stuck_threads"])
        yield from (open_connections, connections, calls, transferred, backend_failures,
                    fallbacks, stuck_threads)


def metrics_text(stats: Mapping[str, Mapping[str, Any]]) -> bytes:
    """The metrics of C{stats} (proxy name to its counters) in Prometheus'
    text format, through a registry of their own (not prometheus_client's
    global one)."""
    registry = CollectorRegistry()
    registry.register(ProxyStatsCollector(stats))
    return generate_latest(registry)
