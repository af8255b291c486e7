"""Changing a running proxy: its handlers (for a while, with a ttl), its
toxics and its backend, and reading its counters. This is all the control
API sees of a proxy (L{IProxyControl}).

The API chooses among the registered handlers and those the proxy was
configured with at start (C{[handler:NAME] callable = ...} names, dotted
paths), these with their configured options; and among the registered
toxic types and those the proxy was configured with: it never imports
code.
"""
from __future__ import annotations

from typing import Any, Mapping

from zope.interface import implementer

from vaurien.config import (
    attribute_values, backend_endpoint, handler_choice, toxic_entry, toxicity_value,
)
from vaurien.errors import ConfigError
from vaurien.handlers import Handler
from vaurien.interfaces import IProxyControl
from vaurien.toxics import Toxic


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
        self._configured = {entry.name for entry in proxy.settings.handlers}

    @property
    def name(self) -> str:
        return self._proxy.name

    def handler_names(self) -> list[str]:
        return sorted(set(Handler.names()) | self._configured)

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
        _check_ttl(ttl)
        self._proxy.use_handlers(handler_choice(spec, options, self._proxy.settings.handlers))
        self._cancel_expiry()
        if ttl is not None:
            self._expiry = self._proxy.clock.callLater(ttl, self.reset_behavior)

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

    def toxics(self) -> list[dict[str, Any]]:
        return [shown_toxic(entry) for entry in self._proxy.toxics.entries]

    def add_toxic(
        self,
        name: str | None,
        type: str,
        stream: str = "downstream",
        toxicity: Any = 1.0,
        attributes: Mapping[str, Any] | None = None,
        ttl: float | None = None,
    ) -> dict[str, Any]:
        known = set(Toxic.names()) | {
            f"{e.toxic_class.__module__}.{e.toxic_class.__qualname__}"
            for e in self._proxy.settings.toxics
        }
        if not isinstance(type, str) or type not in known:
            raise ConfigError(
                f"toxic: type: unknown toxic {type!r}; the API can choose among the"
                " registered toxics and those this proxy was configured with:"
                f" {', '.join(sorted(known))}"
            )
        entry = toxic_entry(name, type, stream, toxicity, attributes, where="toxic")
        _check_ttl(ttl)
        self._proxy.toxics.add(entry, ttl)
        return shown_toxic(entry)

    def update_toxic(
        self, name: str, attributes: Mapping[str, Any] | None = None, toxicity: Any = None
    ) -> dict[str, Any]:
        toxics = self._proxy.toxics
        entry = toxics.find(name)
        values = attribute_values(entry.toxic_class, entry.attributes, attributes or {}, "toxic")
        share = entry.toxicity if toxicity is None else toxicity_value(toxicity, "toxic")
        return shown_toxic(toxics.update(name, values, share))

    def remove_toxic(self, name: str) -> None:
        self._proxy.toxics.remove(name)

    def remove_toxics(self) -> None:
        self._proxy.toxics.clear()

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


def shown_toxic(entry: Any) -> dict[str, Any]:
    """A toxic as the API shows it, every attribute of its type present."""
    return {
        "name": entry.name,
        "type": entry.type,
        "stream": entry.stream,
        "toxicity": entry.toxicity,
        "attributes": dict(entry.attributes),
    }


def _check_ttl(ttl: Any) -> None:
    if ttl is not None and not (
        isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and ttl > 0
    ):
        raise ConfigError(f"ttl must be a positive number of seconds, not {ttl!r}")


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
