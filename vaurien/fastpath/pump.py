"""The lane's pump: one loop over the ready sockets of connections with no
fault in play (in C when the optional build made C{vaurien.fastpath._pump}, with
the same behaviour).

The pump holds connections as pairs of sockets, the client's first, and
knows nothing of Twisted. For each ready socket it reads one chunk,
counts it, sends it to the other socket of the pair, and shows it to the
framing's follower for that direction, if any. Given an I{admit} callable,
it first asks it about each chunk from the client: a chunk it refuses is
not sent (C{"fault"} below). It must return a truth value at once; an
exception counts as a refusal (the owner, asking again, meets it).
Whatever it cannot do
there and then becomes an I{action} for its owner, the lane, and the
connection leaves the pump with the first one:

 - C{"end"}: an end of stream or an error event; the transport reads it.
 - C{"failed"}: reading failed; the payload is the error's text.
 - C{"fault"}: the connection's slot is no longer the quiet one, or its
   admit refused the chunk; the payload is the chunk, read and counted
   but not sent.
 - C{"partial"}: the peer took part of the chunk; the payload is the rest.
 - C{"stop"}: the follower raised, or counted requests with something
   else than an integer; the payload is the exception.
 - C{"splice"}: the connection passed more bytes than its budget.

An action is C{(kind, key, from_client, payload, passed)}: C{passed} is
the bytes the connection passed in the pump, on its first action (C{0}
on the others of the same chunk).

Given the I{outer} epoll set that holds the pump's own (the reactor's),
the pump may I{wait} in C{serve}: once the ready sockets are served, it
takes the outer set into its own in its place (epoll refuses a loop) and
keeps serving its sockets as they become ready, until the time allowed
is spent, an action is due, or the outer set has anything ready; then
the sets are nested back as they were. While only the pump's sockets
are busy, no turn of the reactor runs between their chunks.
"""
from __future__ import annotations

import operator
import os
import select
import time
from contextlib import suppress
from typing import Any

from vaurien.extensions import accelerator

#: Events the transports must see for themselves: an end or an error.
_TROUBLE = select.EPOLLRDHUP | select.EPOLLHUP | select.EPOLLERR


class _Conn:
    """One connection in the pump."""

    __slots__ = ("fds", "key", "follow", "slot", "budget", "admit", "passed", "dropped")

    def __init__(self, fds, key, follow, slot, budget, admit):
        self.fds = fds
        self.key = key
        self.follow = follow
        self.slot = slot
        self.budget = budget
        self.admit = admit
        self.passed = 0
        self.dropped = False


class PyPump:
    """The pump in Python."""

    def __init__(self, read_size: int):
        self._read_size = read_size
        self._poll = select.epoll()
        self._by_fd: dict[int, tuple[_Conn, int]] = {}
        self._count = 0
        self._busy = False  # serve() is running: no other may start
        self._held: list = []  # actions of a serve() that raised

    def __len__(self) -> int:
        return self._count

    def fileno(self) -> int:
        return self._poll.fileno()

    def add(self, client_fd: int, backend_fd: int, key: Any, follow_requests: Any,
            follow_replies: Any, slot: Any, budget: int, admit: Any = None) -> None:
        """Serve a connection's two sockets; C{key} names it in actions
        (and its C{active} is set on each chunk)."""
        if client_fd == backend_fd or client_fd in self._by_fd or backend_fd in self._by_fd:
            raise ValueError("sockets already in the pump, or not two")
        conn = _Conn((client_fd, backend_fd), key, (follow_requests, follow_replies), slot, budget,
                     admit)
        self._poll.register(client_fd, select.EPOLLIN | select.EPOLLRDHUP)
        try:
            self._poll.register(backend_fd, select.EPOLLIN | select.EPOLLRDHUP)
        except BaseException:
            self._poll.unregister(client_fd)
            raise
        self._by_fd[client_fd], self._by_fd[backend_fd] = (conn, 0), (conn, 1)
        self._count += 1

    def remove(self, fd: int) -> int | None:
        """Stop serving the connection of C{fd}: the bytes it passed, or
        C{None} if it is not here."""
        held = self._by_fd.get(fd)
        if held is None:
            return None
        self._drop(held[0])
        return held[0].passed

    def _drop(self, conn: _Conn) -> None:
        for fd in conn.fds:
            with suppress(OSError):  # closed already: the kernel dropped it
                self._poll.unregister(fd)
            del self._by_fd[fd]
        conn.dropped = True
        self._count -= 1

    def close(self) -> None:
        """Drop every connection and close the epoll set."""
        if self._busy:
            raise RuntimeError("the pump is serving")
        self._held = []
        self._by_fd.clear()
        self._count = 0
        self._poll.close()

    def serve(self, quiet: Any, batch: int, outer: int = -1,
              wait: int = 0) -> tuple[int, int, int, list]:
        """Serve up to C{batch} ready sockets; then, given the C{outer}
        set's descriptor, wait up to C{wait} ms (C{-1}: no limit) serving
        more as they become ready (see the module's docstring).

        @return: C{(to_backend, to_client, calls, actions)}: the bytes read
            each way, the requests the followers counted, the actions.
        @raise RuntimeError: it is serving already (a follower, or another
            thread, called it).
        """
        if self._busy:
            raise RuntimeError("the pump is serving")
        self._busy = True
        # The actions of a serve that raised come first: their connections
        # left the pump already.
        actions, self._held = self._held, []
        try:
            return self._serve(quiet, batch, outer, wait, actions)
        except BaseException:
            self._held = actions
            raise
        finally:
            self._busy = False

    def _serve(self, quiet: Any, batch: int, outer: int, wait: int,
               actions: list) -> tuple[int, int, int, list]:
        moved = [0, 0]
        calls = self._serve_events(self._poll.poll(0, batch), quiet, moved, actions)
        handle = self._nest(outer) if outer >= 0 and wait and not actions else None
        if handle is not None:
            deadline = time.monotonic() + wait / 1000
            try:
                while self._count and not actions:
                    timeout = -1 if wait < 0 else deadline - time.monotonic()
                    if wait > 0 and timeout <= 0:
                        break
                    events = self._poll.poll(timeout, batch)
                    if not events:
                        break
                    calls += self._serve_events(events, quiet, moved, actions)
                    if any(fd == outer for fd, _ in events):
                        break
            finally:
                self._unnest(outer, handle)
        return moved[0], moved[1], calls, actions

    def _nest(self, outer: int) -> select.epoll | None:
        """Take the outer set into the pump's, in place of the pump's in
        it: a handle on the outer set, or C{None} (nothing changed) if the
        pump's is not in it."""
        handle = select.epoll.fromfd(os.dup(outer))
        try:
            handle.unregister(self._poll.fileno())
        except OSError:
            handle.close()
            return None
        try:
            self._poll.register(outer, select.EPOLLIN)
        except OSError:
            handle.register(self._poll.fileno(), select.EPOLLIN)  # undo
            handle.close()
            raise
        return handle

    def _unnest(self, outer: int, handle: select.epoll) -> None:
        """Nest the sets back: the pump's in the outer one, as a reader."""
        try:
            self._poll.unregister(outer)
            handle.register(self._poll.fileno(), select.EPOLLIN)
        finally:
            handle.close()

    def _serve_events(self, events: list, quiet: Any, moved: list, actions: list) -> int:
        """Serve ready sockets; the requests the followers counted."""
        calls = 0
        by_fd = self._by_fd
        size = self._read_size

        def act(kind, conn, side, payload=None):
            passed = 0
            if not conn.dropped:
                self._drop(conn)
                passed = conn.passed
            actions.append((kind, conn.key, side == 0, payload, passed))

        for fd, flags in events:
            held = by_fd.get(fd)
            if held is None:
                continue  # it left in this turn, or the outer set
            conn, side = held
            if flags & _TROUBLE:
                act("end", conn, side)
                continue
            try:
                data = os.read(conn.fds[side], size)
            except BlockingIOError:
                continue
            except OSError as e:
                act("failed", conn, side, e.strerror or str(e))
                continue
            if not data:
                act("end", conn, side)
                continue
            moved[side] += len(data)
            follow = conn.follow[side]
            if follow is not None and (conn.slot is not quiet or (
                    side == 0 and conn.admit is not None and not _admitted(conn.admit, data))):
                act("fault", conn, side, data)
                conn.key.active = True
                continue
            try:
                sent = os.write(conn.fds[1 - side], data)
            except OSError:
                sent = 0  # would block, or failed: the transport sees to it
            conn.passed += len(data)
            if sent != len(data):
                act("partial", conn, side, data[sent:])
            conn.key.active = True  # once the chunk is sent or handed back
            if follow is None:
                if conn.passed > conn.budget:
                    act("splice", conn, side)
                continue
            try:
                count = follow(data)
                if side == 0:
                    calls += operator.index(count)
            except Exception as e:
                act("stop", conn, side, e)
        return calls


def _admitted(admit: Any, data: bytes) -> bool:
    """What C{admit} says of C{data}; C{False} if it raised."""
    try:
        return bool(admit(data))
    except Exception:
        return False


_c = accelerator("vaurien.fastpath._pump")
Pump = PyPump if _c is None else _c.Pump
