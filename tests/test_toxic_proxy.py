"""Toxics through a running proxy: real loopback sockets, timers on a
Clock. Each toxic's effect as a client sees it, toxics stacked, changed
on open connections, drawn per connection, and the fast paths kept for
the connections no toxic acts on."""
from __future__ import annotations

import socket

from twisted.internet import reactor
from twisted.internet.task import Clock, deferLater
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.accelerators import fast_paths_on
from tests.proxying import (
    WAIT, Collector, connect, echo_backend, eventually, listen, proxy_settings, start_proxy,
)

#: Real time given to bytes that must not come, before saying they did not.
QUIET = 0.05


class EchoProxyTestCase(TestCase):
    """A proxy to an echo backend, its timers on a Clock, and its clients.

    @cvar seed: the proxy's seed.
    @cvar reach_backend: whether L{client} waits for the proxy's
        connections to reach the backend.
    """

    seed: int | None = None
    reach_backend = True

    def setUp(self):
        self.clock = Clock()
        self.port, factory = start_proxy(self, proxy_settings(echo_backend(self), seed=self.seed),
                                         clock=self.clock)
        self.proxy = factory.proxy
        self.control = self.proxy.control

    async def client(self) -> Collector:
        """A client connected to the proxy, closed at the end of the test."""
        collector = Collector()
        await connect(self.port, collector)
        self.addCleanup(collector.transport.loseConnection)
        if self.reach_backend:
            await eventually(lambda: len(self.proxy.connections) and all(
                c.backend.transport is not None for c in self.proxy.connections), "the backend")
        return collector


class ToxicProxyTests(EchoProxyTestCase):
    seed = 7

    async def echoed(self, count: int) -> None:
        """The backend answered C{count} bytes in all."""
        await eventually(lambda: self.proxy.bytes_to_client >= count, "the echo")

    async def quiet(self) -> None:
        await deferLater(reactor, QUIET)

    def advance(self, seconds: float, step: float = 0.001) -> None:
        self.clock.pump([step] * round(seconds / step))

    async def test_latency_holds_each_chunk(self):
        self.control.add_toxic(None, "latency", attributes={"latency": 100})
        client = await self.client()
        client.transport.write(b"hello")
        await self.echoed(5)
        self.clock.advance(0.099)
        await self.quiet()
        self.assertEqual(client.received, b"")
        self.clock.advance(0.001)
        await eventually(lambda: client.received == b"hello", "the held bytes")

    async def test_upstream_latency_holds_what_the_client_sends(self):
        self.control.add_toxic(None, "latency", "upstream", attributes={"latency": 50})
        client = await self.client()
        client.transport.write(b"up")
        await eventually(lambda: self.proxy.bytes_to_backend >= 2, "the request")
        await self.quiet()
        self.assertEqual(self.proxy.bytes_to_client, 0)
        self.clock.advance(0.05)
        await eventually(lambda: client.received == b"up", "the echo")

    async def test_bandwidth_in_slices(self):
        self.control.add_toxic(None, "bandwidth", attributes={"rate": 10})
        client = await self.client()
        client.transport.write(b"b" * 3000)
        await self.echoed(3000)
        await eventually(lambda: client.count == 1000, "the first slice")
        self.clock.advance(0.1)
        await eventually(lambda: client.count == 2000, "the second slice")
        await self.quiet()
        self.assertEqual(client.count, 2000)
        self.clock.advance(0.1)
        await eventually(lambda: client.count == 3000, "the third slice")

    async def test_slicer_sends_pieces_apart(self):
        self.control.add_toxic(None, "slicer", attributes={"average_size": 100, "delay": 1000000})
        client = await self.client()
        client.transport.write(b"s" * 300)
        await self.echoed(300)
        await eventually(lambda: client.count == 100, "the first piece")
        self.clock.advance(1)
        await eventually(lambda: client.count == 200, "the second piece")
        self.clock.advance(1)
        await eventually(lambda: client.received == b"s" * 300, "every piece")

    async def test_stacked_in_the_order_added(self):
        self.control.add_toxic("slow", "latency", attributes={"latency": 100})
        self.control.add_toxic("thin", "bandwidth", attributes={"rate": 1})  # 100-byte slices
        self.control.add_toxic("cut", "slicer", attributes={"average_size": 10, "delay": 10000})
        client = await self.client()
        client.transport.write(bytes(range(200)))
        await self.echoed(200)
        self.advance(0.099)
        await self.quiet()
        self.assertEqual(client.count, 0)
        self.advance(0.056)  # latency out at 0.1, pieces of 10 bytes at 0.10, 0.11 ... 0.15
        await eventually(lambda: client.count == 60, "six pieces of the first slice")
        self.advance(0.5)
        await eventually(lambda: client.received == bytes(range(200)), "every byte, in order")

    async def test_a_toxic_added_to_an_open_connection_and_updated(self):
        client = await self.client()
        self.control.add_toxic("slow", "latency", attributes={"latency": 1000})
        client.transport.write(b"1")
        await self.echoed(1)
        self.clock.advance(0.5)
        await self.quiet()
        self.assertEqual(client.received, b"")
        self.clock.advance(0.5)
        await eventually(lambda: client.received == b"1", "the first byte")
        shown = self.control.update_toxic("slow", {"latency": 10})
        self.assertEqual(shown["attributes"], {"latency": 10, "jitter": 0})
        client.transport.write(b"2")
        await self.echoed(2)
        self.clock.advance(0.01)
        await eventually(lambda: client.received == b"12", "the second byte, 10 ms later")

    async def test_removed_the_held_bytes_go_at_once_and_nothing_is_held_after(self):
        self.control.add_toxic("slow", "latency", attributes={"latency": 60000})
        client = await self.client()
        client.transport.write(b"held")
        await self.echoed(4)
        self.control.remove_toxic("slow")
        await eventually(lambda: client.received == b"held", "the held bytes")
        client.transport.write(b"free")
        await eventually(lambda: client.received == b"heldfree", "bytes with no toxic")

    async def test_ttl_removes_a_toxic(self):
        self.control.add_toxic("slow", "latency", attributes={"latency": 60000}, ttl=5)
        self.clock.advance(5)
        self.assertEqual(self.control.toxics(), [])

    async def test_toxicity_is_drawn_per_connection(self):
        self.control.add_toxic(None, "latency", toxicity=0.5, attributes={"latency": 1000})
        clients = []
        for _ in range(400):
            client = Collector()
            await connect(self.port, client)
            self.addCleanup(client.transport.loseConnection)
            client.transport.write(b"x")
            clients.append(client)
        await self.echoed(400)
        await eventually(lambda: sum(c.count for c in clients) >= 100, "the undelayed bytes")
        await self.quiet()
        delayed = sum(1 for c in clients if not c.count)
        self.assertTrue(140 <= delayed <= 260, f"{delayed} of 400 delayed")
        self.clock.advance(1)
        await eventually(lambda: all(c.count for c in clients), "the delayed bytes")

    async def test_toxicity_zero_never_acts_and_the_connection_takes_the_lane(self):
        fast_paths_on()
        self.control.add_toxic(None, "latency", toxicity=0.0, attributes={"latency": 1000})
        client = await self.client()
        (connection,) = self.proxy.connections
        for i in range(5):
            client.transport.write(b"x")
            await eventually(lambda: client.count == i + 1, "the echo")
        await eventually(lambda: connection.in_lane, "the connection in the lane")
        self.control.add_toxic("slow", "latency", attributes={"latency": 100})
        self.assertFalse(connection.in_lane)
        client.transport.write(b"y")
        await self.echoed(6)
        await self.quiet()
        self.assertEqual(client.count, 5)
        self.clock.advance(0.1)
        await eventually(lambda: client.count == 6, "the held byte")
        self.control.remove_toxic("slow")
        for i in range(5):
            client.transport.write(b"z")
            await eventually(lambda: client.count == 7 + i, "the echo")
        await eventually(lambda: connection.in_lane, "the connection back in the lane")

    async def test_a_toxic_holding_bytes_stops_the_reading_of_its_source(self):
        self.control.add_toxic(None, "latency", attributes={"latency": 1000})
        client = await self.client()
        payload = b"p" * (8 << 20)
        client.transport.write(payload)
        await eventually(lambda: self.proxy.bytes_to_client > 0, "the first echo")
        await deferLater(reactor, 0.2)
        self.assertLess(self.proxy.bytes_to_client, 1 << 20)
        while client.count < len(payload):
            self.clock.advance(1)
            await deferLater(reactor, 0.002)
        self.assertEqual(bytes(client.received), payload)


class EndsTests(EchoProxyTestCase):
    """How toxics end connections, as a client sees it."""

    reach_backend = False  # the clients write at once, maybe before the backend is reached

    async def test_limit_data_passes_so_many_bytes_then_closes(self):
        self.control.add_toxic(None, "limit_data", attributes={"bytes": 5})
        client = await self.client()
        client.transport.write(b"0123456789")
        self.assertEqual(await client.ended, b"01234")

    async def test_reset_peer_resets_the_client(self):
        self.control.add_toxic(None, "reset_peer", attributes={"timeout": 100})
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=WAIT)
        self.addCleanup(sock.close)
        sock.sendall(b"ping")
        await eventually(lambda: self.proxy.bytes_to_client >= 4, "the echo")
        self.clock.advance(0.1)
        error = await deferToThread(self.assertRaises, ConnectionResetError, sock.recv, 10)
        self.assertEqual(error.errno, 104)

    async def test_slow_close_passes_the_end_late(self):
        self.control.add_toxic(None, "slow_close", attributes={"delay": 1000})
        client = await self.client()
        client.transport.write(b"data")
        client.transport.loseWriteConnection()  # the echo ends in turn
        await eventually(lambda: client.received == b"data", "the data, at once")
        await deferLater(reactor, QUIET)
        self.assertFalse(client.ended.called)
        self.clock.advance(1)
        self.assertEqual(await client.ended, b"data")

    async def test_timeout_drops_and_closes_later(self):
        self.control.add_toxic(None, "timeout", "upstream", attributes={"timeout": 1000})
        client = await self.client()
        client.transport.write(b"lost")
        await eventually(lambda: self.proxy.bytes_to_backend >= 4, "the request")
        self.clock.advance(0.9)
        await deferLater(reactor, QUIET)
        self.assertFalse(client.ended.called)
        self.clock.advance(0.1)
        self.assertEqual(await client.ended, b"")
        self.assertEqual(self.proxy.bytes_to_client, 0)

    async def test_timeout_zero_holds_until_removed(self):
        self.control.add_toxic("hold", "timeout", attributes={"timeout": 0})
        client = await self.client()
        client.transport.write(b"lost")
        await eventually(lambda: self.proxy.bytes_to_client >= 4, "the echo")
        self.clock.advance(3600)
        await deferLater(reactor, QUIET)
        self.assertFalse(client.ended.called)
        self.control.remove_toxic("hold")
        self.assertEqual(await client.ended, b"")


class FramedTests(TestCase):
    async def test_redis_errors_per_command_and_latency_on_half_the_connections(self):
        from tests.servers import start_redis

        clock = Clock()
        settings = proxy_settings(start_redis(self), "20:error", protocol="redis", seed=3)
        port, factory = start_proxy(self, settings, clock=clock)
        factory.proxy.control.add_toxic(None, "latency", toxicity=0.5, attributes={"latency": 100})
        clients = []
        for _ in range(20):
            client = Collector()
            await connect(port, client)
            self.addCleanup(client.transport.loseConnection)
            client.transport.write(b"PING\r\n" * 10)
            clients.append(client)

        def replies(client: Collector) -> int:
            return client.received.count(b"\r\n")

        await eventually(lambda: any(replies(c) == 10 for c in clients), "the undelayed replies")
        await deferLater(reactor, 0.2)
        delayed = [c for c in clients if not replies(c)]
        self.assertTrue(3 <= len(delayed) <= 17, f"{len(delayed)} of 20 delayed")
        self.assertEqual({replies(c) for c in clients}, {0, 10})
        clock.advance(0.1)
        await eventually(lambda: all(replies(c) == 10 for c in clients), "every reply")
        lines = b"".join(c.received for c in clients).split(b"\r\n")[:-1]
        errors = sum(1 for line in lines if line.startswith(b"-"))
        self.assertTrue(0 < errors < 200 and lines.count(b"+PONG") == 200 - errors)


class Resetting(Collector):
    """A backend that answers its first bytes with C{bye}, then resets."""

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(b"bye")
        reactor.callLater(0.01, self.transport.abortConnection)


class EndsInOrderTests(TestCase):
    """The ends of a stream pass a toxic after the bytes before them."""

    def setUp(self):
        self.clock = Clock()

    def proxy(self, backend_port: int):
        port, factory = start_proxy(self, proxy_settings(backend_port), clock=self.clock)
        return port, factory.proxy

    async def test_a_half_close_follows_the_held_bytes(self):
        port, proxy = self.proxy(echo_backend(self))
        proxy.control.add_toxic(None, "latency", "upstream", attributes={"latency": 100})
        client = Collector()
        await connect(port, client)
        client.transport.write(b"x")
        client.transport.loseWriteConnection()
        await eventually(lambda: proxy.bytes_to_backend >= 1, "the request")
        await deferLater(reactor, QUIET)
        self.assertFalse(client.ended.called)
        self.clock.advance(0.1)
        self.assertEqual(await client.ended, b"x")

    async def test_a_reset_follows_the_held_bytes(self):
        from twisted.internet import protocol

        port, proxy = self.proxy(listen(self, protocol.Factory.forProtocol(Resetting)))
        proxy.control.add_toxic(None, "latency", attributes={"latency": 100})
        sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.addCleanup(sock.close)
        sock.sendall(b"hi")
        await eventually(lambda: proxy.bytes_to_client >= 3 and not proxy.connections,
                         "the backend's reset")
        self.clock.advance(0.1)
        self.assertEqual(await deferToThread(sock.recv, 10), b"bye")
        for _ in range(20):  # the reset waits (on the clock) for "bye" to be sent
            self.clock.advance(0.01)
            await deferLater(reactor, 0.005)
        await deferToThread(self.assertRaises, ConnectionResetError, sock.recv, 10)


class SkimmingTests(TestCase):
    """A skimming redis connection (only dummy in play) with a toxic acting
    stays off the lane and its replies are held; with none, it takes the
    lane."""

    def setUp(self):
        from tests.servers import start_redis

        fast_paths_on()
        self.clock = Clock()
        settings = proxy_settings(start_redis(self), protocol="redis")
        self.port, factory = start_proxy(self, settings, clock=self.clock)
        self.proxy = factory.proxy

    async def pings(self, client: Collector, count: int) -> None:
        for i in range(count):
            client.transport.write(b"PING\r\n")
            await eventually(lambda: client.received.count(b"+PONG") == i + 1, "the pong")

    async def test_a_toxic_acting_holds_skimmed_replies(self):
        self.proxy.control.add_toxic(None, "latency", attributes={"latency": 100})
        client = Collector()
        await connect(self.port, client)
        self.addCleanup(client.transport.loseConnection)
        client.transport.write(b"PING\r\n")
        await eventually(lambda: self.proxy.bytes_to_client >= 7, "the reply from redis")
        await deferLater(reactor, QUIET)
        self.assertEqual(client.received, b"")
        self.clock.advance(0.1)
        await eventually(lambda: client.received == b"+PONG\r\n", "the held reply")
        (connection,) = self.proxy.connections
        self.assertEqual(connection.mode, "skimming")

    async def test_with_no_toxic_acting_it_takes_the_lane(self):
        self.proxy.control.add_toxic(None, "latency", toxicity=0.0, attributes={"latency": 100})
        client = Collector()
        await connect(self.port, client)
        self.addCleanup(client.transport.loseConnection)
        await self.pings(client, 5)
        (connection,) = self.proxy.connections
        await eventually(lambda: connection.mode == "skimming_in_lane", "the lane")


class IdleTimeoutTests(TestCase):
    """The idle timeout leaves alone a connection whose toxics hold bytes
    or the connection itself, and closes the others (toxics acting on them
    or not)."""

    async def test_held_connections_outlive_the_idle_timeout(self):
        clock = Clock()
        port, factory = start_proxy(self, proxy_settings(echo_backend(self), timeout=1.0),
                                    clock=clock)
        control = factory.proxy.control
        control.add_toxic("hold", "timeout", toxicity=0.0)
        idle = Collector()
        await connect(port, idle)
        await eventually(lambda: factory.proxy.connections and all(
            c.backend.transport is not None for c in factory.proxy.connections), "the backend")
        control.update_toxic("hold", toxicity=1.0)  # drawn again: on the open one
        control.add_toxic("slow", "latency", "upstream", attributes={"latency": 60000})
        clock.pump([0.25] * 8)
        await deferLater(reactor, QUIET)
        self.assertFalse(idle.ended.called)
        control.remove_toxic("hold")
        self.assertEqual(await idle.ended, b"")
        held, quiet = Collector(), Collector()
        for client in (held, quiet):
            await connect(port, client)
            self.addCleanup(client.transport.loseConnection)
        await eventually(lambda: len(factory.proxy.connections) == 2 and all(
            c.backend.transport is not None for c in factory.proxy.connections), "the backends")
        held.transport.write(b"x")
        await eventually(lambda: factory.proxy.bytes_to_backend >= 1, "the held byte")
        clock.pump([0.25] * 8)
        self.assertEqual(await quiet.ended, b"")
        await deferLater(reactor, QUIET)
        self.assertFalse(held.ended.called)
