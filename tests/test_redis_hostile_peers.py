"""Redis through a real skimming proxy, against peers that try to make
it slow or fat: a backend nesting RESP3 attributes thousands deep while
another connection is timed, and clients midway through large SETs while
the proxy's memory is read."""
from __future__ import annotations

import os
import socket
import threading
import time

from twisted.internet import protocol
from twisted.internet.defer import gatherResults
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import SkipTest, TestCase

from tests.proxying import WAIT, eventually, listen, proxy_settings, read_reply, start_proxy

#: A reply of attributes nested this deep (14 bytes a level, 84 KB): as
#: many levels as one chunk of the old reader took seconds over.
DEPTH = 7000
NESTED = b"|1\r\n+k\r\n+v\r\n" * DEPTH + b"+OK\r\n"
PONG = b"+PONG\r\n"
#: What each client sends of a SET that announces L{ANNOUNCED} bytes.
MIDWAY, ANNOUNCED = 24 << 20, 100 << 20
SETTERS = 4


def _resident() -> int:
    """This process's resident memory (the proxy runs in it), in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _ScriptedRedis(protocol.Protocol):
    """Answers C{NESTED} with L{NESTED} and C{PING} with C{+PONG}, sent
    one at a time; counts what it is sent."""

    def connectionMade(self) -> None:
        self.factory.received[self] = 0

    def dataReceived(self, data: bytes) -> None:
        self.factory.received[self] += len(data)
        if b"NESTED" in data:
            self.transport.write(NESTED)
        elif b"PING" in data:
            self.transport.write(PONG)


def _command(*words: bytes) -> bytes:
    return b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in words)


class HostileRedisPeersTests(TestCase):
    def setUp(self):
        self.backend = protocol.Factory.forProtocol(_ScriptedRedis)
        self.backend.received = {}
        self.port, factory = start_proxy(
            self, proxy_settings(listen(self, self.backend), protocol="redis"))
        self.proxy = factory.proxy

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        self.addCleanup(sock.close)
        return sock

    def ping(self, sock: socket.socket) -> float:
        """The time a PING through C{sock} takes, in seconds."""
        start = time.monotonic()
        sock.sendall(_command(b"PING"))
        self.assertEqual(read_reply(sock, PONG), PONG)
        return time.monotonic() - start

    async def test_nested_attributes_do_not_stall_other_connections(self):
        """Reading attributes nested N deep costs O(N): the timed
        connection's PINGs stay fast while the nested reply passes, and
        the reply passes whole."""
        timed, nesting = self.connect(), self.connect()
        await deferToThread(self.ping, timed)
        await deferToThread(self.ping, nesting)
        answer: list[bytes] = []

        def nested() -> None:
            nesting.sendall(_command(b"NESTED"))
            answer.append(read_reply(nesting, NESTED))
        thread = threading.Thread(target=nested)
        thread.start()
        self.addCleanup(thread.join)
        latencies = []
        deadline = time.monotonic() + 30
        while thread.is_alive() and time.monotonic() < deadline:
            latencies.append(await deferToThread(self.ping, timed))
        await deferToThread(thread.join, WAIT)
        self.assertEqual(answer, [NESTED])
        self.assertLess(max(latencies), 1.0, f"{len(latencies)} PINGs")
        self.assertEqual(self.proxy.fallbacks, 0)

    async def test_clients_midway_through_large_sets_cost_no_memory(self):
        """The proxy passes each chunk of a value on and keeps none of it:
        four clients, each 24 MB into a 100 MB SET, leave its resident
        memory where it was (the framers held every byte before)."""
        if "libasan" in os.environ.get("LD_PRELOAD", ""):
            raise SkipTest("AddressSanitizer keeps freed memory in quarantine")
        setters = [self.connect() for _ in range(SETTERS)]
        for sock in setters:
            await deferToThread(self.ping, sock)
        before = _resident()
        head = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % ANNOUNCED
        chunk = b"v" * (1 << 20)

        def send(sock: socket.socket) -> None:
            sock.sendall(head)
            for _ in range(MIDWAY // len(chunk)):
                sock.sendall(chunk)
        await gatherResults([deferToThread(send, sock) for sock in setters])
        ping = len(_command(b"PING"))
        await eventually(
            lambda: sorted(self.backend.received.values()) == [ping + len(head) + MIDWAY] * SETTERS,
            "the backend getting every byte sent")
        grown = _resident() - before
        self.assertLess(grown, 16 << 20, f"{grown >> 20} MB more resident")
        self.assertEqual(self.proxy.fallbacks, 0)
