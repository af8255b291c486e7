"""pymemcache through a skimming proxy to a real memcached: with dummy
alone in force the relay only follows the traffic; faults put in force
live reach a connection already open at its next command."""
from __future__ import annotations

import socket

from pymemcache.client.base import Client
from pymemcache.exceptions import MemcacheServerError
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.proxying import entries, proxy_settings, read_reply, start_proxy
from tests.servers import start_memcached


class MemcacheSkimmingTests(TestCase):
    """Skimming passes every command on and counts it; cutting takes over
    at the next point of rest when the handlers change."""

    def setUp(self):
        self.backend = start_memcached(self)
        self.port, factory = start_proxy(
            self, proxy_settings(self.backend, protocol="memcache", seed=7)
        )
        self.proxy = factory.proxy

    def client(self) -> Client:
        client = Client(("127.0.0.1", self.port), timeout=10, default_noreply=False)
        self.addCleanup(client.close)
        return client

    def use(self, handlers: str) -> None:
        self.proxy.use_handlers(entries(handlers))

    async def test_faults_reach_an_open_connection(self):
        client = self.client()
        values = {f"k{n}": b"v" * n for n in range(50)}

        def commands():
            client.set_many(values)  # 50 set commands in one write
            got = client.get_many(list(values))  # one get of 50 keys
            client.set("quiet", b"q", noreply=True)
            client.set("n", b"10")
            return got, client.incr("n", 5), client.gets("quiet")[0], client.version()

        got, incr, quiet, version = await deferToThread(commands)
        self.assertEqual(got, values)
        self.assertEqual((incr, quiet), (15, b"q"))
        self.assertTrue(version)
        (relay,) = self.proxy.connections
        self.assertIn(relay.mode, ("skimming", "skimming_in_lane"))
        self.assertEqual(self.proxy.calls, {"dummy": 56})

        self.use("100:error")
        with self.assertRaises(MemcacheServerError):
            await deferToThread(client.incr, "n", 1)
        self.assertEqual(self.proxy.calls["error"], 1)
        self.assertEqual(self.proxy.connections_total, 1)

        self.use("100:dummy")  # pymemcache reconnects after any error
        self.assertEqual(await deferToThread(client.incr, "n", 1), 16)
        self.assertEqual(await deferToThread(client.get_many, ["k1", "k2"]),
                         {"k1": b"v", "k2": b"vv"})
        self.assertEqual(self.proxy.calls, {"dummy": 58, "error": 1})
        self.assertEqual(self.proxy.fallbacks, 0)

    async def test_one_connection_through_switches(self):
        """On one connection: skimmed, then an injected error, then
        skimmed again; the connection goes on throughout."""

        def exchange(sock: socket.socket, request: bytes, reply: bytes) -> bytes:
            sock.sendall(request)
            return read_reply(sock, reply)

        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            self.assertEqual(
                await deferToThread(exchange, sock, b"set n 0 0 1 noreply\r\n7\r\nincr n 1\r\n",
                                    b"8\r\n"),
                b"8\r\n",
            )
            self.use("100:error")
            error = b"SERVER_ERROR Vaurien injected error\r\n"
            self.assertEqual(await deferToThread(exchange, sock, b"incr n 1\r\n", error), error)
            self.use("100:dummy")
            self.assertEqual(
                await deferToThread(exchange, sock, b"incr n 1\r\nget n\r\n",
                                    b"9\r\nVALUE n 0 1\r\n9\r\nEND\r\n"),
                b"9\r\nVALUE n 0 1\r\n9\r\nEND\r\n",
            )
        self.assertEqual(self.proxy.calls, {"dummy": 4, "error": 1})
        self.assertEqual(self.proxy.connections_total, 1)

    async def test_large_values_in_many_chunks(self):
        """Values far larger than a read pass whole both ways."""
        client = self.client()
        big = {f"big{n}": bytes([65 + n]) * (300_000 + n) for n in range(4)}

        def run():
            client.set_many(big)
            return client.get_many(list(big))

        self.assertEqual(await deferToThread(run), big)
        self.assertEqual(self.proxy.calls, {"dummy": 5})

    async def test_quiet_mode_joins_the_connections(self):
        """A quiet meta command makes the rest of the connection plain tcp,
        where memcached's own answers still arrive."""

        def run() -> bytes:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                sock.sendall(b"set a 0 0 1\r\n1\r\n")
                first = read_reply(sock, b"STORED\r\n")
                sock.sendall(b"mg a v q\r\nmg missing v q\r\nmn\r\n")
                return first + read_reply(sock, b"VA 1\r\n1\r\nMN\r\n")

        self.assertEqual(await deferToThread(run), b"STORED\r\nVA 1\r\n1\r\nMN\r\n")
        self.assertEqual(self.proxy.fallbacks, 1)
        self.assertEqual(self.proxy.calls, {"dummy": 2})  # set, and the first mg
