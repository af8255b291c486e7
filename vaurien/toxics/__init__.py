"""Toxics: faults on the byte stream of one direction of a connection
(Toxiproxy's set, with its attribute names and units).

C{Toxic} is the registry of toxic classes (C{Toxic.register(cls)}, a
dotted path, or the C{vaurien.toxics} entry-point group); importing this
package registers the built-ins.
"""
from vaurien.interfaces import IToxic
from vaurien.registry import PluginRegistry

Toxic = PluginRegistry(IToxic, "toxic", "vaurien.toxics", options="attributes", set_later=("held",))

from vaurien.toxics import (  # noqa: E402  (registers the built-ins)
    bandwidth,
    latency,
    limit_data,
    reset_peer,
    slicer,
    slow_close,
    timeout,
)
from vaurien.toxics.base import CLOSE, HALF_CLOSE, RESET  # noqa: E402

__all__ = [
    "CLOSE", "HALF_CLOSE", "RESET", "Toxic", "bandwidth", "latency", "limit_data",
    "reset_peer", "slicer", "slow_close", "timeout",
]
