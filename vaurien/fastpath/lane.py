"""The lane: connections with no fault in play, read outside the
reactor's per-event dispatch.

A joined tcp connection or a skimming framed one does little per chunk:
read it, send it on, and (framed) let the framing follow it. Twisted's
reactor spends more Python than that on each event before the bytes
reach a protocol (log context, dispatch, three protocol layers). The lane
keeps the sockets of such connections in an C{epoll} set of its own,
which the reactor sees as one reader, and serves every ready socket in
one short loop: the pump (L{vaurien.fastpath.pump}, in C when built).

A skimming connection whose calls are drawn (faults in play) shows each
chunk from the client to its C{admit} first: a chunk that holds a drawn
fault goes back, unsent, as a C{"fault"} action.

A connection enters the lane only with nothing held on either side (no
bytes waiting to be written, no paused reading), and anything out of the
ordinary hands it back to its transports at once: an end of stream or an
error (which the transports then see themselves), a peer that cannot
take a whole chunk (the rest is written the usual way), a framing error,
handlers that changed, a tcp connection ready for C{splice}.

On Twisted's epoll reactor, the pump also waits for its sockets in
place of the reactor while nothing else is ready there, up to the
reactor's next timed call: a busy lane runs no turn of the reactor
between its chunks.
"""
from __future__ import annotations

import math
import select
from typing import Any

from twisted.internet.error import ConnectionLost
from twisted.internet.interfaces import IReadDescriptor
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from vaurien.protocols.framing import FramingError
from vaurien.fastpath.pump import Pump
from vaurien.fastpath.sending import unsent_bytes

#: Most sockets served per turn of the reactor.
_BATCH = 512

#: The longest wait the pump takes, in ms (epoll_wait's timeout is an int).
_LONGEST_WAIT = 2**31 - 1


@implementer(IReadDescriptor)
class Lane:
    """The sockets of one proxy's connections with no fault in play, as
    one reader."""

    log = Logger()

    def __init__(self, proxy: Any):
        self.proxy = proxy
        self._pump: Any = None  # a pump, while the lane holds connections
        self._members: dict[Any, tuple[Any, Any]] = {}  # connection -> transports
        self._outer = _epoll_fd(proxy.reactor)

    def __len__(self) -> int:
        """How many connections are in the lane."""
        return len(self._members)

    def fileno(self) -> int:
        return self._pump.fileno()

    def logPrefix(self) -> str:
        return "Lane"

    def admits(self, connection: Any) -> bool:
        """Whether C{connection}'s sockets may move here: TCP sockets, both
        streams going on, nothing held or paused either way."""
        if connection.closed or connection.in_lane or connection.backend_gate.transport is None:
            return False
        sides = (connection.client, connection.backend)
        return not (
            any(side.ended or side.buffered or not hasattr(side.transport, "socket")
                or side.transport.disconnecting or unsent_bytes(side.transport)
                for side in sides)
            or connection.client_gate.paused or connection.backend_gate.paused
        )

    def enter(self, connection: Any) -> None:
        """Read C{connection}'s two sockets here rather than in the reactor."""
        if self._pump is None:
            self._pump = Pump(self.proxy.read_size)
        client, backend = connection.client.transport, connection.backend.transport
        client.stopReading()
        backend.stopReading()
        follow_requests, follow_replies, slot, admit = connection.lane_terms()
        self._pump.add(client.fileno(), backend.fileno(), connection, follow_requests,
                       follow_replies, slot, connection.unspliced, admit)
        if not self._members:
            self.proxy.reactor.addReader(self)
        self._members[connection] = (client, backend)

    def leave(self, connection: Any) -> None:
        """Give C{connection}'s sockets back to their transports."""
        passed = self._pump.remove(self._members[connection][0].fileno())
        self._release(connection, passed or 0)  # None: the pump let go in this turn

    def _release(self, connection: Any, passed: int) -> None:
        """The Twisted side of leaving, once the pump let go."""
        for transport in self._members.pop(connection):
            transport.startReading()
        if not self._members:
            self.proxy.reactor.removeReader(self)
            self._pump.close()
            self._pump = None
        connection.handed_back(passed)

    def doWrite(self) -> None:
        """Nothing to write. The reactor calls this for a write event it
        fetched for a socket closed later in the same turn (a cancelled
        backend connect) whose descriptor number the pump's new C{epoll}
        set took meanwhile: a stale event, dropped."""

    def connectionLost(self, reason: Any) -> None:
        """The reactor dropped the lane: every connection goes back."""
        for connection in list(self._members):
            self.leave(connection)

    def _wait(self) -> int:
        """How long the pump may wait for its sockets, in ms (C{-1}: no
        limit): until the reactor's next timed call."""
        reactor = self.proxy.reactor
        if self._outer < 0 or not reactor.running:
            return 0
        left = reactor.timeout()
        return -1 if left is None else min(math.ceil(left * 1000), _LONGEST_WAIT)

    def doRead(self) -> None:
        """Serve every socket that is ready; then what the pump could not
        do, in order."""
        proxy = self.proxy
        quiet = proxy.skim_slot
        to_backend, to_client, calls, actions = self._pump.serve(
            quiet, _BATCH, self._outer, self._wait())
        proxy.bytes_to_backend += to_backend
        proxy.bytes_to_client += to_client
        if calls:
            proxy.calls[quiet.name] += calls
        for kind, connection, from_client, payload, passed in actions:
            if connection.in_lane:
                self._release(connection, passed)
            if kind == "failed":
                # A reset: the transport is lost, as the reactor would have it.
                side = connection.client if from_client else connection.backend
                side.transport.connectionLost(Failure(ConnectionLost(payload)))
            elif kind == "fault":
                connection.data_from(from_client, payload)
            elif kind == "partial":
                (connection.backend if from_client else connection.client).transport.write(payload)
            elif kind == "stop":
                if not isinstance(payload, FramingError):
                    self.log.failure("{connection} follower failed", Failure(payload), connection=connection)
                connection.stop_skimming(str(payload))
            elif kind == "splice":
                connection.try_splice()


def _epoll_fd(reactor: Any) -> int:
    """The descriptor of C{reactor}'s epoll set (Twisted's epoll reactor
    keeps it as C{_poller}), or C{-1} for any other reactor."""
    poller = getattr(reactor, "_poller", None)
    return poller.fileno() if isinstance(poller, select.epoll) else -1
