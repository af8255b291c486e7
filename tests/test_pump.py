"""The lane's pump (L{vaurien.fastpath.pump}), in Python and in C, on real
loopback TCP connections: every action it can hand back, and the same
answers from both."""
from __future__ import annotations

import gc
import select
import socket
import threading
import weakref

from twisted.trial.unittest import TestCase

from tests.accelerators import in_use
from vaurien.protocols.framing import FramingError
from vaurien.fastpath import pump

QUIET = object()  # the quiet slot in force


class _Key:
    """What the pump names a connection by; it marks it active."""

    active = False


def _pair(test: TestCase) -> tuple[socket.socket, socket.socket]:
    """Two ends of one loopback TCP connection, non-blocking."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        near = socket.create_connection(server.getsockname())
        far, _ = server.accept()
    for sock in (near, far):
        test.addCleanup(sock.close)
        sock.setblocking(False)
    return near, far


def _ready(sock: socket.socket) -> None:
    """Wait (bounded) until C{sock} has something to read."""
    select.select([sock], [], [], 5)


def _receive(sock: socket.socket, size: int) -> bytes:
    """Read exactly C{size} bytes from C{sock} (bounded in time)."""
    data = b""
    while len(data) < size:
        if not select.select([sock], [], [], 5)[0]:
            break
        data += sock.recv(size - len(data))
    return data


def _meanwhile(test: TestCase, steps, fallback) -> threading.Event:
    """Run C{steps} in a thread while the test's pump waits; unless the
    returned event is set within 5 s, run C{fallback} too, to end a wait
    that should have ended (the test then sees what it did)."""
    done = threading.Event()

    def run():
        steps()
        if not done.wait(5):
            fallback()

    thread = threading.Thread(target=run)
    thread.start()
    test.addCleanup(thread.join)
    test.addCleanup(done.set)
    return done


class PyPumpTests(TestCase):
    """The pump in Python."""

    Pump = pump.PyPump

    def setUp(self):
        self.pump = self.Pump(65536)
        self.addCleanup(self.pump.close)
        # client <-> [client_end  pump  backend_end] <-> backend
        self.client, self.client_end = _pair(self)
        self.backend_end, self.backend = _pair(self)
        self.key = _Key()
        self.seen: list[tuple[str, bytes]] = []

    def follow_requests(self, data: bytes) -> int:
        self.seen.append(("request", data))
        return data.count(b"\n")

    def follow_replies(self, data: bytes) -> None:
        self.seen.append(("reply", data))

    def add(self, framed: bool = True, slot=QUIET, budget: int = 1 << 62, admit=None) -> None:
        follow = (self.follow_requests, self.follow_replies) if framed else (None, None)
        self.pump.add(self.client_end.fileno(), self.backend_end.fileno(), self.key,
                      *follow, slot, budget, admit)

    def serve(self, ready: socket.socket) -> tuple[int, int, int, list]:
        _ready(ready)
        return self.pump.serve(QUIET, 64)

    def test_chunks_pass_both_ways_counted_and_followed(self):
        self.add()
        self.client.sendall(b"GET a\nGET b\n")
        self.assertEqual(self.serve(self.client_end), (12, 0, 2, []))
        self.assertEqual(_receive(self.backend, 12), b"GET a\nGET b\n")
        self.backend.sendall(b"1\n2\n")
        self.assertEqual(self.serve(self.backend_end), (0, 4, 0, []))
        self.assertEqual(_receive(self.client, 4), b"1\n2\n")
        self.assertEqual(self.seen, [("request", b"GET a\nGET b\n"), ("reply", b"1\n2\n")])
        self.assertTrue(self.key.active)
        self.assertEqual(len(self.pump), 1)

    def test_an_end_of_stream_hands_the_connection_back(self):
        self.add(framed=False)
        self.client.sendall(b"abc")
        self.serve(self.client_end)
        self.client.shutdown(socket.SHUT_WR)
        moved = self.serve(self.client_end)
        self.assertEqual(moved, (0, 0, 0, [("end", self.key, True, None, 3)]))
        self.assertEqual(len(self.pump), 0)
        self.assertEqual(_receive(self.backend, 3), b"abc")

    def test_a_slot_no_longer_quiet_hands_the_chunk_back_unsent(self):
        self.add(slot=object())
        self.client.sendall(b"SET x\n")
        self.assertEqual(self.serve(self.client_end),
                         (6, 0, 0, [("fault", self.key, True, b"SET x\n", 0)]))
        self.assertEqual(len(self.pump), 0)
        self.assertEqual(self.seen, [])
        with self.assertRaises(BlockingIOError):
            self.backend.recv(10)

    def test_admit_is_asked_about_each_chunk_from_the_client(self):
        """A chunk admit takes passes as usual; one it refuses, or that it
        raises on, is handed back unsent; replies are not shown to it."""
        asked = []

        def admit(data: bytes) -> bool:
            asked.append(data)
            if data == b"BAD\n":
                raise ValueError("a bug")
            return data != b"SET x\n"

        self.add(admit=admit)
        self.client.sendall(b"GET a\n")
        self.assertEqual(self.serve(self.client_end), (6, 0, 1, []))
        self.assertEqual(_receive(self.backend, 6), b"GET a\n")
        self.backend.sendall(b"1\n")
        self.assertEqual(self.serve(self.backend_end), (0, 2, 0, []))
        self.client.sendall(b"SET x\n")
        self.assertEqual(self.serve(self.client_end),
                         (6, 0, 0, [("fault", self.key, True, b"SET x\n", 8)]))
        self.assertEqual(asked, [b"GET a\n", b"SET x\n"])
        self.assertEqual(self.seen, [("request", b"GET a\n"), ("reply", b"1\n")])
        with self.assertRaises(BlockingIOError):
            self.backend.recv(10)
        self.add(admit=admit)
        self.client.sendall(b"BAD\n")
        self.assertEqual(self.serve(self.client_end),
                         (4, 0, 0, [("fault", self.key, True, b"BAD\n", 0)]))

    def test_a_peer_that_takes_part_gets_the_rest_handed_back(self):
        self.backend.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.backend_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        self.add(framed=False)
        chunk = bytes(range(256)) * 256  # 64 KiB, one read
        sent = 0
        actions: list = []
        while not actions and sent < 64 * len(chunk):
            sent += self.client.send(chunk)
            actions = self.serve(self.client_end)[3]
        ((kind, key, from_client, rest, passed),) = actions
        self.assertEqual((kind, key, from_client), ("partial", self.key, True))
        self.assertEqual(passed, sent)
        self.assertEqual(len(self.pump), 0)
        self.backend.setblocking(True)
        self.backend.settimeout(5)
        taken = b""
        while len(taken) < sent - len(rest):
            taken += self.backend.recv(65536)
        self.assertEqual(taken + rest, (chunk * 64)[:sent])

    def test_a_follower_that_raises_stops_the_skimming_after_the_send(self):
        def confused(data):
            raise FramingError("not the protocol")

        self.pump.add(self.client_end.fileno(), self.backend_end.fileno(), self.key,
                      confused, None, QUIET, 1 << 62)
        self.client.sendall(b"junk")
        *moved, ((kind, key, from_client, error, passed),) = self.serve(self.client_end)
        self.assertEqual((kind, key, from_client, passed), ("stop", self.key, True, 4))
        self.assertIsInstance(error, FramingError)
        self.assertEqual(str(error), "not the protocol")
        self.assertEqual(_receive(self.backend, 4), b"junk")

    def test_a_request_count_that_is_not_an_integer_stops_the_skimming(self):
        self.pump.add(self.client_end.fileno(), self.backend_end.fileno(), self.key,
                      lambda data: "one", None, QUIET, 1 << 62)
        self.client.sendall(b"GET\n")
        *moved, ((kind, key, from_client, error, passed),) = self.serve(self.client_end)
        self.assertEqual((moved, kind, passed), ([4, 0, 0], "stop", 4))
        self.assertIsInstance(error, TypeError)
        self.assertEqual(_receive(self.backend, 4), b"GET\n")

    def test_past_its_budget_a_connection_is_handed_back_to_splice(self):
        self.add(framed=False, budget=10)
        self.client.sendall(b"0123456789")
        self.assertEqual(self.serve(self.client_end)[3], [])
        self.backend.sendall(b"!")
        self.assertEqual(self.serve(self.backend_end)[3],
                         [("splice", self.key, False, None, 11)])
        self.assertEqual(_receive(self.client, 1), b"!")

    def test_a_read_that_fails_is_handed_back_with_its_error(self):
        """A listening socket is ready when a connection waits, and
        reading it fails: a real failing read."""
        listener = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(listener.close)
        self.pump.add(listener.fileno(), self.backend_end.fileno(), self.key,
                      None, None, None, 1 << 62)
        socket.create_connection(listener.getsockname()).close()
        _ready(listener)
        ((kind, key, from_client, error, passed),) = self.pump.serve(QUIET, 64)[3]
        self.assertEqual((kind, key, from_client, passed), ("failed", self.key, True, 0))
        self.assertEqual(error, "Transport endpoint is not connected")

    def test_remove_reports_what_passed_once(self):
        self.add(framed=False)
        self.client.sendall(b"abcd")
        self.serve(self.client_end)
        self.assertEqual(self.pump.remove(self.backend_end.fileno()), 4)
        self.assertIsNone(self.pump.remove(self.client_end.fileno()))
        self.assertEqual(len(self.pump), 0)
        self.client.sendall(b"more")
        self.assertEqual(self.serve(self.client_end), (0, 0, 0, []))

    def test_a_socket_is_served_once(self):
        self.add()
        with self.assertRaises(ValueError):
            self.pump.add(self.client_end.fileno(), self.client.fileno(), _Key(),
                          None, None, None, 0)
        self.assertEqual(len(self.pump), 1)

    def test_a_follower_may_take_its_own_connection_out(self):
        def leaving(data):
            self.assertEqual(self.pump.remove(self.client_end.fileno()), 2)
            return 1

        self.pump.add(self.client_end.fileno(), self.backend_end.fileno(), self.key,
                      leaving, None, QUIET, 1 << 62)
        self.client.sendall(b"x\n")
        self.assertEqual(self.serve(self.client_end), (2, 0, 1, []))
        self.assertEqual(len(self.pump), 0)
        self.assertEqual(_receive(self.backend, 2), b"x\n")

    def test_a_pump_in_a_reference_cycle_is_collected(self):
        key = _Key()
        key.pump = self.Pump(1024)
        key.pump.add(self.client_end.fileno(), self.backend_end.fileno(), key,
                     None, None, None, 0)
        gone = weakref.ref(key)
        del key
        gc.collect()
        self.assertIsNone(gone())

    def test_close_lets_every_connection_go(self):
        self.add()
        self.pump.close()
        self.assertEqual(len(self.pump), 0)
        # The sockets are the owner's: still open and working.
        self.client.sendall(b"x")
        self.assertEqual(_receive(self.client_end, 1), b"x")

    def nest(self, holds_pump: bool = True) -> tuple[select.epoll, socket.socket]:
        """An outer epoll set, holding the pump's as the reactor's does, and
        a socket whose peer stands for the outer set's other work."""
        outer = select.epoll()
        self.addCleanup(outer.close)
        if holds_pump:
            outer.register(self.pump.fileno(), select.EPOLLIN)
        work, work_end = socket.socketpair()
        for sock in (work, work_end):
            self.addCleanup(sock.close)
        outer.register(work_end.fileno(), select.EPOLLIN)
        return outer, work

    def assertBackInOuterSet(self, outer: select.epoll) -> None:
        """The pump's set is in the outer one again, as a reader."""
        self.client.sendall(b"more\n")
        self.assertIn(self.pump.fileno(), [fd for fd, _ in outer.poll(5)])

    def serve_waiting(self, outer: select.epoll, wait: int, steps, fallback) -> tuple:
        """Serve a first request, letting the pump wait up to C{wait} ms
        while C{steps} run in a thread (and C{fallback} after 5 s)."""
        self.add()
        self.client.sendall(b"GET a\n")
        done = _meanwhile(self, steps, fallback)
        _ready(self.client_end)
        try:
            return self.pump.serve(QUIET, 64, outer.fileno(), wait)
        finally:
            done.set()

    def test_waiting_it_serves_chunks_until_the_outer_set_has_work(self):
        outer, work = self.nest()

        def steps():
            _receive(self.backend, 6)
            self.client.sendall(b"GET b\n")  # while the pump waits
            _receive(self.backend, 6)
            work.sendall(b"!")
        moved = self.serve_waiting(outer, -1, steps, lambda: self.client.shutdown(socket.SHUT_WR))
        self.assertEqual(moved, (12, 0, 2, []))
        self.assertEqual(self.seen, [("request", b"GET a\n"), ("request", b"GET b\n")])
        self.assertBackInOuterSet(outer)

    def test_an_action_ends_the_wait(self):
        outer, work = self.nest()

        def steps():
            _receive(self.backend, 6)
            self.client.shutdown(socket.SHUT_WR)
        moved = self.serve_waiting(outer, -1, steps, lambda: work.sendall(b"!"))
        self.assertEqual(moved, (6, 0, 1, [("end", self.key, True, None, 6)]))
        self.assertEqual(len(self.pump), 0)
        with self.assertRaises(FileExistsError):  # back in the outer set
            outer.register(self.pump.fileno(), select.EPOLLIN)

    def test_the_wait_ends_at_its_limit(self):
        outer, _ = self.nest()
        moved = self.serve_waiting(outer, 20, lambda: None,
                                   lambda: self.client.shutdown(socket.SHUT_WR))
        self.assertEqual(moved, (6, 0, 1, []))
        self.assertEqual(outer.poll(0), [])
        self.assertBackInOuterSet(outer)

    def test_no_wait_in_a_set_that_does_not_hold_the_pump(self):
        outer, _ = self.nest(holds_pump=False)
        moved = self.serve_waiting(outer, -1, lambda: None,
                                   lambda: self.client.shutdown(socket.SHUT_WR))
        self.assertEqual(moved, (6, 0, 1, []))
        outer.register(self.pump.fileno(), select.EPOLLIN)  # it was not taken in


class CPumpTests(PyPumpTests):
    """The pump in C, with the same answers."""

    def setUp(self):
        self.Pump = in_use("vaurien.fastpath._pump").Pump
        super().setUp()

    def test_the_lane_uses_it(self):
        self.assertIs(pump.Pump, self.Pump)
