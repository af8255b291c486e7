"""The fast paths, behind one door: the lane (L{lane}, with its pump), the
kernel's C{splice} (L{splice}), the direct send (L{sending}) and the
direct connect (L{connecting}). They are
the only code that reads Twisted's internals; the proxy (and nothing
else) imports them, from here only.

L{FastPaths} is what one proxy may use. They are off when the proxy's
settings say C{no_fast_path}, when C{VAURIEN_NO_FAST_PATH} is set in the
environment (for tests and CI), or when the installed Twisted lacks what
they read (L{check}: then one warning line names what is missing). Off,
a proxy has no lane and no pipes, sends with Twisted's own C{write} and
connects with the endpoint's own C{connect}:
its connections never enter the C{in_lane}, C{skimming_in_lane} or
C{spliced} modes.
"""
from __future__ import annotations

import os
import select
from typing import Any, Callable

from twisted.logger import Logger

from vaurien.fastpath.check import missing
from vaurien.fastpath.connecting import connect, endpoint_connect
from vaurien.fastpath.lane import Lane
from vaurien.fastpath.sending import queued, send_now, unsent_bytes, write
from vaurien.fastpath.splice import NEVER, SPLICE_AFTER, PipePool, splice_if_ready

__all__ = [
    "FastPaths", "Lane", "NEVER", "PipePool", "SPLICE_AFTER", "asked_off", "send_now",
    "splice_if_ready", "unsent_bytes",
]

#: Most pipes for spliced connections, per proxy (two each): 1,024 file descriptors.
MAX_PIPES = 512
#: The environment variable that turns the fast paths off.
ENVIRONMENT = "VAURIEN_NO_FAST_PATH"

#: What was found missing and warned about already: one line a process.
warned: set[tuple[str, ...]] = set()
log = Logger()


def asked_off() -> bool:
    """Whether C{VAURIEN_NO_FAST_PATH} turns the fast paths off."""
    return os.environ.get(ENVIRONMENT, "") not in ("", "0")


class FastPaths:
    """The fast paths of one proxy, or their plain stand-ins when off.

    @ivar on: whether they are on.
    @ivar lane: the proxy's L{Lane} (C{None}: off, or no C{epoll} here).
    @ivar pipes: the L{PipePool} of spliced connections (C{None}: off, or
        no C{splice} here).
    @ivar send_now: C{send_now(transport, data)}: the direct send, or
        Twisted's C{write} when off.
    @ivar unsent: C{unsent(transport)}: the bytes the transport holds to
        write (off: 1 if it holds any, as Twisted's public API tells).
    @ivar connect: C{connect(endpoint, factory)}: the direct connect, or
        the endpoint's own C{connect} when off.
    """

    __slots__ = ("on", "lane", "pipes", "send_now", "unsent", "connect")

    def __init__(self, proxy: Any, wanted: bool = True):
        """
        @param proxy: the proxy (its reactor is checked, its lane serves it).
        @param wanted: C{False} when its settings turn the fast paths off.
        """
        self.on = wanted and not asked_off() and _usable(proxy.reactor)
        self.lane = Lane(proxy) if self.on and hasattr(select, "epoll") else None
        self.pipes = PipePool(MAX_PIPES) if self.on and hasattr(os, "splice") else None
        self.send_now: Callable[[Any, bytes], None] = send_now if self.on else write
        self.unsent: Callable[[Any], int] = unsent_bytes if self.on else queued
        self.connect: Callable[[Any, Any], Any] = connect if self.on else endpoint_connect


def _usable(reactor: Any) -> bool:
    """Whether the installed Twisted has what the fast paths read; if not,
    one warning line (a process) names what it lacks."""
    lacking = tuple(missing(reactor))
    if lacking and lacking not in warned:
        warned.add(lacking)
        log.warn(
            "fast paths off: the installed Twisted lacks {missing}; the proxy"
            " works without them, slower", missing=", ".join(lacking),
        )
    return not lacking
