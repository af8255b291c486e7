"""Test fixtures: running proxies whose controls have stream toxics, as
L{vaurien.interfaces.IProxyControl} promises them (C{toxics},
C{add_toxic}, C{update_toxic}, C{remove_toxic}, C{remove_toxics}).

Where the interface has them, the proxies' own controls are used; where
it does not yet, each control is wrapped in L{StreamToxicsStandIn}, which
keeps the toxics as the contract says without applying them to traffic:
the API's tests then hold its routes to the contract all the same."""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from vaurien.errors import ConfigError, Conflict, NotFound
from vaurien.interfaces import IProxies, IProxyControl

#: Toxiproxy's toxic types and their attributes.
TOXIC_TYPES = {
    "latency": ("latency", "jitter"),
    "bandwidth": ("rate",),
    "slow_close": ("delay",),
    "timeout": ("timeout",),
    "reset_peer": ("timeout",),
    "slicer": ("average_size", "size_variation", "delay"),
    "limit_data": ("bytes",),
}

#: Whether the proxies' own controls have stream toxics.
REAL_TOXICS = "add_toxic" in IProxyControl.names()


class StreamToxicsStandIn:
    """A proxy's control, with stream toxics kept as the contract says."""

    def __init__(self, control: IProxyControl):
        self._control = control
        self._toxics: dict[str, dict[str, Any]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._control, name)

    def toxics(self) -> list[dict[str, Any]]:
        return [dict(toxic, attributes=dict(toxic["attributes"])) for toxic in self._toxics.values()]

    def add_toxic(self, name: str | None, type: str, stream: str = "downstream",
                  toxicity: float = 1.0, attributes: Mapping[str, Any] | None = None,
                  ttl: float | None = None) -> dict[str, Any]:
        if type not in TOXIC_TYPES:
            raise ConfigError(f"unknown toxic type {type!r}")
        if stream not in ("upstream", "downstream"):
            raise ConfigError(f"unknown stream {stream!r}")
        name = name or f"{type}_{stream}"
        if name in self._toxics:
            raise Conflict(f"toxic {name!r} exists already")
        toxic = {"name": name, "type": type, "stream": stream, "toxicity": toxicity,
                 "attributes": dict.fromkeys(TOXIC_TYPES[type], 0)}
        self._merge(toxic, attributes)
        self._toxics[name] = toxic
        return self.toxics()[list(self._toxics).index(name)]

    def update_toxic(self, name: str, attributes: Mapping[str, Any] | None = None,
                     toxicity: float | None = None) -> dict[str, Any]:
        if name not in self._toxics:
            raise NotFound(f"no toxic named {name!r}")
        toxic = self._toxics[name]
        updated = dict(toxic, attributes=dict(toxic["attributes"]))
        self._merge(updated, attributes)
        if toxicity is not None:
            updated["toxicity"] = toxicity
        self._toxics[name] = updated
        return dict(updated)

    def remove_toxic(self, name: str) -> None:
        if self._toxics.pop(name, None) is None:
            raise NotFound(f"no toxic named {name!r}")

    def remove_toxics(self) -> None:
        self._toxics.clear()

    @staticmethod
    def _merge(toxic: dict[str, Any], attributes: Mapping[str, Any] | None) -> None:
        for key, value in (attributes or {}).items():
            if key not in toxic["attributes"]:
                raise ConfigError(f"{toxic['type']} has no attribute {key!r}")
            if not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"{toxic['type']}.{key} must be a number, at least 0")
            toxic["attributes"][key] = value


class _StandInControls(Mapping[str, Any]):
    """The proxies' controls, each wrapped once (the same wrapper while the
    proxy lives)."""

    def __init__(self, controls: Mapping[str, IProxyControl]):
        self._controls = controls
        self._wrapped: dict[int, StreamToxicsStandIn] = {}

    def __getitem__(self, name: str) -> Any:
        control = self._controls[name]
        if id(control) not in self._wrapped:
            self._wrapped[id(control)] = StreamToxicsStandIn(control)
        return self._wrapped[id(control)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._controls)

    def __len__(self) -> int:
        return len(self._controls)


class WithStreamToxics:
    """Running proxies (an L{IProxies}) whose controls have stream toxics."""

    def __init__(self, proxies: IProxies):
        self._proxies = proxies
        self.controls = proxies.controls if REAL_TOXICS else _StandInControls(proxies.controls)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._proxies, name)
