"""Tests for L{vaurien.waiting}: waits that end on time, on a
L{task.Clock}."""
from __future__ import annotations

from twisted.internet.defer import CancelledError
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from vaurien.waiting import SPIN, wait


class TurningClock(Clock):
    """A clock like a reactor's: each call made for now runs at the next
    turn, and a turn takes C{turn} seconds."""

    turn = SPIN / 8

    def __init__(self):
        super().__init__()
        self.turns = 0

    def run_turn(self) -> None:
        self.turns += 1
        self.rightNow += self.turn
        due = [call for call in self.calls if call.getTime() <= self.rightNow]
        for call in due:
            self.calls.remove(call)
            call.called = True
            call.func(*call.args, **call.kw)


class WaitTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.fired: list[float] = []

    def start(self, seconds: float, clock=None):
        waiting = wait(clock or self.clock, seconds)
        waiting.addCallback(lambda _: self.fired.append((clock or self.clock).seconds()))
        return waiting

    def test_sleeps_then_turns_the_reactor_until_the_deadline(self):
        clock = TurningClock()
        self.start(1.0, clock)
        (call,) = clock.getDelayedCalls()
        self.assertEqual(call.getTime(), 1.0 - SPIN)
        clock.advance(1.0 - SPIN - clock.turn)
        while not self.fired and clock.turns < 100:
            clock.run_turn()
            if not self.fired:  # not sleeping: the next call is for the next turn
                (call,) = clock.getDelayedCalls()
                self.assertEqual(call.getTime(), clock.seconds())
        self.assertEqual(self.fired, [clock.seconds()])
        self.assertTrue(1.0 <= self.fired[0] < 1.0 + clock.turn)
        self.assertIn(clock.turns, range(8, 11))  # SPIN / turn of them, give or take rounding

    def test_a_clock_that_stands_still_is_told_the_deadline(self):
        self.start(1.0)
        self.clock.advance(1.0 - SPIN / 2)
        (call,) = self.clock.getDelayedCalls()
        self.assertEqual(call.getTime(), 1.0)
        self.clock.advance(SPIN / 2)
        self.assertEqual(self.fired, [1.0])

    def test_a_late_clock_fires_at_once(self):
        self.start(0.5)
        self.clock.advance(2)
        self.assertEqual(self.fired, [2])

    def test_no_wait(self):
        self.start(0)
        self.assertEqual(self.fired, [0])

    def test_cancel(self):
        waiting = self.start(1.0)
        self.clock.advance(1.0 - SPIN / 2)
        waiting.cancel()
        self.failureResultOf(waiting, CancelledError)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.fired, [])
