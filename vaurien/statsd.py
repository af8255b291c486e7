"""Sending the proxies' counters to statsd over UDP (C{[statsd]}).

Every second, L{StatsdService} reads each proxy's C{stats()} and sends
what each counter grew by since the last time, one datagram per metric:
C{PREFIX.PROXY.calls.delay:3|c}, C{PREFIX.PROXY.bytes.to_backend:512|c}.
The metric names are the keys of C{stats()} joined by dots; the number
of open connections, not a counter, goes as a gauge
(C{PREFIX.PROXY.connections.open:2|g}). With a C{sample_rate} under 1,
each counter is sent on that share of the seconds, marked C{|@RATE} so
that statsd scales it back, as statsd clients do.
"""
from __future__ import annotations

import random
import re
from typing import Any, Callable, Iterator, Mapping

from twisted.application.service import Service
from twisted.internet.abstract import isIPAddress, isIPv6Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.protocol import DatagramProtocol
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from vaurien.config import StatsdSettings
from vaurien.interfaces import IProxyControl

#: Seconds between two sendings.
INTERVAL = 1.0

#: The C{stats()} values that are levels, sent as gauges, not counters.
GAUGES = frozenset({"connections.open"})

_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")


def metric_values(stats: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, int | float]]:
    """The numbers of a C{stats()} mapping, by dotted name; words (the
    backend, the behaviour) are left out. Each name part keeps only
    letters, digits, C{_} and C{-}: others become C{_}.
    """
    for key, value in stats.items():
        name = path + _UNSAFE.sub("_", str(key))
        if isinstance(value, Mapping):
            yield from metric_values(value, name + ".")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield name, value


class StatsdService(Service):
    """Sends the counters of some proxies to one statsd server."""

    log = Logger()

    def __init__(
        self,
        settings: StatsdSettings,
        controls: Callable[[], Mapping[str, IProxyControl]],
        reactor: Any = None,
        clock: Any = None,
        chance: Callable[[], float] = random.random,
    ):
        """
        @param settings: where and how to send.
        @param controls: gives, once started, each proxy's name and control.
        @param reactor: the reactor for UDP (the global one if C{None}).
        @param clock: what the sending runs on (the reactor if C{None}).
        @param chance: a number in [0, 1), drawn for each counter when the
            sample rate is under 1.
        """
        if reactor is None:
            from twisted.internet import reactor
        self._settings = settings
        self._controls = controls
        self._reactor = reactor
        self._clock = reactor if clock is None else clock
        self._chance = chance
        self._sender = DatagramProtocol()
        self._port: Any = None
        self._address: tuple[str, int] | None = None
        self._last: dict[str, int | float] = {}
        self._loop = LoopingCall(self.send)
        self._loop.clock = self._clock

    def startService(self) -> None:
        """Resolve the statsd host, then send every L{INTERVAL} seconds."""
        super().startService()
        self._port = self._reactor.listenUDP(0, self._sender)
        host = self._settings.host
        resolved = succeed(host) if isIPAddress(host) or isIPv6Address(host) else (
            self._reactor.resolve(host)
        )
        resolved.addCallbacks(self._resolved, self._unresolved)

    def _resolved(self, ip: str) -> None:
        if not self.running:
            return
        self._address = (ip, self._settings.port)
        self._loop.start(INTERVAL, now=False)

    def _unresolved(self, failure: Any) -> None:
        self.log.error(
            "statsd: cannot resolve host {host!r}: {reason}; counters are not sent.",
            host=self._settings.host,
            reason=failure.getErrorMessage(),
        )

    def stopService(self) -> Deferred:
        """Send what grew since the last time, then stop."""
        super().stopService()
        if self._loop.running:
            self.send()
            self._loop.stop()
        port, self._port = self._port, None
        return succeed(None) if port is None else port.stopListening()

    def send(self) -> None:
        """Send each counter's growth since the last time, and the gauges."""
        if self._address is None or self._port is None:
            return
        prefix = self._settings.prefix
        for proxy, control in self._controls().items():
            for name, value in metric_values(control.stats(), f"{_UNSAFE.sub('_', proxy)}."):
                if name.partition(".")[2] in GAUGES:
                    self._write(f"{prefix}.{name}:{value}|g")
                    continue
                grown = value - self._last.get(name, 0)
                self._last[name] = value
                if grown > 0:
                    self._send_counter(f"{prefix}.{name}", grown)

    def _send_counter(self, name: str, grown: int | float) -> None:
        rate = self._settings.sample_rate
        if rate >= 1:
            self._write(f"{name}:{grown}|c")
        elif self._chance() < rate:
            self._write(f"{name}:{grown}|c|@{rate}")

    def _write(self, line: str) -> None:
        self._port.write(line.encode(), self._address)
