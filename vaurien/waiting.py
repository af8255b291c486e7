"""Waiting on the reactor's clock, to the tens of microseconds.

A CPU left idle for the length of a wait wakes up late: a timer set for
100 ms fires 0.3 to 1 ms after its time on a virtual machine, now and
then later still. L{wait} sleeps through all but the last L{SPIN}
seconds and spends those on turns of the reactor that do not sleep
(which still serve every connection), so that a delay of 100 ms is
100 ms.
"""
from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred

#: The last stretch of a wait spent turning the reactor rather than
#: sleeping, in seconds: more than an idle CPU takes to wake, nearly always.
SPIN = 0.002


def wait(clock: Any, seconds: float) -> Deferred[None]:
    """A Deferred that fires C{seconds} from now on C{clock} (an
    C{IReactorTime}), and not later than it must; cancelling it cancels
    the wait."""
    deadline = clock.seconds() + seconds
    pending: list[Any] = []

    def cancel(_: Deferred[None]) -> None:
        if pending and pending[0].active():
            pending[0].cancel()

    done: Deferred[None] = Deferred(cancel)

    last: list[float] = []

    def check() -> None:
        now = clock.seconds()
        left = deadline - now
        if left <= 0:
            pending.clear()
            done.callback(None)
            return
        if left > SPIN:
            delay = left - SPIN
        elif last == [now]:  # a clock that only moves when told (task.Clock)
            delay = left
        else:
            delay = 0  # the next turn of the reactor, which does not sleep
        last[:] = [now]
        pending[:] = [clock.callLater(delay, check)]

    check()
    return done
