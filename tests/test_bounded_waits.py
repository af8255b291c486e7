"""Every wait is bounded and no socket is left behind: calls in threads
end at the timeout, stuck threads are counted, and a client that leaves
frees both sockets at once, in every state, over real loopback sockets."""
from __future__ import annotations

import os
import socket
import threading

from twisted.internet.task import Clock
from twisted.internet.threads import deferToThread
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import TestCase

from tests.proxying import echo_backend, eventually, proxy_settings, start_proxy
from vaurien.handlers.base import BaseHandler

#: Released by the test: what a handler stuck outside its wrappers waits on.
RELEASE = threading.Event()
#: Set once that handler is running in its thread.
ENTERED = threading.Event()


class AsksNothingWaitsForAnswer(BaseHandler):
    """Seed-style: reads the backend without sending it the request, so
    its C{recv} can only end by the wrappers' timeout."""

    name = "waits"

    def __call__(self, client_sock, backend_sock, to_backend):
        client_sock.recv(1024)
        return bool(backend_sock.recv(1024))


class SleepsOutsideTheWrappers(BaseHandler):
    """Stuck in its own wait, which no wrapper can wake."""

    name = "sleeps"

    def __call__(self, client_sock, backend_sock, to_backend):
        ENTERED.set()
        RELEASE.wait(10)
        return True


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def connect_and_close(port: int, count: int, payload: bytes = b"") -> None:
    """C{count} clients that connect, maybe send, and close at once."""
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            if payload:
                sock.sendall(payload)
                sock.recv(len(payload))


class ThreadCallTests(TestCase):
    """A call in a worker thread never waits for ever."""

    def collect_log(self) -> list[str]:
        lines: list[str] = []

        def observe(event):
            if "log_format" in event and event.get("log_namespace", "").startswith("vaurien"):
                lines.append(event["log_format"])

        globalLogPublisher.addObserver(observe)
        self.addCleanup(globalLogPublisher.removeObserver, observe)
        return lines

    async def test_a_wait_on_the_wrappers_ends_at_the_timeout(self):
        """The wrappers start with C{timeout} as theirs: the seed-style
        C{recv} raises C{TimeoutError}, the call fails, its connection is
        closed with one log line and its thread is free again."""
        lines = self.collect_log()
        port, factory = start_proxy(self, proxy_settings(
            echo_backend(self), "100:tests.test_bounded_waits.AsksNothingWaitsForAnswer",
            timeout=0.3, threads=1,
        ))
        sock = await deferToThread(socket.create_connection, ("127.0.0.1", port), 5)
        self.addCleanup(sock.close)
        sock.sendall(b"request")
        sock.settimeout(5)
        self.assertEqual(await deferToThread(sock.recv, 10), b"")
        await eventually(lambda: not factory.proxy.threads.working, "the thread freed")
        self.assertEqual(len(self.flushLoggedErrors(TimeoutError)), 1)
        self.assertEqual(factory.proxy.stuck_threads, 0)
        self.assertTrue(any("failed" in line for line in lines), lines)

    async def test_a_thread_stuck_outside_the_wrappers_is_counted(self):
        """A handler in its own wait: its connection is closed at the
        timeout all the same, and C{/stats} counts the thread as stuck
        until it returns."""
        RELEASE.clear()
        ENTERED.clear()
        self.addCleanup(RELEASE.set)
        clock = Clock()
        port, factory = start_proxy(self, proxy_settings(
            echo_backend(self), "100:tests.test_bounded_waits.SleepsOutsideTheWrappers",
            timeout=8.0,
        ), clock=clock)
        sock = await deferToThread(socket.create_connection, ("127.0.0.1", port), 5)
        self.addCleanup(sock.close)
        sock.sendall(b"request")
        await deferToThread(ENTERED.wait, 5)
        for _ in range(5):  # the data, then no byte moved for the timeout
            clock.advance(2.0)
        self.assertEqual(len(factory.proxy.connections), 1)  # one check more
        clock.advance(2.0)
        self.assertEqual(factory.proxy.connections, set())
        self.assertEqual(factory.proxy.control.stats()["stuck_threads"], 1)
        sock.settimeout(5)
        self.assertEqual(await deferToThread(sock.recv, 10), b"")
        RELEASE.set()
        await eventually(lambda: factory.proxy.stuck_threads == 0, "the thread returned")


class SocketsFreedTests(TestCase):
    """A client that leaves frees both its sockets at once."""

    async def assert_freed(self, port: int, factory, count: int, payload: bytes = b"",
                           kept: int = 0) -> None:
        """C{count} clients come and go; at most C{kept} connections (two
        descriptors each) stay open."""
        before = open_descriptors()
        await deferToThread(connect_and_close, port, count, payload)
        await eventually(lambda: len(factory.proxy.connections) <= kept, "connections closed")
        await eventually(
            lambda: open_descriptors() <= before + 2 + 2 * kept, "the descriptors freed"
        )

    async def test_stay_connected_frees_clients_that_leave(self):
        """C{stay_connected} keeps a client whose backend closes, not one
        that is gone: 50 short clients leave nothing in CLOSE-WAIT."""
        port, factory = start_proxy(self, proxy_settings(
            echo_backend(self), stay_connected=True, timeout=30.0,
        ))
        await self.assert_freed(port, factory, 50, b"ping")

    async def test_tcp_keep_alive_frees_clients_that_leave(self):
        port, factory = start_proxy(self, proxy_settings(
            echo_backend(self), protocol_options={"keep_alive": True}, timeout=30.0,
        ))
        await self.assert_freed(port, factory, 50, b"ping")

    async def test_clients_leaving_while_the_backend_is_slow_to_accept(self):
        """A backend that never accepts (a full accept queue): clients that
        connect and close are freed at once, long before the timeout, and
        their pending backend connects are given up."""
        backend = socket.socket()
        self.addCleanup(backend.close)
        backend.bind(("127.0.0.1", 0))
        backend.listen(1)
        # On tcp, the backend connections that made it into the accept
        # queue (a backlog of 1: two) were sent the client's end of stream
        # and wait for the backend's, as a half-close must; a framed
        # connection that owes no answer ends at once.
        for protocol_name, kept in (("tcp", 2), ("redis", 0)):
            port, factory = start_proxy(self, proxy_settings(
                backend.getsockname()[1], protocol=protocol_name, timeout=30.0,
            ))
            await self.assert_freed(port, factory, 200, kept=kept)
            factory.proxy.stop()
