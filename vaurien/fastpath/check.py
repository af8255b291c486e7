"""Whether the installed Twisted has what the fast paths read of its
internals: a TCP transport's socket and write buffer (L{send_now},
L{unsent_bytes}, the splice's hand-over) and the epoll reactor's own set
(the lane's wait in place of the reactor).

The transport's attributes are looked for on a probe: a
C{twisted.internet.tcp.Connection} over a socket that is never
connected nor read, as Twisted sets most of them per instance.
"""
from __future__ import annotations

import select
import socket
from typing import Any

from twisted.internet import tcp

#: Where the classes checked are found, as the warning names them.
TRANSPORT = "twisted.internet.tcp.Connection"
EPOLL_REACTOR = "twisted.internet.epollreactor.EPollReactor"
#: What the fast paths read of a TCP transport.
TRANSPORT_NEEDS = ("socket", "dataBuffer", "offset", "_tempDataBuffer", "_tempDataLen")
#: What the lane reads of Twisted's epoll reactor.
EPOLL_NEEDS = "_poller"


def missing(reactor: Any) -> list[str]:
    """What the fast paths need and the installed Twisted lacks, each as
    C{module.Class.attribute}: empty when all is there."""
    lacking = []
    with socket.socket() as probe_socket:
        try:
            probe = tcp.Connection(probe_socket, None, reactor)
        except Exception as e:  # its constructor changed: nothing to rely on
            return [f"{TRANSPORT}() ({type(e).__name__}: {e})"]
        lacking += [f"{TRANSPORT}.{name}" for name in TRANSPORT_NEEDS if not hasattr(probe, name)]
    epoll_reactor = _epoll_reactor_class()
    if epoll_reactor is not None and isinstance(reactor, epoll_reactor):
        if not isinstance(getattr(reactor, EPOLL_NEEDS, None), select.epoll):
            lacking.append(f"{EPOLL_REACTOR}.{EPOLL_NEEDS}")
    return lacking


def _epoll_reactor_class() -> type | None:
    try:
        from twisted.internet.epollreactor import EPollReactor
    except ImportError:  # no epoll here
        return None
    return EPollReactor
