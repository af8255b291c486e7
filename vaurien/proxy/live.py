"""Changing a running proxy: its handlers (for a while, with a ttl) and its
backend, and reading its counters. This is all the control API sees of a
proxy (L{IProxyControl}).

The API chooses among the registered handlers and those the proxy was
configured with at start (C{[handler:NAME] callable = ...} names, dotted
paths), these with their configured options: it never imports code.
"""
from __future__ import annotations

from typing import Any, Mapping

from zope.interface import implementer

from vaurien.config.addresses import backend_endpoint
from vaurien.errors import ConfigError
from vaurien.handlers import Handler
from vaurien.config.ini import SourcedValue
from vaurien.interfaces import IProxyControl
from vaurien.config.values import defaults, option_value
from vaurien.config.plugins import TARGET_KEYS, ConfiguredPlugin, configure_plugins, handler_entries
from vaurien.config.settings import Targets


def describe(entries: Any) -> str:
    """Handler entries as the API shows them: C{"delay"} when one handler
    takes every call, else C{"20:delay,80:dummy"}."""
    shares = [entry for entry in entries if entry.percent]
    if len(shares) == 1:
        return shares[0].name
    return ",".join(f"{entry.percent}:{entry.name}" for entry in shares)


@implementer(IProxyControl)
class LiveControl:
    """The control surface of one L{vaurien.proxy.Proxy}."""

    def __init__(self, proxy: Any):
        self._proxy = proxy
        self._expiry: Any = None
        self._configured = {
            entry.name: ConfiguredPlugin(entry.handler_class, entry.options, entry.targets)
            for entry in proxy.settings.handlers
        }

    @property
    def name(self) -> str:
        return self._proxy.name

    def handler_names(self) -> list[str]:
        return sorted(set(Handler.names()) | set(self._configured))

    def behavior(self) -> str:
        return describe(self._proxy.handler_entries)

    def behavior_options(self) -> dict[str, dict[str, Any]]:
        return {
            entry.name: _shown_options(entry)
            for entry in self._proxy.handler_entries if entry.percent
        }

    def set_behavior(
        self,
        spec: str,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        ttl: float | None = None,
    ) -> None:
        options = dict(options or {})
        named = {part.split(":")[-1].strip() for part in str(spec).split(",")} | set(options)
        unknown = sorted(name for name in named if name not in self.handler_names())
        if unknown:
            raise ConfigError(
                f"unknown handler {unknown[0]!r}; the API can choose among the"
                " registered handlers and those this proxy was configured with:"
                f" {', '.join(self.handler_names())}"
            )
        if ttl is not None and not (isinstance(ttl, (int, float)) and ttl > 0):
            raise ConfigError(f"ttl must be a positive number of seconds, not {ttl!r}")
        plugins = {name: self._plugin(name, options.get(name, {})) for name in named}
        if ":" not in str(spec):
            spec = f"100:{spec}"
        self._proxy.use_handlers(handler_entries(SourcedValue(spec, "name"), plugins))
        self._cancel_expiry()
        if ttl is not None:
            self._expiry = self._proxy.clock.callLater(ttl, self.reset_behavior)

    def _plugin(self, name: str, given: Mapping[str, Any]) -> ConfiguredPlugin:
        """The handler C{name} as configured at start (else registered, with
        its defaults), with the C{given} options and targets over it."""
        base = self._configured.get(name)
        if base is None:
            base = ConfiguredPlugin(Handler.get(name), defaults(Handler.get(name)))
        targets = {key: value for key, value in given.items() if key in TARGET_KEYS}
        chosen = dict(base.options)
        for key, value in given.items():
            if key not in TARGET_KEYS:
                try:
                    chosen[key] = option_value(base.plugin_class, key, value)
                except ValueError as e:
                    raise ConfigError(f"{name}.{key} {value!r}: {e}.") from None
        return ConfiguredPlugin(base.plugin_class, chosen,
                                _targets(name, targets) if targets else base.targets)

    def reset_behavior(self) -> None:
        self._cancel_expiry()
        self._proxy.use_handlers(self._proxy.settings.handlers)

    def _cancel_expiry(self) -> None:
        if self._expiry is not None and self._expiry.active():
            self._expiry.cancel()
        self._expiry = None

    def backend(self) -> str:
        return self._proxy.backend

    def set_backend(self, address: str) -> None:
        self._proxy.use_backend(backend_endpoint(str(address), f"backend {address!r}"))

    def stats(self) -> dict[str, Any]:
        proxy = self._proxy
        return {
            "behavior": self.behavior(),
            "backend": proxy.backend,
            "protocol": proxy.protocol.name,
            "calls": dict(proxy.calls),
            "connections": {"open": len(proxy.connections), "total": proxy.connections_total},
            "bytes": {"to_backend": proxy.bytes_to_backend, "to_client": proxy.bytes_to_client},
            "backend_failures": proxy.backend_failures,
            "fallbacks": proxy.fallbacks,
            "stuck_threads": proxy.stuck_threads,
        }


def _targets(name: str, given: Mapping[str, Any]) -> Targets:
    """C{commands}, C{methods} and C{paths} of handler C{name}, read as a
    section's are."""
    section = {key: SourcedValue(value, f"{name}.{key}") for key, value in given.items()}
    return configure_plugins(Handler, {"dummy": section})["dummy"].targets


def _shown_options(entry: Any) -> dict[str, Any]:
    """An entry's declared options and its targets, as C{PUT /behavior}
    takes them back."""
    shown = {key: value for key, value in entry.options.items()
             if key in entry.handler_class.options}
    targets = entry.targets
    for key, words in (("commands", targets.commands), ("methods", targets.methods)):
        if words:
            shown[key] = ",".join(sorted(word.decode() for word in words))
    if targets.paths is not None:
        shown["paths"] = targets.paths.pattern.decode()
    return shown
