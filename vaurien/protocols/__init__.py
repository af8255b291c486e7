"""Protocols: how a connection's byte streams are cut into calls.

C{Protocol} is the registry of protocol classes; importing this package
registers the built-ins.
"""
from vaurien.interfaces import IProtocol
from vaurien.registry import PluginRegistry

Protocol = PluginRegistry(IProtocol, "protocol", "vaurien.protocols")

from vaurien.protocols import (  # noqa: E402  (registers the built-ins)
    http,
    memcache,
    mysql,
    redis,
    smtp,
    tcp,
)

__all__ = ["Protocol", "http", "memcache", "mysql", "redis", "smtp", "tcp"]
