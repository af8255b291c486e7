"""Configuration: the command line and the INI file, read and checked into
frozen settings (L{Settings}, one L{ProxySettings} per proxy), and the
proxies' listening endpoints.

These names are the package's whole public surface; its modules are its
own business.
"""
from vaurien.config.addresses import listening_endpoint
from vaurien.config.options import VaurienOptions
from vaurien.config.settings import (
    HandlerEntry,
    ProxySettings,
    Settings,
    StatsdSettings,
    Targets,
    handlers_label,
)

__all__ = [
    "HandlerEntry",
    "ProxySettings",
    "Settings",
    "StatsdSettings",
    "Targets",
    "VaurienOptions",
    "handlers_label",
    "listening_endpoint",
]
