"""The idle timeout of a proxy's connections, and handler threads that get
stuck.

One timer per proxy (none while it has no connection, or no timeout)
checks each connection four times per timeout: whether any byte moved
since the last check; a connection that moved none for the whole timeout
is closed. An idle connection holds no timer of its own, only its count
of checks; its first check counts from the next one, so that none is
closed before its timeout.
"""
from __future__ import annotations

from typing import Any

from twisted.logger import Logger

#: How many idle checks in a row close a connection: the idle timeout is
#: honoured within a quarter of its length, with one timer per proxy.
IDLE_CHECKS = 4
#: A new connection's count of checks: its first check does not count.
FIRST_CHECK = -1


class IdleSweep:
    """Closes a proxy's idle connections (L{vaurien.proxy.connection.Connection}:
    their C{active} flag and C{idle_checks} count).

    A call on the reactor bounds its own wait (C{delay} waits its
    C{sleep}) and a connection holding calls on purpose (C{hang}) is left
    alone. A call in a worker thread that moves no byte is stuck: it gets
    one check more than the rest, so that its wrappers' own timeout ends a
    wait on them first; then its connection is closed all the same and the
    thread is counted as stuck until it returns.
    """

    __slots__ = ("proxy", "_timer")
    log = Logger()

    def __init__(self, proxy: Any):
        self.proxy = proxy
        self._timer: Any = None

    def watch(self) -> None:
        """The proxy has connections: check them every quarter of the
        timeout (never with C{timeout} 0 or C{stay_connected})."""
        settings = self.proxy.settings
        if self._timer is None and settings.timeout and not settings.stay_connected:
            self._timer = self.proxy.clock.callLater(settings.timeout / IDLE_CHECKS, self._sweep)

    def stop(self) -> None:
        """No connection left to check."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _sweep(self) -> None:
        self._timer = None
        for connection in list(self.proxy.connections):
            if not connection.closed:
                self._check(connection)
        if self.proxy.connections:
            self.watch()

    def _check(self, connection: Any) -> None:
        thread_call = connection.thread_call()
        if connection.active or thread_call is None and connection.waits_on_purpose():
            connection.active = False
            connection.idle_checks = 0
        else:
            connection.idle_checks += 1
            if connection.idle_checks >= IDLE_CHECKS + (thread_call is not None):
                self._close(connection, thread_call)

    def _close(self, connection: Any, thread_call: Any) -> None:
        proxy, timeout = self.proxy, self.proxy.settings.timeout
        if thread_call is not None:
            self.log.warn(
                "{proxy}: handler {handler} stuck in its thread for {timeout}s; closing {peer}",
                proxy=proxy.name, handler=connection.handler_in_call(), peer=connection.peer,
                timeout=timeout,
            )
            proxy.thread_stuck(thread_call)
        self.log.info(
            "{proxy}: {peer} idle for {timeout}s; closing",
            proxy=proxy.name, peer=connection.peer, timeout=timeout,
        )
        connection.close()
