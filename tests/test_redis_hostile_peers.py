"""Redis through a real skimming proxy, against peers that try to make
it slow or fat: a backend nesting RESP3 attributes thousands deep while
another connection is timed, and clients midway through large SETs while
the proxy's memory is read."""
from __future__ import annotations

import socket
import threading
import time

from twisted.internet import protocol
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.proxying import WAIT, eventually, listen, proxy_settings, read_reply, start_proxy

#: A reply of attributes nested this deep (14 bytes a level, 84 KB): as
#: many levels as one chunk of the old reader took seconds over.
DEPTH = 7000
NESTED = b"|1\r\n+k\r\n+v\r\n" * DEPTH + b"+OK\r\n"
PONG = b"+PONG\r\n"


class _ScriptedRedis(protocol.Protocol):
    """Answers each request, sent one at a time: C{NESTED} with
    L{NESTED}, anything else with C{+PONG}; counts what it is sent."""

    def connectionMade(self) -> None:
        self.factory.received[self] = 0

    def dataReceived(self, data: bytes) -> None:
        self.factory.received[self] += len(data)
        if data.startswith(b"*"):
            self.transport.write(NESTED if b"NESTED" in data else PONG)


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
