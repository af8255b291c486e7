"""Staying power over real loopback sockets: a flood of connections
opened and dropped leaks no file descriptor, a backend killed mid-stream
closes every client and leaves the proxy serving the next backend, and
mixed faults lose no byte on the connections they leave alone."""
from __future__ import annotations

import os
import resource
import select
import shutil
import signal
import socket
import struct
import subprocess
import time
from collections import Counter

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from twisted.internet import protocol, reactor
from twisted.internet.defer import gatherResults
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import SkipTest, TestCase

from tests.accelerators import fast_paths_on
from tests.proxying import (
    Collector,
    Echo,
    PayloadSender,
    connect,
    proxy_settings,
)
from tests.servers import READY_WITHIN, free_port
from tests.test_bridge import poll
from vaurien.proxy import ProxyFactory
from vaurien.util import end_process

MiB = 1 << 20
#: Connections of a flood, and how many of them are open at once.
FLOOD, BATCH = 5_000, 1_000
#: What a flooding client may send before it goes: a whole redis command
#: for some, the start of one for others.
FLOOD_BYTES = (b"*1\r\n$4\r\nPING\r\n", b"*2\r\n$3\r\nGET\r\n$1\r\nk")


def open_fds() -> dict[int, str]:
    """The file descriptors this process has open, with what they are."""
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            fds[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            pass  # the listing's own descriptor, closed by now
    return fds


def raise_fd_limit() -> None:
    """The soft limit on open files up to the hard one (20,000 here)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def serve(test: TestCase, factory: protocol.Factory, port: int = 0) -> protocol.Factory:
    """Listen on loopback (C{port}, or a free one) with a backlog deep
    enough for a batch of a flood, as the proxy's own is (up to the
    system's C{somaxconn}), so that no connection the client saw
    established is dropped unaccepted; the port is C{factory.port}."""
    factory.port = reactor.listenTCP(port, factory, backlog=2 * BATCH, interface="127.0.0.1")
    test.addCleanup(factory.port.stopListening)
    return factory


def start_proxy(test: TestCase, settings) -> tuple[int, ProxyFactory]:
    """An in-process proxy listening with its configured backlog."""
    factory = serve(test, ProxyFactory(settings))
    test.addCleanup(factory.proxy.stop)
    return factory.port.getHost().port, factory


def flood(port: int, accepted, count: int = FLOOD, batch: int = BATCH) -> int:
    """Open C{count} connections to C{port}, C{batch} at once; every
    third sends a few bytes, every seventh ends with a reset; all close.
    A batch starts once C{accepted()} (the proxy's count, read across
    threads) shows the one before it accepted, so that the accept queue
    never overflows. Blocking: for a thread.

    @return: how many connections were established.
    """
    established = 0
    first = accepted()
    for start in range(0, count, batch):
        deadline = time.monotonic() + 10
        while accepted() - first < start and time.monotonic() < deadline:
            time.sleep(0.005)  # waiting on the reactor thread, bounded
        sockets = []
        for n in range(start, min(start + batch, count)):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            sockets.append(sock)
        waiting = select.poll()
        pending = {sock.fileno() for sock in sockets}
        for fd in pending:
            waiting.register(fd, select.POLLOUT)
        deadline = time.monotonic() + 10
        while pending and time.monotonic() < deadline:
            for fd, _ in waiting.poll(100):
                waiting.unregister(fd)
                pending.discard(fd)
        for n, sock in enumerate(sockets, start):
            failed = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if not failed and sock.fileno() not in pending:
                established += 1
                try:
                    if n % 3 == 0:
                        sock.send(FLOOD_BYTES[n % 2])
                except OSError:
                    pass
            if n % 7 == 0:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
    return established


async def baseline() -> dict[int, str]:
    """The open files to come back to. Trial starts the reactor at a
    test's first wait, which opens a pipe (its SIGCHLD waker): count
    after that."""
    await deferLater(reactor, 0)
    return open_fds()


async def settled(test: TestCase, factory: ProxyFactory, fds: dict[int, str],
                  spare: int = 0) -> None:
    """Wait (bounded) until the proxy holds no connection and this process
    has the open files of C{fds} again (C{spare} more allowed)."""
    await poll(lambda: not factory.proxy.connections, timeout=15)
    try:
        await poll(lambda: len(open_fds()) <= len(fds) + spare, timeout=10)
    except AssertionError:
        pass  # the check below says what is left
    now = open_fds()
    extra = {fd: what for fd, what in now.items() if fds.get(fd) != what}
    # A leak is more open files than at the start: one open then may have
    # been closed since (a client of an earlier test, collected), and that
    # is no leak.
    test.assertLessEqual(len(now) - spare, len(fds), f"open since: {extra}")


async def echoed(port: int, payload: bytes = b"ping\r\n") -> bytes:
    """One echo round trip through C{port}: what came back."""
    client = Collector()
    await connect(port, client)
    client.transport.write(payload)
    client.transport.loseWriteConnection()
    got = await client.ended
    client.transport.loseConnection()
    return got


class RedisServer:
    """Debian's redis-server as a subprocess on a given port, that a test
    may kill outright and start again on the same port."""

    def __init__(self, test: TestCase):
        if shutil.which("redis-server") is None:
            raise SkipTest("redis-server is not installed (Debian package 'redis-server')")
        self.test = test
        self.port = free_port()
        self.directory = test.mktemp()
        os.makedirs(self.directory)
        self.process: subprocess.Popen | None = None

    def start(self) -> int:
        """Run it and wait (bounded) until it accepts connections."""
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", self.directory]
        process = self.process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.test.addCleanup(end_process, process)
        deadline = time.monotonic() + READY_WITHIN
        while time.monotonic() < deadline and process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self.port
            except OSError:
                time.sleep(0.02)  # waiting for a process to start, not timing logic
        raise AssertionError(f"redis-server did not listen on port {self.port}")

    def kill(self) -> None:
        """SIGKILL: no goodbye to any client."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def redis_client(test: TestCase, port: int) -> redis.Redis:
    """redis-py to C{port}, retrying a failed command twice at once."""
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10,
                         retry=Retry(NoBackoff(), 2))
    test.addCleanup(client.close)
    return client


class FloodTests(TestCase):
    """5,000 connections opened and dropped, a thousand at once, leak no
    file descriptor and leave the proxy serving."""

    def setUp(self):
        raise_fd_limit()

    async def run_flood(self, backend_port: int, warm_up, **settings) -> ProxyFactory:
        port, factory = start_proxy(self, proxy_settings(backend_port, **settings))

        def accepted():
            return factory.proxy.connections_total

        fds = await baseline()
        # A few first connections: nothing made once and kept (the
        # reactor's thread pool has threads, no files) may hide a leak.
        await warm_up(port)
        await deferToThread(flood, port, accepted, 10, 10)
        await settled(self, factory, fds)
        established = await deferToThread(flood, port, accepted)
        self.assertEqual(established, FLOOD)
        await settled(self, factory, fds)
        self.assertEqual(factory.proxy.connections_total, 1 + 10 + FLOOD)
        await warm_up(port)  # and it still serves
        self.assertEqual(self.flushLoggedErrors(), [])
        return factory

    async def test_tcp_flood(self):
        """Through C{100:dummy} tcp to an echo server."""
        backend = serve(self, protocol.Factory.forProtocol(Echo))

        async def warm_up(port):
            self.assertEqual(await echoed(port), b"ping\r\n")

        await self.run_flood(backend.port.getHost().port, warm_up)

    async def test_redis_flood(self):
        """Through the redis framer to a real redis-server."""
        server = RedisServer(self)
        server.start()

        async def warm_up(port):
            client = redis_client(self, port)
            self.assertTrue(await deferToThread(client.ping))
            client.close()

        await self.run_flood(server.port, warm_up, protocol="redis")


class Firehose(protocol.Protocol):
    """Streams to its client as fast as it takes, at most L{LIMIT} bytes."""

    LIMIT = 256 * MiB
    CHUNK = b"\xa5" * (1 << 16)

    def connectionMade(self):
        self.factory.connections.append(self)
        self.sent = 0
        self.transport.registerProducer(self, False)

    def resumeProducing(self):
        if self.sent < self.LIMIT:
            self.transport.write(self.CHUNK)
            self.sent += len(self.CHUNK)

    def stopProducing(self):
        pass


class FirehoseFactory(protocol.Factory):
    """Firehoses, kept in L{connections} for the test to abort."""

    protocol = Firehose

    def __init__(self):
        self.connections: list[Firehose] = []


class Counting(Collector):
    """A client that only counts what it gets."""

    def dataReceived(self, data):
        self.count += len(data)


class BackendKilledTests(TestCase):
    """A backend killed mid-stream: every client closed promptly, the
    proxy alive, the next backend on the same port served."""

    async def test_tcp_backend_killed_while_spliced(self):
        """20 clients, each past 2 MiB (so spliced by the kernel), when the
        backend's port closes and every connection of it is aborted."""
        fast_paths_on()
        backend = serve(self, FirehoseFactory())
        backend_port = backend.port.getHost().port
        port, factory = start_proxy(self, proxy_settings(backend_port))
        fds = await baseline()

        clients = [Counting() for _ in range(20)]
        await gatherResults([connect(port, client) for client in clients])
        await poll(lambda: all(client.count > 2 * MiB for client in clients), timeout=15)
        relays = list(factory.proxy.connections)
        self.assertEqual(len(relays), 20)
        self.assertTrue(all(relay.spliced is not None for relay in relays),
                        [relay.spliced for relay in relays])

        await backend.port.stopListening()
        for server in backend.connections:
            server.transport.abortConnection()
        await poll(lambda: all(client.ended.called for client in clients), timeout=5)
        for client in clients:
            client.transport.loseConnection()
        await poll(lambda: not factory.proxy.connections, timeout=5)
        self.assertEqual(self.flushLoggedErrors(), [])

        serve(self, protocol.Factory.forProtocol(Echo), backend_port)
        # Pipes the pool keeps for the next spliced connections are no leak.
        await settled(self, factory, fds, spare=2 * factory.proxy.pipes.kept)
        self.assertEqual(await echoed(port, b"again\r\n"), b"again\r\n")

    async def test_redis_killed_mid_pipeline(self):
        """redis-server SIGKILLed while a long pipeline runs: redis-py gets
        a ConnectionError; redis started again on the same port serves."""
        server = RedisServer(self)
        server.start()
        port, factory = start_proxy(self, proxy_settings(server.port, protocol="redis"))
        fds = await baseline()

        def pipelines():
            client = redis_client(self, port)
            with self.assertRaises(redis.exceptions.ConnectionError):
                for _ in range(2_000):  # bounded: the kill comes long before
                    pipe = client.pipeline(transaction=False)
                    for n in range(1_000):
                        pipe.set(f"key:{n}", "x" * 100)
                        pipe.get(f"key:{n}")
                    pipe.execute()
            client.close()

        running = deferToThread(pipelines)
        await poll(lambda: factory.proxy.calls["dummy"] > 20_000, timeout=15)
        server.kill()
        await running
        await settled(self, factory, fds)
        self.assertGreater(factory.proxy.backend_failures, 0)  # the retries
        self.assertEqual(self.flushLoggedErrors(), [])

        server.start()

        def works():
            client = redis_client(self, port)
            self.assertTrue(client.set("after", "kill"))
            self.assertEqual(client.get("after"), b"kill")
            client.close()

        await deferToThread(works)


class Waiting(Collector):
    """A client that sends its sequence-numbered payload when told."""

    def __init__(self, payload: bytes):
        super().__init__()
        self.payload = payload

    def go(self):
        PayloadSender(self.transport, self.payload, chunk=4096)


class MixedFaultsTests(TestCase):
    """Faults on a share of connections leave the others byte-exact."""

    async def test_50_connections_mixed_faults(self):
        backend = serve(self, protocol.Factory.forProtocol(Echo))
        settings = proxy_settings(
            backend.port.getHost().port, "30:delay,20:error,10:hang",
            handler_options={"delay": {"sleep": 0.0}}, seed=11,
        )
        port, factory = start_proxy(self, settings)
        fds = await baseline()
        await echoed(port)  # whatever handler it gets
        await settled(self, factory, fds)
        warm_up_calls = Counter(factory.proxy.calls)

        clients = [
            Waiting(b"".join(b"%02d:%07d\n" % (i, n) for n in range(20_000)))
            for i in range(50)
        ]
        await gatherResults([connect(port, client) for client in clients])
        await poll(lambda: len(factory.proxy.connections) == 50)
        slots = {relay.peer[1]: relay.slot.name for relay in factory.proxy.connections}
        handlers = [slots[client.transport.getHost().port] for client in clients]
        self.assertEqual(Counter(handlers), factory.proxy.calls - warm_up_calls)
        self.assertEqual(set(handlers), {"dummy", "delay", "error", "hang"}, Counter(handlers))

        for client in clients:
            client.go()
        received = await gatherResults([client.ended for client in clients])
        for client, handler, got in zip(clients, handlers, received):
            if handler in ("dummy", "delay"):
                # Not assertEqual: a 240 kB diff is no help.
                self.assertTrue(got == client.payload, (handler, len(got), got[:40]))
            elif handler == "error":  # each answer replaced by 1,000 random bytes
                self.assertTrue(got and len(got) % 1_000 == 0 and got != client.payload,
                                (handler, len(got)))
            else:  # hang: swallows all, never answers; ends when the client does
                self.assertEqual(got, b"", handler)
            client.transport.loseConnection()

        await settled(self, factory, fds)
        self.assertEqual(self.flushLoggedErrors(), [])
