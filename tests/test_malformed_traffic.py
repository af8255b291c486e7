"""Malformed traffic never crashes the proxy nor stalls other
connections: the connection falls back to tcp or is closed."""
from __future__ import annotations

import os
import socket

import redis
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.proxying import echo_backend, proxy_settings, start_proxy
from tests.servers import start_redis

GARBAGE = [
    b"*abc\r\n",                      # bad RESP length
    b"$-7\r\n",                       # negative bulk length
    b"*99999999999999999999\r\n",     # huge count
    b"\x80\x01\x00\x05binary",        # memcache binary magic
    b"set k 0 0 10\r\nshort\r\nget k\r\n",  # data block shorter than announced
    b"GARBAGE / NOT-HTTP\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + b"X-Big: " + b"a" * 200_000 + b"\r\n\r\n",
]


def send_garbage(port: int, payload: bytes) -> bytes:
    """Send C{payload}, half-close, and read what comes back (bounded)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        try:
            while len(received) < 1 << 20:
                data = sock.recv(65536)
                if not data:
                    break
                received += data
        except (TimeoutError, ConnectionResetError):
            pass
        return received


class MalformedTrafficTests(TestCase):
    async def garbage_then_echo(self, protocol: str, handlers: str = "20:delay,20:error"):
        port, factory = start_proxy(
            self, proxy_settings(echo_backend(self), handlers, protocol=protocol,
                                 handler_options={"delay": {"sleep": 0.0}})
        )
        for payload in GARBAGE + [os.urandom(4096) for _ in range(5)]:
            await deferToThread(send_garbage, port, payload)
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_http(self):
        return self.garbage_then_echo("http")

    def test_redis(self):
        return self.garbage_then_echo("redis")

    def test_memcache(self):
        return self.garbage_then_echo("memcache")

    async def test_skimming(self):
        """With dummy alone in force the relays skim: the same garbage."""
        for protocol in ("http", "redis", "memcache"):
            await self.garbage_then_echo(protocol, "100:dummy")

    async def test_garbage_does_not_stall_a_redis_client(self):
        """A connection sending garbage falls back to tcp; redis-py on
        another connection keeps being served."""
        port, _ = start_proxy(self, proxy_settings(start_redis(self), protocol="redis"))

        def run():
            client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
            garbage = socket.create_connection(("127.0.0.1", port), timeout=5)
            try:
                garbage.sendall(b"*1\r\n$4\r\nPING\r\n" + b"*zz\r\n")
                answers = [client.incr("n") for _ in range(50)]
                first = garbage.recv(100)
            finally:
                garbage.close()
                client.close()
            return answers, first

        answers, first = await deferToThread(run)
        self.assertEqual(answers, list(range(1, 51)))
        self.assertTrue(first.startswith(b"+PONG\r\n"), first)
