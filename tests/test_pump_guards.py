"""The lane's pump, in Python and in C, against misuse and failures: a
second serve while one runs, descriptors that are not open or not
ints, exceptions that are not errors, and a MemoryError after a chunk
is read (nothing read is lost)."""
from __future__ import annotations

import select
import socket

from twisted.trial.unittest import TestCase

from tests.accelerators import in_use
from tests.processes import python_output
from tests.test_pump import QUIET, _Key, _meanwhile, _pair, _ready, _receive
from vaurien.fastpath import pump


class _FailingKey(_Key):
    """A key whose first C{active = True} raises C{MemoryError}, as the
    allocation of a new attribute value could."""

    def __init__(self):
        object.__setattr__(self, "failing", True)

    def __setattr__(self, name, value):
        if name == "active" and self.failing:
            object.__setattr__(self, "failing", False)
            raise MemoryError()
        super().__setattr__(name, value)


class PyPumpGuardTests(TestCase):
    """The pump in Python."""

    pump_name = "PyPump"

    def setUp(self):
        self.Pump = getattr(pump, self.pump_name)
        self.pump = self.Pump(65536)
        self.addCleanup(self.pump.close)
        self.client, self.client_end = _pair(self)
        self.backend_end, self.backend = _pair(self)

    def add(self, key=None, follow_requests=None, slot=QUIET) -> None:
        self.pump.add(self.client_end.fileno(), self.backend_end.fileno(), key or _Key(),
                      follow_requests, None, slot, 1 << 62)

    def test_a_follower_cannot_serve_again(self):
        refused = []

        def follow(data):
            with self.assertRaises(RuntimeError) as caught:
                self.pump.serve(QUIET, 64)
            refused.append(str(caught.exception))
            with self.assertRaises(RuntimeError):
                self.pump.close()
            return 1

        self.add(follow_requests=follow)
        self.client.sendall(b"x\n")
        _ready(self.client_end)
        self.assertEqual(self.pump.serve(QUIET, 64), (2, 0, 1, []))
        self.assertEqual(refused, ["the pump is serving"])
        self.assertEqual(_receive(self.backend, 2), b"x\n")

    def test_another_thread_cannot_serve_or_close_while_it_waits(self):
        outer = select.epoll()
        self.addCleanup(outer.close)
        outer.register(self.pump.fileno(), select.EPOLLIN)
        work, work_end = socket.socketpair()
        for sock in (work, work_end):
            self.addCleanup(sock.close)
        outer.register(work_end.fileno(), select.EPOLLIN)
        refused = []

        def steps():
            _receive(self.backend, 2)  # the pump waits now
            for call in (lambda: self.pump.serve(QUIET, 4096), self.pump.close):
                try:
                    call()
                except RuntimeError as e:
                    refused.append(str(e))
            work.sendall(b"!")

        self.add(follow_requests=lambda data: 1)
        self.client.sendall(b"x\n")
        done = _meanwhile(self, steps, lambda: self.client.shutdown(socket.SHUT_WR))
        _ready(self.client_end)
        try:
            moved = self.pump.serve(QUIET, 64, outer.fileno(), 5000)
        finally:
            done.set()
        self.assertEqual(moved, (2, 0, 1, []))
        self.assertEqual(refused, ["the pump is serving"] * 2)

    def test_a_descriptor_that_is_not_open_is_refused_at_once(self):
        """Not a loop without end growing a table for it."""
        script = (
            "import sys\n"
            "from vaurien.fastpath import pump\n"
            f"p = pump.{self.pump_name}(64)\n"
            "try:\n"
            "    p.add(2**31 - 1, 2**31 - 2, None, None, None, None, 0)\n"
            "except OSError as e:\n"
            "    print(type(e).__name__, len(p))\n"
        )
        self.assertEqual(python_output(script), "OSError 0\n")

    def test_remove_of_a_number_past_int_range_finds_nothing(self):
        self.add()
        self.assertIsNone(self.pump.remove(self.client_end.fileno() + 2**32))
        self.assertIsNone(self.pump.remove(2**70))
        self.assertEqual(len(self.pump), 1)

    def test_an_exception_that_is_not_an_error_goes_up(self):
        def interrupted(data):
            raise KeyboardInterrupt()

        self.add(follow_requests=interrupted)
        self.client.sendall(b"x\n")
        _ready(self.client_end)
        with self.assertRaises(KeyboardInterrupt):
            self.pump.serve(QUIET, 64)
        self.assertEqual(_receive(self.backend, 2), b"x\n")  # sent before
        self.assertEqual(len(self.pump), 1)

    def test_a_memory_error_after_a_read_loses_no_chunk(self):
        key = _FailingKey()
        self.add(key)
        self.client.sendall(b"chunk")
        _ready(self.client_end)
        with self.assertRaises(MemoryError):
            self.pump.serve(QUIET, 64)
        self.assertEqual(_receive(self.backend, 5), b"chunk")
        self.client.sendall(b"next")
        _ready(self.client_end)
        self.assertEqual(self.pump.serve(QUIET, 64), (4, 0, 0, []))
        self.assertEqual(_receive(self.backend, 4), b"next")
        self.assertTrue(key.active)

    def test_the_actions_of_a_serve_that_raised_come_with_the_next(self):
        """A chunk read for a fault is handed back, even when the serve
        that read it raised."""
        key = _FailingKey()
        self.add(key, follow_requests=lambda data: 1, slot=object())
        self.client.sendall(b"GET x\n")
        _ready(self.client_end)
        with self.assertRaises(MemoryError):
            self.pump.serve(QUIET, 64)
        self.assertEqual(self.pump.serve(QUIET, 64),
                         (0, 0, 0, [("fault", key, True, b"GET x\n", 0)]))
        self.assertEqual(len(self.pump), 0)


class CPumpGuardTests(PyPumpGuardTests):
    """The pump in C, with the same answers."""

    pump_name = "Pump"

    def setUp(self):
        in_use("vaurien.fastpath._pump")
        super().setUp()

    def test_initialising_again_is_refused(self):
        """Even once closed: its read buffer is not made twice."""
        self.pump.close()
        with self.assertRaises(RuntimeError):
            self.pump.__init__(64)
        with self.assertRaises(ValueError):
            self.pump.serve(QUIET, 64)
