"""Configuration: the command line and the INI file, read and checked into
frozen settings (L{Settings}, one L{ProxySettings} per proxy); the changes
the control API asks of a running proxy, read and checked the same way;
and the proxies' listening endpoints.

Code outside the package uses these names, not its modules.
"""
from vaurien.config.addresses import backend_endpoint, listen_endpoint, listening_endpoint
from vaurien.config.options import VaurienOptions
from vaurien.config.plugins import handler_choice
from vaurien.config.proxies import ANY_LOOPBACK_PORT, added_proxy
from vaurien.config.settings import (
    AddedProxy,
    HandlerEntry,
    ProxySettings,
    Settings,
    StatsdSettings,
    Targets,
    ToxicEntry,
    handlers_label,
)
from vaurien.config.toxics import attribute_values, toxic_entry, toxicity_value

__all__ = [
    "ANY_LOOPBACK_PORT",
    "AddedProxy",
    "HandlerEntry",
    "ProxySettings",
    "Settings",
    "StatsdSettings",
    "Targets",
    "ToxicEntry",
    "VaurienOptions",
    "added_proxy",
    "attribute_values",
    "backend_endpoint",
    "handler_choice",
    "handlers_label",
    "listen_endpoint",
    "listening_endpoint",
    "toxic_entry",
    "toxicity_value",
]
