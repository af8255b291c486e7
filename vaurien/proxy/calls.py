"""Running a connection's handler calls, one at a time, each in the style
its handler was written in."""
from __future__ import annotations

import inspect
from typing import Any

from attrs import frozen
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure

from vaurien.config import Targets


def runs_in_thread(handler: Any) -> bool:
    """C{True} for a handler written for blocking sockets.

    A handler runs on the reactor when its C{__call__} is a coroutine
    function or it declares C{blocking = False}; otherwise (the seed's
    style) it runs in a worker thread with blocking wrappers.
    """
    if inspect.iscoroutinefunction(type(handler).__call__):
        return False
    return bool(getattr(handler, "blocking", True))


@frozen
class HandlerSlot:
    """A handler instance with its share of the calls.

    @ivar percent: share of the calls, 0 to 100.
    @ivar name: the name counters and logs use.
    @ivar handler: the handler instance.
    @ivar in_thread: run in a worker thread (see L{runs_in_thread}).
    @ivar passthrough: the handler only passes bytes on; the proxy may join
        the connections without calling it.
    @ivar holds_connection: the handler keeps connections open on purpose;
        the idle timeout leaves them alone.
    @ivar targets: the framed requests it applies to.
    @ivar every_request: it applies to every request (no targets given).
    """

    percent: int
    name: str
    handler: Any
    in_thread: bool
    passthrough: bool
    holds_connection: bool
    targets: Targets = Targets()
    every_request: bool = True

    def call(self, client: Any, backend: Any, to_backend: bool, proxy: Any) -> Any:
        """Run the handler once, for C{proxy} (its reactor and threads).

        In a thread, both wrappers start each call with the proxy's
        C{timeout} as theirs (the handler may change it): a C{recv} that
        waits longer raises C{TimeoutError}, as a socket would.

        @return: its result, or a Deferred of it for a handler that waits
            (coroutine, Deferred) or runs in a thread.
        """
        if self.in_thread:
            timeout = proxy.settings.timeout or None
            for side in (client, backend):
                side.blocking = True
                side.settimeout(timeout)  # as the original's sockets had
            d = deferToThreadPool(
                proxy.reactor, proxy.threads, self.handler, client, backend, to_backend
            )
            return d.addBoth(_back_on_reactor, client, backend)
        result = self.handler(client, backend, to_backend)
        if inspect.iscoroutine(result):
            return Deferred.fromCoroutine(result)
        return result


def _back_on_reactor(result: Any, client: Any, backend: Any) -> Any:
    client.blocking = backend.blocking = False
    return result


class CallRunner:
    """Runs the handler calls of one connection, never two at once.

    The connection hears of each call's result through C{call_done}; a
    handler that raises ends that connection, and only that one.

    @ivar running: a call runs (the connection is "in a call").
    """

    __slots__ = ("connection", "running", "_waiting", "_slot")
    log = Logger()

    def __init__(self, connection: Any):
        self.connection = connection
        self.running = False
        self._waiting: Deferred | None = None  # the call, while it waits
        self._slot: Any = None  # the slot of the call running, or the last

    def run(self, slot: Any, to_backend: bool) -> None:
        """Call C{slot}'s handler for the bytes of one side."""
        connection = self.connection
        source = connection.client if to_backend else connection.backend
        consumed_before = source.consumed
        self.running = True
        self._slot = slot
        if connection.proxy.settings.log_calls:
            connection.log_call(slot, to_backend)
        try:
            result = slot.call(connection.client, connection.backend, to_backend, connection.proxy)
        except Exception:
            self._returned(Failure(), to_backend, consumed_before, later=False)
            return
        if isinstance(result, Deferred):
            outcome: list[Any] = []
            result.addBoth(outcome.append)
            if not outcome:  # it waits: go on when it is done
                self._waiting = result
                result.addCallback(
                    lambda _: self._returned(outcome[0], to_backend, consumed_before, later=True)
                )
                return
            result = outcome[0]  # a coroutine that did not wait: no recursion
        self._returned(result, to_backend, consumed_before, later=False)

    def _returned(self, outcome: Any, to_backend: bool, consumed_before: int, later: bool) -> None:
        connection = self.connection
        self.running = False
        self._waiting = None
        if isinstance(outcome, Failure):
            if not outcome.check(CancelledError):
                self._failed(outcome)
            return
        connection.call_done(outcome, to_backend, consumed_before)
        if later:
            connection.run_calls()

    def _failed(self, failure: Failure) -> None:
        connection = self.connection
        if connection.closed:
            return
        if failure.check(ConnectionError):
            self.log.info(
                "{proxy}: {peer} closed: a side is gone ({reason})",
                proxy=connection.proxy.name, peer=connection.peer,
                reason=failure.getErrorMessage(),
            )
        else:
            self.log.failure(
                "{proxy}: handler {handler} failed; closing {peer}", failure,
                proxy=connection.proxy.name, handler=self._slot.name, peer=connection.peer,
            )
        connection.close()

    def in_thread(self) -> Deferred | None:
        """The call running in a worker thread, if one is."""
        if self._waiting is not None and self._slot.in_thread:
            return self._waiting
        return None

    def handler_name(self) -> str:
        """The name of the handler of the call running (or the last one)."""
        return self._slot.name

    def cancel(self) -> None:
        """Cancel a call waiting on the reactor; one in a thread ends when
        its wrappers wake it."""
        if self._waiting is not None and not self._slot.in_thread:
            self._waiting.cancel()
