"""Handlers: what happens to each call.

C{Handler} is the registry of handler classes (the seed's
C{Handler.register(cls)}); importing this package registers the built-ins.
"""
from vaurien.interfaces import IHandler
from vaurien.registry import PluginRegistry

Handler = PluginRegistry(IHandler, "handler", "vaurien.handlers")

from vaurien.handlers import (  # noqa: E402  (registers the built-ins)
    abort,
    blackout,
    delay,
    dummy,
    error,
    hang,
    transient,
)

__all__ = ["Handler", "abort", "blackout", "delay", "dummy", "error", "hang", "transient"]
