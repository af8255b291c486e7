"""Validated, immutable settings: what L{vaurien.config} produces from the
INI file and the command line, and what the proxy and the service read.

Nothing deep inside the proxy reads raw strings: every value here has
already been converted and checked.
"""
from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any, Mapping

from attrs import field, frozen


def _frozen_mapping(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@frozen
class Targets:
    """Which framed requests a handler entry applies to; other requests
    get C{dummy}. Empty criteria match everything.

    @ivar commands: Redis or memcache commands, upper case (C{b"GET"}).
    @ivar methods: HTTP methods, upper case (C{b"POST"}).
    @ivar paths: a regular expression searched in the HTTP request target.
    """

    commands: frozenset[bytes] = frozenset()
    methods: frozenset[bytes] = frozenset()
    paths: re.Pattern[bytes] | None = None

    def matches(self, request: Any) -> bool:
        """Whether the framed C{request} is one this entry applies to."""
        if self.commands and request.command not in self.commands:
            return False
        if self.methods and request.command not in self.methods:
            return False
        if self.paths is not None:
            return request.target is not None and self.paths.search(request.target) is not None
        return True


@frozen
class HandlerEntry:
    """One entry of C{--handler 20:delay,5:error}.

    @ivar percent: share of the calls, 0 to 100.
    @ivar name: the name the entry is known by (counters, logs, the API).
    @ivar handler_class: the class providing L{vaurien.interfaces.IHandler}.
    @ivar options: every option of the handler, defaults filled in.
    @ivar targets: the requests it applies to (framed protocols).
    """

    percent: int
    name: str
    handler_class: type
    options: Mapping[str, Any] = field(converter=_frozen_mapping, factory=dict)
    targets: Targets = Targets()

    def label(self, every_option: bool = False) -> str:
        """C{20:delay(sleep=2.0)}: share, name, and the options that differ
        from their defaults (or C{every_option}), then the targets."""
        declared = self.handler_class.options
        shown = [
            f"{name}={value}" for name, value in self.options.items()
            if every_option or name not in declared or value != declared[name][2]
        ]
        for key, values in (("commands", self.targets.commands),
                            ("methods", self.targets.methods)):
            if values:
                shown.append(f"{key}={'|'.join(sorted(v.decode() for v in values))}")
        if self.targets.paths is not None:
            shown.append(f"paths={self.targets.paths.pattern.decode()}")
        return f"{self.percent}:{self.name}" + (f"({','.join(shown)})" if shown else "")


def handlers_label(entries: Any, every_option: bool = False) -> str:
    """The handler entries as one would write them: C{20:delay(sleep=2.0),80:dummy}."""
    return ",".join(entry.label(every_option) for entry in entries)


@frozen
class ToxicEntry:
    """One toxic of a proxy: C{--toxic NAME:TYPE[:STREAM[:TOXICITY]]},
    a C{[toxic:NAME]} section, or one the control API added.

    @ivar name: its name, unique in the proxy.
    @ivar toxic_class: the class providing L{vaurien.interfaces.IToxic}.
    @ivar stream: C{"upstream"} (client to backend) or C{"downstream"}.
    @ivar toxicity: the share of connections it is active on, 0 to 1.
    @ivar attributes: every attribute of the toxic, defaults filled in.
    """

    name: str
    toxic_class: type
    stream: str = "downstream"
    toxicity: float = 1.0
    attributes: Mapping[str, Any] = field(converter=_frozen_mapping, factory=dict)

    @property
    def type(self) -> str:
        """The toxic's type (its class's C{name})."""
        return self.toxic_class.name


@frozen
class ProxySettings:
    """Everything one proxy (one listening address) needs.

    @ivar name: the proxy's name (C{[proxy:NAME]}), C{"default"} otherwise.
    @ivar listen: endpoint string the proxy listens on.
    @ivar backend: endpoint string of the backend.
    @ivar protocol_class: the class providing L{vaurien.interfaces.IProtocol}.
    @ivar protocol_options: every option of the protocol, defaults filled in.
    @ivar handlers: the handler entries; their shares add up to 100.
    @ivar timeout: seconds of silence after which a connection is closed
        (0: never).
    @ivar stay_connected: keep the client connected when a handler returns
        C{False} or the backend goes away.
    @ivar no_fast_path: the proxy's connections never take the fast paths
        (L{vaurien.fastpath}): no lane, no splice, no direct send.
    @ivar backlog: listen backlog.
    @ivar seed: seed of the handler choice, for repeatable runs.
    @ivar max_buffer: bytes buffered per direction before reading pauses.
    @ivar threads: most worker threads for blocking handlers.
    @ivar log_calls: log each handler call (at debug level); off unless
        debug logging is asked for, as a log event per call costs.
    @ivar toxics: the toxics it starts with, in order.
    """

    name: str
    listen: str
    backend: str
    protocol_class: type
    handlers: tuple[HandlerEntry, ...]
    protocol_options: Mapping[str, Any] = field(converter=_frozen_mapping, factory=dict)
    timeout: float = 30.0
    stay_connected: bool = False
    no_fast_path: bool = False
    backlog: int = 8192
    seed: int | None = None
    max_buffer: int = 256 * 1024
    threads: int = 10
    log_calls: bool = False
    toxics: tuple[ToxicEntry, ...] = ()


@frozen
class AddedProxy:
    """A proxy given by Toxiproxy's fields (its API, its config file):
    its settings, and its addresses as given, which its API echoes.

    @ivar settings: the proxy's settings.
    @ivar listen: the listening address as given (C{127.0.0.1:0}).
    @ivar upstream: the backend address as given.
    @ivar enabled: whether it listens from the start.
    """

    settings: ProxySettings
    listen: str
    upstream: str
    enabled: bool = True


@frozen
class StatsdSettings:
    """Where the proxies' counters go over UDP (C{[statsd]}).

    @ivar enabled: send the counters at all.
    @ivar host: the statsd server's host.
    @ivar port: its UDP port.
    @ivar prefix: the first part of every metric name.
    @ivar sample_rate: the rate sent with each counter (C{|@rate}), 0 to 1.
    """

    enabled: bool = False
    host: str = "localhost"
    port: int = 8125
    prefix: str = "vaurien"
    sample_rate: float = 1.0


@frozen
class Settings:
    """The whole daemon: its proxies, the control API, metrics and logs.

    @ivar proxies: one or more proxies.
    @ivar log_level: C{debug}, C{info}, C{warning}, C{error} or C{critical}.
    @ivar log_output: C{"-"} for standard output, or a file path.
    @ivar demo: C{True} when the proxies point at the embedded demo backend.
    @ivar workers: processes sharing each listening port.
    @ivar http: run the HTTP control API.
    @ivar http_host: the interface the control API listens on.
    @ivar http_port: the control API's TCP port.
    @ivar http_token: the Bearer token the control API requires, if any.
    @ivar statsd: where counters are sent over UDP.
    @ivar toxiproxy_api: the endpoint string Toxiproxy's API listens on
        (C{None}: off).
    @ivar added_proxies: the proxies of C{--toxiproxy-config}, added after
        L{proxies}.
    """

    proxies: tuple[ProxySettings, ...]
    log_level: str = "info"
    log_output: str = "-"
    demo: bool = False
    workers: int = 1
    http: bool = False
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    http_token: str | None = None
    statsd: StatsdSettings = StatsdSettings()
    toxiproxy_api: str | None = None
    added_proxies: tuple[AddedProxy, ...] = ()
