"""Socket-like wrappers over Twisted transports, for handlers.

A L{TransportSocket} is one side of a proxied connection as a handler
sees it: the proxy delivers the bytes that side sent into the wrapper's
buffer, and the handler reads them with C{recv} and writes to the other
side with C{sendall}.

The same wrapper serves the three handler styles: on the reactor, C{recv}
on an empty live socket raises C{BlockingIOError} as a non-blocking
socket does; in a worker thread (L{TransportSocket.blocking} set by the
proxy) it waits, honouring C{settimeout}, and writes are handed to the
reactor thread.
"""
from __future__ import annotations

import socket
import threading
from typing import Any, Callable

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress



def socket_address(address: Any) -> Any:
    """A Twisted address as the socket module gives it: C{(host, port)} for
    IPv4, C{(host, port, 0, 0)} for IPv6, the path for UNIX."""
    if isinstance(address, IPv4Address):
        return (address.host, address.port)
    if isinstance(address, IPv6Address):
        return (address.host, address.port, address.flowInfo, address.scopeID)
    if isinstance(address, UNIXAddress):
        name = address.name
        return name.decode() if isinstance(name, bytes) else name
    return str(address)


def _write(transport: Any, data: bytes) -> None:
    transport.write(data)


def _unwatched(side: Any) -> None:
    """No one resumes reading after a handler's C{recv}."""


class _Unshared:
    """Stands for the condition of a wrapper no thread has used yet: no
    lock to take, no one to wake."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: Any) -> None:
        return None

    def notify_all(self) -> None:
        """No thread waits."""


_UNSHARED = _Unshared()


class TransportSocket:
    """One side of a proxied connection, with the socket methods handlers use.

    @ivar framed: C{True} on a framed protocol: a call's buffer holds one
        frame (the request, or the reply to it), and C{recv} past the end
        of that frame returns C{b""} (the next frame is another call's).
    @ivar write_to: where C{sendall} writes instead of the transport, when
        the proxy orders a call's writes (framed protocols).
    @ivar close_to: what C{close} does instead of closing the transport,
        when the proxy decides when a framed connection may end.
    @ivar send_now: how C{sendall} writes to the transport:
        C{send_now(transport, data)}.
    @ivar _closed: the seed's flag: set when this side was closed by a
        handler (handlers may set it themselves).
    """

    __slots__ = (  # two per connection: no dict each
        "_reactor", "_on_consumed", "send_now", "_buffer", "_ended", "end_seen", "consumed",
        "_condition", "_timeout", "_closed", "transport", "_blocking", "framed",
        "_frame_ended", "write_to", "close_to", "_write_shut",
    )

    def __init__(self, reactor: Any, on_consumed: Callable[[TransportSocket], None] = _unwatched,
                 send_now: Callable[[Any, bytes], None] | None = None):
        """
        @param reactor: the reactor writes are handed to from threads.
        @param on_consumed: called with this wrapper (on the reactor
            thread) after a handler took bytes, so the proxy can resume
            reading this side.
        @param send_now: how C{sendall} writes to the transport:
            C{send_now(transport, data)} (the proxy's direct send); Twisted's
            own C{write} if C{None}.
        """
        self._reactor = reactor
        self._on_consumed = on_consumed
        self.send_now = _write if send_now is None else send_now
        self._buffer: bytes | bytearray = b""  # a bytearray while bytes wait: none when idle
        self._ended = False
        self.end_seen = False
        self.consumed = 0
        self._condition: Any = _UNSHARED
        self._timeout: float | None = None
        self._closed = False
        self.transport: Any = None
        self._blocking = False
        self.framed = False
        self._frame_ended = False
        self.write_to: Callable[[bytes], None] | None = None
        self.close_to: Callable[[], None] | None = None
        self._write_shut = False  # end of stream sent (a second would fail)

    @property
    def blocking(self) -> bool:
        """C{True} while a handler runs in a worker thread."""
        return self._blocking

    @blocking.setter
    def blocking(self, value: bool) -> None:
        if value and self._condition is _UNSHARED:
            # A thread shares this wrapper from now on; until one did, a
            # lock per side would only cost memory (1.4 KiB each).
            self._condition = threading.Condition()
        self._blocking = value

    # -- the proxy's side -------------------------------------------------

    def attach(self, transport: Any) -> None:
        """Bind this wrapper to a (new) connection."""
        self.transport = transport
        self._closed = False
        self._ended = self.end_seen = False
        self._write_shut = False

    def detach(self) -> None:
        """Forget a connection that is gone; unread bytes stay readable."""
        self.transport = None

    def deliver(self, data: bytes) -> None:
        """Add bytes this side sent; the next C{recv} returns them."""
        with self._condition:
            self._hold(data)
            self._condition.notify_all()

    def deliver_frame(self, frame: bytes) -> None:
        """Hold C{frame}, whole, for the call that starts (framed
        protocols): C{recv} returns it, then C{b""}."""
        with self._condition:
            self._hold(frame)
            self._frame_ended = True
            self._condition.notify_all()

    def _hold(self, data: bytes) -> None:
        if self._buffer:
            self._buffer += data
        else:
            self._buffer = bytearray(data)

    def await_frame(self) -> None:
        """A call starts whose frame on this side is still to come (the
        reply to its request): C{recv} waits for it, or raises
        C{BlockingIOError} on the reactor."""
        self._frame_ended = False

    def deliver_end(self) -> None:
        """Mark the end of this side's stream: C{recv} returns C{b""} once the
        buffer is empty."""
        with self._condition:
            self._ended = True
            self._condition.notify_all()

    @property
    def buffered(self) -> int:
        """How many delivered bytes no handler has read yet."""
        return len(self._buffer)

    @property
    def ended(self) -> bool:
        """C{True} once this side's stream has ended."""
        return self._ended

    # -- the handler's side: reading --------------------------------------

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Return up to C{bufsize} bytes this side sent, or C{b""} at its end.

        @raise BlockingIOError: on the reactor, when nothing is there yet.
        @raise TimeoutError: in a thread, when C{settimeout}'s time passed.
        """
        with self._condition:
            waits = self.blocking and self._timeout != 0.0
            if waits and not self._condition.wait_for(
                self._readable, self._timeout
            ):
                raise TimeoutError("timed out")
            if not self._buffer:
                if self._ended or self._closed:
                    self.end_seen = True
                    return b""
                if self.framed and self._frame_ended:
                    return b""
                raise BlockingIOError(11, "Resource temporarily unavailable")
            data = bytes(self._buffer[:bufsize])
            del self._buffer[:bufsize]
            if not self._buffer:
                self._buffer = b""
            self.consumed += len(data)
        self._call_in_reactor(self._on_consumed, self)
        return data

    def _readable(self) -> bool:
        return (
            bool(self._buffer) or self._ended or self._closed
            or (self.framed and self._frame_ended)
        )

    # -- the handler's side: writing and closing --------------------------

    def send(self, data: bytes, flags: int = 0) -> int:
        """Write C{data} to this side; return how many bytes were taken (all)."""
        self.sendall(data)
        return len(data)

    def sendall(self, data: bytes, flags: int = 0) -> None:
        """Write C{data} to this side.

        @raise BrokenPipeError: when this side's connection is gone.
        """
        if self.write_to is not None:
            self._call_in_reactor(self.write_to, bytes(data))
            return
        if self.transport is None or self.transport.disconnected:
            raise BrokenPipeError(32, "Broken pipe")
        self._call_in_reactor(self.send_now, self.transport, bytes(data))

    def shutdown(self, how: int) -> None:
        """C{SHUT_WR} sends end-of-stream; C{SHUT_RD} stops reading;
        C{SHUT_RDWR} closes."""
        if self.transport is None:
            return
        if how == socket.SHUT_RDWR:
            self.close()
        elif how == socket.SHUT_WR and not self._write_shut:
            self._write_shut = True
            self._call_in_reactor(self._lose_write_connection)
        elif how == socket.SHUT_RD:
            with self._condition:
                self._buffer = b""
                self._ended = True
                self._condition.notify_all()

    def close(self) -> None:
        """Close this side once what was written is sent."""
        self._set_closed()
        if self.close_to is not None:
            self._call_in_reactor(self.close_to)
        elif self.transport is not None:
            self._call_in_reactor(self.transport.loseConnection)

    def abort(self) -> None:
        """Close this side at once with a reset, dropping unsent data."""
        self._set_closed()
        if self.transport is not None:
            self._call_in_reactor(self.transport.abortConnection)

    def _set_closed(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def _lose_write_connection(self) -> None:
        """End this side's stream once what was written is sent. Nothing
        more is written here, so the producer that throttled the other side
        for it goes: Twisted resumes a paused producer instead of ending
        the stream when the buffer drains, and would never end it."""
        transport = self.transport
        lose = getattr(transport, "loseWriteConnection", None)
        if lose is None:
            transport.loseConnection()
            return
        producer = getattr(transport, "producer", None)
        if producer is not None:
            transport.unregisterProducer()
            producer.resumeProducing()
        lose()

    # -- the handler's side: the rest of the socket API -------------------

    def getpeername(self) -> Any:
        """The address of the peer on this side."""
        return socket_address(self.transport.getPeer())

    def getsockname(self) -> Any:
        """The proxy's own address on this side."""
        return socket_address(self.transport.getHost())

    def settimeout(self, value: float | None) -> None:
        """Bound how long a blocking C{recv} waits (C{None}: forever)."""
        self._timeout = value

    def gettimeout(self) -> float | None:
        """The value given to L{settimeout}."""
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        """As C{socket.setblocking}: a timeout of C{None} or C{0.0}."""
        self._timeout = None if flag else 0.0

    def _call_in_reactor(self, function: Callable[..., Any], *args: Any) -> None:
        if self.blocking:
            self._reactor.callFromThread(function, *args)
        else:
            function(*args)
