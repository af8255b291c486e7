"""memcache: memcached's text protocol, one call per command.

L{protocol} holds the protocol (L{Memcache}) and the framing of one
connection (L{MemcacheFraming}); L{framing}, the framers and what a line
means; L{skim}, the skimmers that follow traffic without cutting it.
"""
from vaurien.protocols.memcache.protocol import Memcache, MemcacheFraming

__all__ = ["Memcache", "MemcacheFraming"]
