"""Prometheus metrics of the proxies, read from their counters at scrape
time: nothing is counted twice, and nothing here runs per event."""
from __future__ import annotations

from typing import Iterator, Mapping

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from vaurien.interfaces import IProxyControl

_PROXY_LABELS = ["proxy", "protocol"]


class ProxyStatsCollector(Collector):
    """Turns each proxy's L{IProxyControl.stats} into metric families,
    labelled with the proxy's name and protocol.

    @ivar controls: proxy name to its control surface.
    """

    def __init__(self, controls: Mapping[str, IProxyControl]):
        self.controls = controls

    def collect(self) -> Iterator[Metric]:
        """Build every family from one reading of each proxy's counters."""
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
        for name, control in self.controls.items():
            stats = control.stats()
            labels = [name, stats["protocol"]]
            open_connections.add_metric(labels, stats["connections"]["open"])
            connections.add_metric(labels, stats["connections"]["total"])
            for handler, count in sorted(stats["calls"].items()):
                calls.add_metric(labels + [handler], count)
            for direction, count in sorted(stats["bytes"].items()):
                transferred.add_metric(labels + [direction], count)
            backend_failures.add_metric(labels, stats["backend_failures"])
            fallbacks.add_metric(labels, stats["fallbacks"])
        yield from (open_connections, connections, calls, transferred, backend_failures, fallbacks)


def metrics_registry(controls: Mapping[str, IProxyControl]) -> CollectorRegistry:
    """A registry of its own (not prometheus_client's global one) holding
    the metrics of C{controls}."""
    registry = CollectorRegistry()
    registry.register(ProxyStatsCollector(controls))
    return registry
