"""Pass-through by the kernel: C{splice(2)} between the two sockets of a
tcp connection, through a pipe per direction, so that the bytes never
come up into Python.

A connection starts on Twisted's transports; once it has moved
L{SPLICE_AFTER} bytes with nothing but C{dummy} in play, the connection hands
both sockets to a L{SpliceLink}. Pipes come from a bounded
L{PipePool}: past its size, connections stay on the transports.
"""
from __future__ import annotations

import fcntl
import os
import socket
from typing import Any

from zope.interface import implementer
from twisted.internet.interfaces import IReadWriteDescriptor

from vaurien.fastpath.sending import unsent_bytes

#: Bytes a connection moves on the transports before it is spliced: short
#: exchanges gain nothing from it.
SPLICE_AFTER = 1 << 20
#: Bytes moved by one C{splice} call (and the size asked of each pipe).
CHUNK = 1 << 20
_FLAGS = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK
#: What a connection's C{unspliced} is set to when it is never to be spliced.
NEVER = 1 << 62
#: Bytes to wait before trying to splice again, when the moment was wrong.
RETRY_SPLICE_AFTER = 1 << 16


class PipePool:
    """Pipes for spliced connections: made lazily, reused, bounded.

    @ivar size: the most pipes in use or kept at once.
    @ivar capacity: the bytes every pipe made so far can hold.
    """

    def __init__(self, size: int):
        self.size = size
        self.capacity = CHUNK
        self._free: list[tuple[int, int]] = []
        self._in_use = 0

    @property
    def kept(self) -> int:
        """How many pipes wait, empty, for the next spliced connection."""
        return len(self._free)

    def take(self) -> tuple[int, int] | None:
        """A pipe C{(read_fd, write_fd)}, or C{None} when all are in use."""
        if self._free:
            self._in_use += 1
            return self._free.pop()
        if self._in_use >= self.size:
            return None
        read_fd, write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, CHUNK)
        except OSError:
            pass  # the system's limit: the default size works too
        self.capacity = min(self.capacity, fcntl.fcntl(write_fd, fcntl.F_GETPIPE_SZ))
        self._in_use += 1
        return read_fd, write_fd

    def give_back(self, pipe: tuple[int, int], empty: bool) -> None:
        """Return a pipe; one that still holds bytes is closed instead."""
        self._in_use -= 1
        if empty:
            self._free.append(pipe)
        else:
            for fd in pipe:
                os.close(fd)

    def close(self) -> None:
        """Close the pipes kept for reuse."""
        for pipe in self._free:
            for fd in pipe:
                os.close(fd)
        self._free.clear()


@implementer(IReadWriteDescriptor)
class _End:
    """One socket of a spliced connection, as the reactor sees it: readable
    (bytes to pass on) or writable (room for bytes held in a pipe)."""

    def __init__(self, link: SpliceLink, transport: Any):
        self.link = link
        self.transport = transport
        self.fd = transport.fileno()
        self.ended = False  # its peer sent end of stream
        self.reading = self.writing = False

    def fileno(self) -> int:
        return self.fd

    def logPrefix(self) -> str:
        return "SpliceLink"

    def doRead(self) -> None:
        return self.link.pull(self)

    def doWrite(self) -> None:
        return self.link.push(self.link.other(self))

    def connectionLost(self, reason: Any) -> None:
        self.link.fail()


def splice_if_ready(connection: Any, pool: PipePool) -> tuple[SpliceLink | None, int]:
    """Splice C{connection}'s sockets if they are TCP sockets, both streams go
    on, and the pipes can take what the transports still hold.

    @return: the link (or C{None}), and the bytes to pass on the
        transports before trying again (L{NEVER} once spliced or hopeless).
    """
    transports = (connection.client.transport, connection.backend.transport)
    if not all(hasattr(t, "socket") and hasattr(t, "dataBuffer") for t in transports):
        return None, NEVER
    if connection.client.ended or connection.backend.ended or any(t.disconnecting for t in transports):
        return None, RETRY_SPLICE_AFTER
    pipes = pool.take(), pool.take()
    if None in pipes or any(unsent_bytes(t) > pool.capacity for t in transports):
        for pipe in pipes:
            if pipe is not None:
                pool.give_back(pipe, empty=True)
        return None, RETRY_SPLICE_AFTER
    for transport in transports:
        transport.unregisterProducer()
    link = SpliceLink(connection, connection.proxy.reactor, pipes)
    link.start()
    return link, NEVER


def _take_unsent(transport: Any) -> bytes:
    """The bytes a Twisted transport holds to write, taken from it."""
    unsent = transport.dataBuffer[transport.offset:] + b"".join(transport._tempDataBuffer)
    transport.dataBuffer, transport.offset = b"", 0
    transport._tempDataBuffer, transport._tempDataLen = [], 0
    return unsent


class _Direction:
    """Bytes from one end to the other, through a pipe."""

    def __init__(self, source: _End, dest: _End, pipe: tuple[int, int]):
        self.source = source
        self.dest = dest
        self.pipe = pipe
        self.held = 0  # bytes in the pipe


class SpliceLink:
    """Both sockets of one connection, spliced to each other."""

    def __init__(self, connection: Any, reactor: Any, pipes: tuple[tuple[int, int], tuple[int, int]]):
        self.connection = connection
        self.reactor = reactor
        client = _End(self, connection.client.transport)
        backend = _End(self, connection.backend.transport)
        self._ends = (client, backend)
        self._directions = {
            client: _Direction(client, backend, pipes[0]),
            backend: _Direction(backend, client, pipes[1]),
        }
        self.active = False

    def start(self) -> None:
        """Take both sockets from their transports and start passing bytes.

        What a transport still had to write goes first into the pipe that
        feeds its socket, so the order of the bytes is kept.
        """
        for end in self._ends:
            end.transport.stopReading()
            end.transport.stopWriting()
            direction = self._directions[self.other(end)]
            unsent = _take_unsent(end.transport)
            while unsent:
                written = os.write(direction.pipe[1], unsent)
                direction.held += written
                unsent = unsent[written:]
        self.active = True
        for end in self._ends:
            self.push(end)

    def other(self, end: _End) -> _End:
        return self._ends[1] if end is self._ends[0] else self._ends[0]

    def pull(self, source: _End) -> None:
        """Move what C{source} has into its pipe, then on to the other end."""
        direction = self._directions[source]
        try:
            moved = os.splice(source.fd, direction.pipe[1], CHUNK, flags=_FLAGS)
        except BlockingIOError:
            return
        except OSError:
            return self.fail()
        if moved == 0:
            source.ended = True
            self._read(source, False)
        else:
            direction.held += moved
            self.connection.moved(source is self._ends[0], moved)
        self.push(source)

    def push(self, source: _End) -> None:
        """Empty C{source}'s pipe into the other end, as far as it takes."""
        direction = self._directions[source]
        while direction.held:
            try:
                moved = os.splice(direction.pipe[0], direction.dest.fd, direction.held, flags=_FLAGS)
            except BlockingIOError:
                self._read(source, False)
                self._write(direction.dest, True)
                return
            except OSError:
                return self.fail()
            direction.held -= moved
        self._write(direction.dest, False)
        if source.ended:
            self._end_stream(direction)
        else:
            self._read(source, True)

    def _end_stream(self, direction: _Direction) -> None:
        try:
            direction.dest.transport.socket.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        if all(end.ended for end in self._ends):
            self.connection.close()

    def fail(self) -> None:
        """A socket failed (reset, broken pipe): the connection ends."""
        if self.active:
            self.connection.close()

    def stop(self, pool: PipePool) -> None:
        """Give the sockets back to their transports and the pipes to
        C{pool} (the connection then closes the transports)."""
        if not self.active:
            return
        self.active = False
        for end in self._ends:
            self._read(end, False)
            self._write(end, False)
        for direction in self._directions.values():
            pool.give_back(direction.pipe, direction.held == 0)

    def _read(self, end: _End, wanted: bool) -> None:
        if wanted and not end.reading and not end.ended and self.active:
            self.reactor.addReader(end)
        elif not wanted and end.reading:
            self.reactor.removeReader(end)
        else:
            return
        end.reading = wanted

    def _write(self, end: _End, wanted: bool) -> None:
        if wanted and not end.writing:
            self.reactor.addWriter(end)
        elif not wanted and end.writing:
            self.reactor.removeWriter(end)
        else:
            return
        end.writing = wanted
