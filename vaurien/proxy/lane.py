"""The lane: connections with no fault in play, read outside the
reactor's per-event dispatch.

A joined tcp connection or a skimming framed one does little per chunk:
read it, send it on, and (framed) let the framing follow it. Twisted's
reactor spends more Python than that on each event before the bytes
reach a protocol (log context, dispatch, three protocol layers). The lane
keeps the sockets of such connections in an C{epoll} set of its own,
which the reactor sees as one reader, and serves every ready socket in
one short loop.

A connection enters the lane only with nothing held on either side (no
bytes waiting to be written, no paused reading), and anything out of the
ordinary hands it back to its transports at once: an end of stream or an
error (which the transports then see themselves), a peer that cannot
take a whole chunk (the rest is written the usual way), a framing error,
handlers that changed, a tcp connection ready for C{splice}.
"""
from __future__ import annotations

import select
from typing import Any

from twisted.internet.error import ConnectionLost
from twisted.internet.interfaces import IReadDescriptor
from twisted.python.failure import Failure
from zope.interface import implementer

from vaurien.protocols.framing import FramingError
from vaurien.proxy.splice import unsent_bytes

#: Events the transports must see for themselves: an end or an error.
_TROUBLE = select.EPOLLRDHUP | select.EPOLLHUP | select.EPOLLERR
#: Most sockets served per turn of the reactor.
_BATCH = 512


@implementer(IReadDescriptor)
class Lane:
    """The sockets of one proxy's connections with no fault in play, as
    one reader."""

    def __init__(self, proxy: Any):
        self.proxy = proxy
        self._poll: Any = None  # an epoll, while the lane holds connections
        #: For each socket in the lane: its relay, whether it is the
        #: client's, the socket, the peer's transport, the framing's
        #: follower for its direction (C{None}: tcp).
        self._ends: dict[int, tuple[Any, bool, Any, Any, Any]] = {}
        self._members: dict[Any, tuple[Any, Any]] = {}  # relay -> transports

    def __len__(self) -> int:
        """How many connections are in the lane."""
        return len(self._members)

    def fileno(self) -> int:
        return self._poll.fileno()

    def logPrefix(self) -> str:
        return "Lane"

    def admits(self, relay: Any) -> bool:
        """Whether C{relay}'s sockets may move here: TCP sockets, both
        streams going on, nothing held or paused either way."""
        if relay.closed or relay.in_lane or relay.backend_gate is None:
            return False
        sides = (relay.client, relay.backend)
        return not (
            any(side.ended or side.buffered or not hasattr(side.transport, "socket")
                or side.transport.disconnecting or unsent_bytes(side.transport)
                for side in sides)
            or relay.client_gate.paused or relay.backend_gate.paused
        )

    def enter(self, relay: Any) -> None:
        """Read C{relay}'s two sockets here rather than in the reactor."""
        if self._poll is None:
            self._poll = select.epoll()
        client, backend = relay.client.transport, relay.backend.transport
        follow_requests, follow_replies = relay.lane_followers()
        for from_client, transport, peer, follow in (
            (True, client, backend, follow_requests),
            (False, backend, client, follow_replies),
        ):
            transport.stopReading()
            fd = transport.fileno()
            self._ends[fd] = (relay, from_client, transport.socket, peer, follow)
            self._poll.register(fd, select.EPOLLIN | select.EPOLLRDHUP)
        if not self._members:
            self.proxy.reactor.addReader(self)
        self._members[relay] = (client, backend)
        relay.in_lane = True

    def leave(self, relay: Any) -> None:
        """Give C{relay}'s sockets back to their transports."""
        relay.in_lane = False
        for transport in self._members.pop(relay):
            fd = transport.fileno()
            del self._ends[fd]
            self._poll.unregister(fd)
            transport.startReading()
        if not self._members:
            self.proxy.reactor.removeReader(self)
            self._poll.close()
            self._poll = None

    def connectionLost(self, reason: Any) -> None:
        """The reactor dropped the lane: every connection goes back."""
        for relay in list(self._members):
            self.leave(relay)

    def doRead(self) -> None:
        """Serve every socket that is ready."""
        proxy = self.proxy
        size = proxy.read_size
        quiet = proxy.quiet_slot
        ends = self._ends
        for fd, events in self._poll.poll(0, _BATCH):
            end = ends.get(fd)
            if end is None:
                continue  # its connection left the lane in this turn
            relay, from_client, sock, peer, follow = end
            if events & _TROUBLE:
                self.leave(relay)
                continue
            try:
                data = sock.recv(size)
            except BlockingIOError:
                continue
            except OSError as e:
                self._failed(relay, from_client, e)
                continue
            if not data:
                self.leave(relay)  # the transport reads the end again
                continue
            relay.active = True
            if from_client:
                proxy.bytes_to_backend += len(data)
            else:
                proxy.bytes_to_client += len(data)
            if follow is not None and relay.skim_slot is not quiet:
                self.leave(relay)  # a fault put in force
                relay.data_from(from_client, data)
                continue
            try:
                sent = peer.socket.send(data)
            except OSError:
                sent = 0  # would block, or failed: the transport sees to it
            if sent != len(data):
                self.leave(relay)
                peer.write(data[sent:])
            if follow is None:
                relay.unspliced -= len(data)
                if relay.unspliced < 0:
                    relay.try_splice()  # which takes the sockets from the lane
                continue
            try:
                count = follow(data)
            except FramingError as e:
                relay.stop_skimming(str(e))
                continue
            if from_client:
                proxy.calls[relay.skim_slot.name] += count

    def _failed(self, relay: Any, from_client: bool, error: OSError) -> None:
        """Reading a socket failed (a reset): its transport is lost, as the
        reactor would have it."""
        transport = self._members[relay][0 if from_client else 1]
        self.leave(relay)
        transport.connectionLost(Failure(ConnectionLost(str(error))))
