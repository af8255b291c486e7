"""redis-py through the proxy to a real redis-server, with faults on a
share of the commands."""
from __future__ import annotations

import socket

import redis
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.proxying import entries, proxy_settings, read_reply, start_proxy
from tests.servers import start_redis


class RedisThroughProxyTests(TestCase):
    """Each command gets exactly its own reply, faults included."""

    def proxy(self, handlers: str = "100:dummy", **options) -> tuple[int, object]:
        backend = start_redis(self)
        port, factory = start_proxy(
            self, proxy_settings(backend, handlers, protocol="redis", seed=7, **options)
        )
        return port, factory.proxy

    def client(self, port: int, **kwargs) -> redis.Redis:
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10, **kwargs)
        self.addCleanup(client.close)
        return client

    async def test_pipeline_of_10000_mixed_commands(self):
        """One connection, each command with its own handler."""
        port, proxy = self.proxy(
            "20:delay,20:error", handler_options={"delay": {"sleep": 0.0}}
        )

        def run():
            pipe = self.client(port).pipeline(transaction=False)
            for n in range(10_000):
                kind = n % 4
                if kind == 0:
                    pipe.set(f"key:{n}", f"value:{n}")
                elif kind == 1:
                    pipe.get(f"key:{n - 1}")
                elif kind == 2:
                    pipe.incr("counter")
                else:
                    pipe.echo(f"echo:{n}")
            return pipe.execute(raise_on_error=False)

        replies = await deferToThread(run)
        self.assertEqual(len(replies), 10_000)
        errors = [r for r in replies if isinstance(r, redis.exceptions.ResponseError)]
        for n, reply in enumerate(replies):
            if isinstance(reply, redis.exceptions.ResponseError):
                self.assertIn("Vaurien injected error", str(reply))
                continue
            kind = n % 4
            if kind == 0:
                self.assertIs(reply, True)
            elif kind == 1:
                self.assertIn(reply, (f"value:{n - 1}".encode(), None))
            elif kind == 2:
                self.assertIsInstance(reply, int)
            else:
                self.assertEqual(reply, f"echo:{n}".encode())
        self.assertTrue(1_500 < len(errors) < 2_500, len(errors))
        self.assertEqual(proxy.calls["error"], len(errors))
        self.assertTrue(1_500 < proxy.calls["delay"] < 2_500, proxy.calls)
        self.assertGreater(proxy.calls["dummy"], 5_000)

    async def test_a_dummy_call_behind_a_waiting_one_skips_its_handler(self):
        """In a pipeline where delayed calls make the others wait their
        turn, each dummy call is passed on as its handler would pass it,
        without calling it, and every reply comes back in order."""
        port, proxy = self.proxy("50:delay", handler_options={"delay": {"sleep": 0.001}})
        dummy = type(proxy.dummy_slot.handler)
        called = []
        passing = dummy.__call__

        def spy(handler, *args):
            called.append(args)
            return passing(handler, *args)

        self.patch(dummy, "__call__", spy)

        def run():
            pipe = self.client(port).pipeline(transaction=False)
            for _ in range(200):
                pipe.incr("n")
            return pipe.execute()

        self.assertEqual(await deferToThread(run), list(range(1, 201)))
        self.assertGreater(proxy.calls["dummy"], 50)
        self.assertGreater(proxy.calls["delay"], 50)
        self.assertEqual(called, [])

    async def test_errors_use_the_configured_prefix(self):
        port, _ = self.proxy(
            "100:error", protocol_options={"error_prefix": "READONLY", "error_message": "replica"}
        )

        def run():
            with self.assertRaises(redis.exceptions.ReadOnlyError):
                self.client(port).set("a", "b")

        await deferToThread(run)

    async def test_handshake_is_never_faulted(self):
        """redis-py's HELLO 3 and SELECT pass even at 100% error."""
        port, proxy = self.proxy("100:error")

        def run():
            client = self.client(port, protocol=3, db=2, client_name="vaurien-test")
            with self.assertRaises(redis.exceptions.ResponseError):
                client.get("x")
            return client

        await deferToThread(run)
        self.assertGreaterEqual(proxy.calls["dummy"], 2)

    async def test_multi_exec(self):
        port, _ = self.proxy()

        def run():
            client = self.client(port)
            pipe = client.pipeline(transaction=True)
            pipe.set("m", 1).incr("m").get("m")
            return pipe.execute()

        self.assertEqual(await deferToThread(run), [True, 2, b"2"])

    async def test_pubsub_through_the_tunnel(self):
        port, _ = self.proxy("30:delay", handler_options={"delay": {"sleep": 0.0}})

        def run():
            subscriber = self.client(port).pubsub()
            self.addCleanup(subscriber.close)
            subscriber.subscribe("news")
            first = subscriber.get_message(timeout=5)
            self.client(port).publish("news", "hello")
            second = subscriber.get_message(timeout=5)
            return first, second

        first, second = await deferToThread(run)
        self.assertEqual(first["type"], "subscribe")
        self.assertEqual((second["type"], second["data"]), ("message", b"hello"))

    async def test_resp3_client_works(self):
        port, _ = self.proxy("20:delay", handler_options={"delay": {"sleep": 0.0}})

        def run():
            client = self.client(port, protocol=3)
            client.hset("h", mapping={"a": "1", "b": "2"})
            return client.hgetall("h"), client.smembers("nothing")

        self.assertEqual(await deferToThread(run), ({b"a": b"1", b"b": b"2"}, set()))


class SkimmingTests(TestCase):
    """With dummy alone in force the relay skims; faults put in force
    live reach connections already open, at their next command."""

    def setUp(self):
        self.port, factory = start_proxy(
            self, proxy_settings(start_redis(self), protocol="redis", seed=7)
        )
        self.proxy = factory.proxy

    def use(self, handlers: str) -> None:
        self.proxy.use_handlers(entries(handlers))

    async def test_faults_reach_an_open_connection(self):
        # A single connection, connected at once: in a thread, not the reactor's.
        client = await deferToThread(redis.Redis, host="127.0.0.1", port=self.port,
                                     socket_timeout=10, single_connection_client=True)
        self.addCleanup(client.close)
        handshake = self.proxy.calls["dummy"]

        def commands(n: int) -> list:
            return [client.incr("n") for _ in range(n)]

        self.assertEqual(await deferToThread(commands, 100), list(range(1, 101)))
        (relay,) = self.proxy.connections
        self.assertIn(relay.mode, ("skimming", "skimming_in_lane"))
        self.use("100:error")
        with self.assertRaises(redis.exceptions.ResponseError):
            await deferToThread(commands, 1)
        self.assertEqual(self.proxy.calls["error"], 1)
        self.use("100:dummy")
        self.assertEqual(await deferToThread(commands, 10), list(range(101, 111)))
        self.assertEqual(self.proxy.connections_total, 1)
        self.assertEqual(self.proxy.calls["dummy"], handshake + 110)

    async def test_a_pipeline_in_flight_keeps_its_order(self):
        """A change while a pipeline streams through takes effect at the
        next point of rest; every reply stays in its place."""
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10)
        self.addCleanup(client.close)

        def pipeline() -> list:
            pipe = client.pipeline(transaction=False)
            for n in range(20_000):
                pipe.echo(f"echo:{n}")
            return pipe.execute(raise_on_error=False)

        running = deferToThread(pipeline)
        self.use("50:error")
        replies = await running
        for n, reply in enumerate(replies):
            if not isinstance(reply, redis.exceptions.ResponseError):
                self.assertEqual(reply, f"echo:{n}".encode())
        after = await deferToThread(pipeline)
        errors = sum(isinstance(r, redis.exceptions.ResponseError) for r in after)
        self.assertTrue(8_000 < errors < 12_000, errors)

    async def test_client_reply_off_and_subscribe(self):
        """Silenced commands are followed, and SUBSCRIBE joins the
        connections for good."""
        def run() -> tuple[bytes, bytes]:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                sock.sendall(b"CLIENT REPLY OFF\r\nSET a 1\r\nCLIENT REPLY ON\r\nGET a\r\n")
                first = read_reply(sock, b"+OK\r\n$1\r\n1\r\n")
                sock.sendall(b"SUBSCRIBE ch\r\n")
                second = read_reply(sock, b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n")
                return first, second

        first, second = await deferToThread(run)
        self.assertEqual(first, b"+OK\r\n$1\r\n1\r\n")
        self.assertEqual(second, b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n")
        self.assertEqual(self.proxy.fallbacks, 1)

