"""Toxiproxy's JSON config file (C{--toxiproxy-config}): a list of
proxies, C{[{"name": ..., "listen": ..., "upstream": ..., "enabled":
...}]}, each added at start as toxiproxy-server's C{-config} does."""
from __future__ import annotations

import json
from typing import Any

from vaurien.config.proxies import ANY_LOOPBACK_PORT, added_proxy
from vaurien.config.settings import AddedProxy
from vaurien.errors import ConfigError


def read_toxiproxy_config(path: str, said: str, log_calls: bool = False) -> tuple[AddedProxy, ...]:
    """The proxies of a Toxiproxy config file.

    A missing C{listen} is L{ANY_LOOPBACK_PORT}, a missing C{enabled} is
    C{true}.

    @param said: how the user named the file, for messages.
    @raise ConfigError: naming the file, and the entry at fault.
    """
    try:
        with open(path, encoding="utf-8") as f:
            entries = json.load(f)
    except OSError as e:
        raise ConfigError(f"{said}: cannot read it: {e.strerror}.") from None
    except ValueError as e:
        raise ConfigError(f"{said}: not JSON: {e}.") from None
    if not isinstance(entries, list):
        raise ConfigError(f"{said}: expected a list of proxies, [{{\"name\": ...}}, ...].")
    proxies: dict[str, AddedProxy] = {}
    for number, entry in enumerate(entries, 1):
        try:
            added = _entry(entry, log_calls)
        except ConfigError as e:
            raise ConfigError(f"{said}, proxy {number}: {e}") from None
        if added.settings.name in proxies:
            raise ConfigError(f"{said}: two proxies are named {added.settings.name!r}.")
        proxies[added.settings.name] = added
    return tuple(proxies.values())


def _entry(entry: Any, log_calls: bool) -> AddedProxy:
    """One proxy of Toxiproxy's fields (C{name}, C{upstream}, and
    optionally C{listen}, C{enabled}, and Vaurien's C{protocol}).

    @raise ConfigError: naming the field at fault.
    """
    if not isinstance(entry, dict):
        raise ConfigError(f"expected an object with name, listen and upstream, not {entry!r}.")
    for field in ("name", "upstream"):
        if not entry.get(field):
            raise ConfigError(f"missing required field: {field}.")
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"enabled {enabled!r}: expected true or false.")
    listen = entry.get("listen") or ANY_LOOPBACK_PORT
    settings = added_proxy(entry["name"], listen, entry["upstream"], entry.get("protocol"), log_calls)
    return AddedProxy(settings, listen, entry["upstream"], enabled)
