"""The walk of one redis GET: which of the package's modules run on the
reactor while one GET and its answer go through an open connection, with
no fault in play and with one. docs/architecture.rst walks the same path
in words; this holds the count to what it says."""
from __future__ import annotations

import sys
from typing import Any

import redis
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.proxying import proxy_settings, start_proxy
from tests.servers import start_redis

#: The most modules one GET may walk through with no fault in play.
MOST_QUIET = 8
#: ... and with a fault on it (21 before the connection had its machine).
MOST_FAULTED = 18


class WalkTests(TestCase):
    """Module names are collected from the Python frames the reactor's
    thread runs while the GET is under way (C code has none)."""

    async def walk(self, handlers: str) -> set[str]:
        port, _ = start_proxy(self, proxy_settings(start_redis(self), handlers, protocol="redis"))

        def connect() -> redis.Redis:  # it connects at once: not on the reactor
            client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10,
                                 single_connection_client=True)
            try:
                client.set("k", "v")
            except redis.exceptions.ResponseError:
                pass  # a fault on it
            return client

        client = await deferToThread(connect)  # the connection is open
        self.addCleanup(client.close)
        seen: set[str] = set()

        def profile(frame: Any, event: str, arg: Any) -> None:
            if event == "call":
                name = frame.f_globals.get("__name__", "")
                if name.startswith("vaurien"):
                    seen.add(name)

        def get() -> Any:
            try:
                return client.get("k")
            except redis.exceptions.ResponseError as e:
                return e

        sys.setprofile(profile)
        try:
            answer = await deferToThread(get)
        finally:
            sys.setprofile(None)
        self.assertTrue(answer == b"v" or "injected" in str(answer), answer)
        return seen

    async def test_with_no_fault(self):
        seen = await self.walk("100:dummy")
        self.assertLessEqual(len(seen), MOST_QUIET, sorted(seen))

    async def test_with_a_fault(self):
        seen = await self.walk("100:error")
        self.assertIn("vaurien.handlers.error", seen)
        self.assertLessEqual(len(seen), MOST_FAULTED, sorted(seen))
