"""The lane (L{vaurien.fastpath.lane}): skimming redis connections and joined
tcp connections are read outside the reactor's dispatch, and handed back
to their transports for anything out of the ordinary, with every byte
kept."""
from __future__ import annotations

import select
import socket
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import redis
from twisted.internet import reactor
from twisted.internet.task import Clock, deferLater
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.proxying import (
    WAIT, echo_backend, entries, eventually, proxy_settings, read_reply, start_proxy,
)
from tests.accelerators import fast_paths_on
from tests.servers import start_redis
from vaurien.fastpath import lane
from vaurien.fastpath.pump import PyPump

#: A value larger than what the socket buffers between a client that does
#: not read and the proxy can hold.
BIG = 8 << 20


class SkimmingInTheLaneTests(TestCase):
    def setUp(self):
        fast_paths_on()
        self.redis_port = start_redis(self)
        self.port, factory = start_proxy(
            self, proxy_settings(self.redis_port, protocol="redis")
        )
        self.proxy = factory.proxy
        self.lane = self.proxy.lane

    def client(self) -> redis.Redis:
        """A redis-py client on one connection, connected at once: call it
        in a thread, not the reactor's."""
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=WAIT,
                             single_connection_client=True)
        self.addCleanup(client.close)
        return client

    def raw(self, receive_buffer: int = 0) -> socket.socket:
        sock = socket.socket()
        self.addCleanup(sock.close)
        if receive_buffer:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.settimeout(WAIT)
        sock.connect(("127.0.0.1", self.port))
        return sock

    async def pinged(self, sock: socket.socket, times: int = 3) -> None:
        """Ping through C{sock}; then its connection must be in the lane."""
        for _ in range(times):
            await deferToThread(sock.sendall, b"PING\r\n")
            self.assertEqual(await deferToThread(read_reply, sock, b"+PONG\r\n"), b"+PONG\r\n")
        await eventually(lambda: self.relay_of(sock).in_lane, "the connection in the lane")

    def relay_of(self, sock: socket.socket):
        (relay,) = [r for r in self.proxy.connections
                    if r.client.transport.getPeer().port == sock.getsockname()[1]]
        return relay

    async def test_a_connection_leaves_for_a_fault_and_comes_back(self):
        client = await deferToThread(self.client)
        values = await deferToThread(lambda: [client.incr("n") for _ in range(50)])
        self.assertEqual(values, list(range(1, 51)))
        (relay,) = self.proxy.connections
        self.assertTrue(relay.in_lane)
        self.proxy.use_handlers(entries("100:error"))
        sent = self.proxy.bytes_to_backend
        with self.assertRaises(redis.exceptions.ResponseError):
            await deferToThread(client.incr, "n")
        self.assertFalse(relay.in_lane)
        incr = b"*3\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$1\r\n1\r\n"  # redis-py's incr("n")
        self.assertEqual(self.proxy.bytes_to_backend - sent, len(incr))
        self.assertEqual(len(self.lane), 0)
        self.proxy.use_handlers(entries("100:dummy"))
        values = await deferToThread(lambda: [client.incr("n") for _ in range(5)])
        self.assertEqual(values, list(range(51, 56)))
        self.assertTrue(relay.in_lane)
        self.assertEqual(self.proxy.calls["error"], 1)

    async def test_a_busy_lane_lets_the_reactor_keep_its_timed_calls(self):
        """The pump waits for the lane's sockets no longer than the
        reactor's next timed call: one fires while a client keeps the
        lane busy from a thread (nothing else for the reactor to see)."""
        sock = self.raw()
        await self.pinged(sock)
        stop = threading.Event()

        def keep_busy() -> bool:
            """Ping until stopped (C{True}), or bounded out (C{False})."""
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if stop.is_set():
                    return True
                sock.sendall(b"PING\r\n")
                read_reply(sock, b"+PONG\r\n")
            return False

        busy = deferToThread(keep_busy)
        await deferLater(reactor, 0.05, stop.set)
        self.assertTrue(await busy)
        self.assertTrue(self.relay_of(sock).in_lane)

    async def test_counters_follow_the_lane(self):
        client = await deferToThread(self.client)
        await deferToThread(lambda: [client.set(f"k{n}", b"v" * n) for n in range(200)])
        self.assertEqual(len(self.lane), 1)
        calls, sent, received = (self.proxy.calls["dummy"], self.proxy.bytes_to_backend,
                                  self.proxy.bytes_to_client)
        await deferToThread(lambda: [client.get(f"k{n}") for n in range(100)])
        self.assertEqual(self.proxy.calls["dummy"], calls + 100)
        self.assertEqual(self.proxy.bytes_to_backend - sent,
                         sum(len(b"*2\r\n$3\r\nGET\r\n$%d\r\nk%d\r\n" % (len(str(n)) + 1, n))
                             for n in range(100)))
        self.assertEqual(self.proxy.bytes_to_client - received,
                         sum(len(b"$%d\r\n%s\r\n" % (n, b"v" * n)) if n else 6
                             for n in range(100)))

    async def test_a_slow_reader_gets_every_byte_from_the_transport(self):
        """A client that does not read: the chunk it cannot take goes to
        the transport, which pauses the backend; then all of it comes, and
        the connection goes back to the lane."""
        value = bytes(range(256)) * (BIG // 256)
        await deferToThread(lambda: self.client().set("big", value))
        sock = self.raw(receive_buffer=65536)
        await self.pinged(sock)
        relay = self.relay_of(sock)
        await deferToThread(sock.sendall, b"GET big\r\n")
        await eventually(lambda: not relay.in_lane, "a chunk the client could not take")
        expected = b"$%d\r\n" % len(value) + value + b"\r\n"
        self.assertEqual(await deferToThread(read_reply, sock, expected), expected)
        await self.pinged(sock)

    async def test_a_client_reset_closes_both_sides(self):
        sock = self.raw()
        await self.pinged(sock)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        await eventually(lambda: not self.proxy.connections, "the connection closed")
        self.assertEqual(len(self.lane), 0)

    async def test_a_read_that_fails_loses_its_transport(self):
        """A reset that comes between the readiness and the read: the
        transport is lost as the reactor would lose it."""
        sock = self.raw()
        await self.pinged(sock)
        relay = self.relay_of(sock)
        self.lane._pump = _ResettingPump(self.lane._pump, relay)
        await deferToThread(sock.sendall, b"PING\r\n")
        await eventually(lambda: relay.closed, "the connection closed")
        self.assertEqual(len(self.lane), 0)
        self.assertEqual(await deferToThread(sock.recv, 10), b"")

    async def test_a_backend_gone_at_rest_closes_the_client_as_direct(self):
        """A server that drops a client at rest (CLIENT KILL, its idle
        C{timeout}): the client sees the close, as it would direct."""
        sock = self.raw()
        await self.pinged(sock)
        killer = redis.Redis(host="127.0.0.1", port=self.redis_port, socket_timeout=WAIT)
        self.addCleanup(killer.close)
        killed = await deferToThread(killer.client_kill_filter, _type="normal", skipme=True)
        self.assertEqual(killed, 1)
        self.assertEqual(await deferToThread(sock.recv, 1), b"")
        sock.close()  # the client is done too
        await eventually(lambda: not self.proxy.connections, "the connection closed")
        self.assertEqual(len(self.lane), 0)

    async def test_garbage_in_the_lane_joins_the_connections(self):
        """The bytes are passed on before the framing sees them: the
        backend answers the garbage, as it would without the proxy."""
        sock = self.raw()
        await self.pinged(sock)
        await deferToThread(sock.sendall, b"*1\r\n%1\r\n")
        reply = await deferToThread(sock.recv, 4096)
        self.assertTrue(reply.startswith(b"-ERR Protocol error"), reply)
        self.assertEqual(self.proxy.fallbacks, 1)
        self.assertEqual(len(self.lane), 0)
        await self.pinged(self.raw())

    async def test_many_connections_share_the_lane(self):
        clients = await deferToThread(lambda: [self.client() for _ in range(20)])

        def run(client: redis.Redis) -> list:
            return [client.incr(str(id(client))) for _ in range(200)]

        def all_clients() -> list:
            with ThreadPoolExecutor(len(clients)) as pool:
                return list(pool.map(run, clients))

        results = await deferToThread(all_clients)
        self.assertEqual(results, [list(range(1, 201))] * len(clients))
        self.assertEqual(len(self.lane), len(clients))

    async def test_stopping_the_proxy_empties_the_lane(self):
        sock = self.raw()
        await self.pinged(sock)
        self.proxy.stop()
        self.assertEqual(len(self.lane), 0)
        self.assertEqual(await deferToThread(sock.recv, 10), b"")


class _FarReactor:
    """An epoll reactor whose next timed call is as far away as Twisted's
    own C{timeout} ever says (about 25 days)."""

    running = True

    def __init__(self):
        self._poller = select.epoll()

    def timeout(self) -> float:
        return 2**31 / 1000


class LaneWaitTests(TestCase):
    """How long the lane lets the pump wait."""

    def test_a_timed_call_weeks_away_still_fits_epoll_wait(self):
        far = _FarReactor()
        self.addCleanup(far._poller.close)
        self.assertEqual(lane.Lane(SimpleNamespace(reactor=far))._wait(), 2**31 - 1)

    def test_no_wait_on_a_reactor_without_an_epoll_set(self):
        self.assertEqual(lane.Lane(SimpleNamespace(reactor=Clock()))._wait(), 0)


class JoinedTcpInTheLaneTests(TestCase):
    def setUp(self):
        fast_paths_on()
        self.port, factory = start_proxy(self, proxy_settings(echo_backend(self)))
        self.proxy = factory.proxy

    async def joined(self) -> socket.socket:
        """A connection through the proxy to the echo server, in the lane."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=WAIT)
        self.addCleanup(sock.close)
        for n in range(3):
            message = b"ping %d\n" % n
            await deferToThread(sock.sendall, message)
            self.assertEqual(await deferToThread(read_reply, sock, message), message)
        await eventually(lambda: len(self.proxy.lane) == 1, "the connection in the lane")
        return sock

    async def test_a_half_close_goes_through_with_every_byte(self):
        sock = await self.joined()
        (relay,) = self.proxy.connections
        payload = bytes(range(256)) * 64

        def send_and_close() -> bytes:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            received = bytearray()
            while chunk := sock.recv(65536):
                received += chunk
            return bytes(received)

        self.assertEqual(await deferToThread(send_and_close), payload)
        await eventually(lambda: relay.closed, "the connection closed")
        self.assertEqual(len(self.proxy.lane), 0)
        self.assertEqual(self.proxy.bytes_to_backend, len(payload) + sum(
            len(b"ping %d\n" % n) for n in range(3)))

    async def test_past_its_first_mib_a_connection_is_spliced(self):
        sock = await self.joined()
        (relay,) = self.proxy.connections
        payload = bytes(range(256)) * (8 << 12)  # 2 MiB

        def echo_all() -> bytes:
            with ThreadPoolExecutor(1) as pool:
                pool.submit(sock.sendall, payload)
                return read_reply(sock, payload)

        self.assertEqual(await deferToThread(echo_all), payload)
        self.assertIsNotNone(relay.spliced)
        self.assertFalse(relay.in_lane)


class SkimmingInThePythonLaneTests(SkimmingInTheLaneTests):
    """The same with the pump in Python, as without a C compiler."""

    def setUp(self):
        self.patch(lane, "Pump", PyPump)
        super().setUp()


class JoinedTcpInThePythonLaneTests(JoinedTcpInTheLaneTests):
    """The same with the pump in Python, as without a C compiler."""

    def setUp(self):
        self.patch(lane, "Pump", PyPump)
        super().setUp()


class _ResettingPump:
    """A pump whose next turn finds C{relay}'s client socket reset."""

    def __init__(self, pump, relay):
        self._pump = pump
        self._relay = relay

    def __getattr__(self, name):
        return getattr(self._pump, name)

    def serve(self, quiet, batch, outer, wait):
        passed = self._pump.remove(self._relay.client.transport.fileno())
        self.serve = self._pump.serve
        return 0, 0, 0, [("failed", self._relay, True, "Connection reset by peer", passed)]
