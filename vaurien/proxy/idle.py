"""The idle timeout of one connection, and handler threads that get stuck.

One timer per connection checks, four times per timeout, whether any byte
moved since the last check; a connection that moved none for the whole
timeout is closed.
"""
from __future__ import annotations

from typing import Any

from twisted.logger import Logger

#: How many idle checks in a row close a connection: the idle timeout is
#: honoured within a quarter of its length, with one timer per connection.
IDLE_CHECKS = 4


def watch_idle(connection: Any) -> IdleWatch | Unwatched:
    """Start watching C{connection}; with C{timeout} 0 or
    C{stay_connected}, L{UNWATCHED}: nothing is held for it."""
    settings = connection.proxy.settings
    if not settings.timeout or settings.stay_connected:
        return UNWATCHED
    watch = IdleWatch(connection)
    watch.start()
    return watch


class Unwatched:
    """Stands for the watch of a connection that no timeout applies to."""

    __slots__ = ()

    def stop(self) -> None:
        """Nothing to stop."""


UNWATCHED = Unwatched()


class IdleWatch:
    """Closes an idle connection (a L{vaurien.proxy.connection.Connection}).

    A call on the reactor bounds its own wait (C{delay} waits its
    C{sleep}) and a connection holding calls on purpose (C{hang}) is left
    alone. A call in a worker thread that moves no byte is stuck: it gets
    one check more than the rest, so that its wrappers' own timeout ends a
    wait on them first; then its connection is closed all the same and the
    thread is counted as stuck until it returns.
    """

    __slots__ = ("connection", "proxy", "_checks", "_timer")  # one per connection
    log = Logger()

    def __init__(self, connection: Any):
        self.connection = connection
        self.proxy = connection.proxy
        self._checks = 0
        self._timer: Any = None

    def start(self) -> None:
        """Check again in a quarter of the timeout."""
        self._timer = self.proxy.clock.callLater(self.proxy.settings.timeout / IDLE_CHECKS, self._check)

    def stop(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()

    def _check(self) -> None:
        self._timer = None
        connection = self.connection
        thread_call = connection.thread_call()
        if connection.active or thread_call is None and connection.waits_on_purpose():
            connection.active = False
            self._checks = 0
        else:
            self._checks += 1
            if self._checks >= IDLE_CHECKS + (thread_call is not None):
                self._close(thread_call)
                return
        self.start()

    def _close(self, thread_call: Any) -> None:
        connection, timeout = self.connection, self.proxy.settings.timeout
        if thread_call is not None:
            self.log.warn(
                "{proxy}: handler {handler} stuck in its thread for {timeout}s; closing {peer}",
                proxy=self.proxy.name, handler=connection.handler_in_call(), peer=connection.peer,
                timeout=timeout,
            )
            self.proxy.thread_stuck(thread_call)
        self.log.info(
            "{proxy}: {peer} idle for {timeout}s; closing",
            proxy=self.proxy.name, peer=connection.peer, timeout=timeout,
        )
        connection.close()
