"""Toxics that change nothing change nothing: with a chain acting on both
directions of every connection (latency 0, bandwidth 0, slicer 0,
slow_close 0), a client sees through the proxy exactly what a direct
connection gives it, bytes and ends, framed or skimming (the
differential test of L{tests.test_transparency})."""
from __future__ import annotations

from typing import Any

import attr
from hypothesis import assume, given, settings
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.conversations import every_failure, scripts
from tests.http_conversations import http_conversations
from tests.memcache_conversations import memcache_conversations
from tests.peer_scripts import assert_alike
from tests.proxying import start_proxy
from tests.resp_conversations import resp_conversations
from tests.scripted_peers import ScriptedServer, run
from tests.test_transparency import DIFFERENTIAL, FRAMED, SKIMMING, _transparent_settings
from vaurien.config import toxic_entry

#: Toxics that hold nothing back, on both directions.
HARMLESS = tuple(
    toxic_entry(f"{kind}_{stream}", kind, stream)
    for stream in ("upstream", "downstream")
    for kind in ("latency", "bandwidth", "slicer", "slow_close")
)


class HarmlessToxicsTests(TestCase):
    timeout = 600

    def differential(self, protocol: str, path: str, conversations: Any):
        server = ScriptedServer()
        self.addCleanup(server.stop)
        proxied = attr.evolve(_transparent_settings(server.port, protocol, path), toxics=HARMLESS)
        port, factory = start_proxy(self, proxied)

        @settings(DIFFERENTIAL, max_examples=25)
        @given(scripts(conversations))
        def alike(script):
            # A framed connection whose client ends before sending a byte,
            # while its backend is still being connected, ends at once
            # (tests.test_bounded_waits): a server that speaks first is
            # not heard then, toxics or not (the timing decides).
            assume(not (script.half_close and not script.rounds[0].payload))
            direct = run(script, server, server.port)
            through = run(script, server, port, reference=direct)
            assert_alike(script, direct, through)

        return deferToThread(every_failure, alike)

    def test_http_framed(self):
        return self.differential("http", FRAMED, http_conversations())

    def test_http_skimming(self):
        return self.differential("http", SKIMMING, http_conversations())

    def test_redis_framed(self):
        return self.differential("redis", FRAMED, resp_conversations())

    def test_redis_skimming(self):
        return self.differential("redis", SKIMMING, resp_conversations())

    def test_memcache_framed(self):
        return self.differential("memcache", FRAMED, memcache_conversations())

    def test_memcache_skimming(self):
        return self.differential("memcache", SKIMMING, memcache_conversations())
