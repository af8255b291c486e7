"""Running one handler call in the style the handler was written in."""
from __future__ import annotations

import inspect
from typing import Any

from attrs import frozen
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool

from vaurien.settings import Targets


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
    """

    percent: int
    name: str
    handler: Any
    in_thread: bool
    passthrough: bool
    holds_connection: bool
    targets: Targets = Targets()

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
