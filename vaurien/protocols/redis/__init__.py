"""redis: Redis' RESP2 and RESP3, one call per command.

L{protocol} holds the protocol (L{Redis}) and the framing of one
connection (L{RedisFraming}); L{framing}, the RESP framers; L{skim}, the
skimmers and followers, with their C twin C{_skim} when it was built.
"""
from vaurien.protocols.redis.protocol import Redis, RedisFraming

__all__ = ["Redis", "RedisFraming"]
