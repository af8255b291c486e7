"""The framing of one HTTP/1.x connection, cut with h11.

h11 parses; this module only counts. Each message is read by a fresh
h11 connection (server role for requests, client role for responses),
and a message ends where h11 stopped consuming input: the bytes fed
minus C{trailing_data} once the message's last event is out. So frames
are the exact bytes received, whatever h11 normalises in its events.

A fresh h11 connection per message, rather than one per direction,
frees requests from h11's rule that a server connection answers one
request before it parses the next: pipelined requests are framed as
they arrive, and HTTP/1.0 keep-alive (which h11 treats as close) works.

After a tunnel request (CONNECT, C{Upgrade}, C{Expect: 100-continue}),
each direction stops parsing and holds what comes (the reply side once
the responses to the requests before it are out): the caller stops
framing and takes those bytes from C{unframed()}.
"""
from __future__ import annotations

import re
from collections import deque

import h11
from attrs import frozen
from zope.interface import implementer

from vaurien.interfaces import IFraming
from vaurien.protocols.framing import Frame, FramingError
from vaurien.protocols.pairing import PairedFraming

@frozen
class RequestHead:
    """What the framing keeps about a request (a request frame's C{meta}).

    @ivar method: the method exactly as sent (methods are case-sensitive:
        only C{HEAD} has a bodiless response).
    @ivar head_size: the length of the request line and headers, with
        the blank line that ends them.
    """

    method: bytes
    head_size: int


class _MessageReader:
    """Cuts one direction's stream into whole messages.

    @ivar _held: the bytes of the message in progress and those after it,
        exactly as received; h11's own buffer holds the same bytes.
    @ivar _head_start: where the header block being read starts in
        C{_held}.
    @ivar _stopped: framing stopped (a tunnel, an error): bytes are only
        held, for the fall-back to tcp.
    @ivar _ended: the stream ended (replies only).
    """

    def __init__(self, max_header_size: int, max_body_size: int) -> None:
        """
        @param max_header_size: the largest header block allowed.
        @param max_body_size: the largest body allowed.
        """
        self._max_header_size = max_header_size
        self._max_size = max_header_size + max_body_size
        self._held = bytearray()
        self._head_start = 0
        self._stopped = False
        self._ended = False
        self._conn: h11.Connection | None = None

    def held(self) -> bytes:
        """The bytes not given out in frames."""
        return bytes(self._held)

    def feed(self, data: bytes) -> list[Frame]:
        """Take the next bytes of the stream.

        @return: the frames they complete, in order.
        @raise FramingError: the stream is not HTTP/1.x, or a message is
            over the size limits.
        """
        self._held += data
        if self._conn is not None and data:  # h11 takes b"" for the end
            self._conn.receive_data(data)
        return self._drain()

    def _drain(self) -> list[Frame]:
        """Cut every whole message held.

        @raise FramingError: with every byte fed since the last frames
            given out held again, for the fall-back to tcp.
        """
        frames: list[Frame] = []
        try:
            while not self._stopped and self._step(frames):
                pass
            if not self._stopped and len(self._held) > self._max_size:
                raise FramingError("message over the size limits")
        except (h11.ProtocolError, FramingError) as error:
            self._held[:0] = b"".join(frame.data for frame in frames)
            self._stopped = True
            raise FramingError(f"not framable as HTTP/1.x: {error}") from None
        return frames

    def _step(self, frames: list[Frame]) -> bool:
        """Read the next h11 event of the message in progress.

        @return: whether to read on.
        """
        if self._conn is None:
            if not self._ready():
                return False
            self._conn = self._new_connection()
            self._conn.receive_data(bytes(self._held))
            if self._ended:
                self._conn.receive_data(b"")
        event = self._conn.next_event()
        if event is h11.NEED_DATA:
            return False
        self._on_event(event, frames)
        return True

    def _consumed(self) -> int:
        """How many held bytes h11 has consumed."""
        assert self._conn is not None
        return len(self._held) - len(self._conn.trailing_data[0])

    def _end_head(self) -> int:
        """Check the size of the header block just read.

        @return: where it ends in C{_held}.
        @raise FramingError: it is larger than allowed.
        """
        end = self._consumed()
        if end - self._head_start > self._max_header_size:
            raise FramingError("header block over max_header_size")
        self._head_start = end
        return end

    def _cut(self, end: int) -> bytes:
        """End the message in progress at C{end}: the rest is the next.

        @return: the message's bytes.
        """
        data = bytes(self._held[:end])
        del self._held[:end]
        self._head_start = 0
        self._conn = None
        return data

    def _ready(self) -> bool:
        """Whether a new message may be read now."""
        raise NotImplementedError()

    def _new_connection(self) -> h11.Connection:
        """An h11 connection ready to read one message."""
        raise NotImplementedError()

    def _on_event(self, event: h11.Event, frames: list[Frame]) -> None:
        """Handle one h11 event of the message in progress."""
        raise NotImplementedError()


class RequestReader(_MessageReader):
    """Frames requests: one frame per request, body included.

    A tunnel request is cut at the end of its headers: what follows it
    (a CONNECT tunnel, an upgraded protocol, a body sent after
    C{100 Continue}) is raw.
    """

    def __init__(self, max_header_size: int, max_body_size: int) -> None:
        super().__init__(max_header_size, max_body_size)
        self._request: h11.Request | None = None
        self._line_checked = False  # the request line in progress is HTTP/1.x
        self._line_scanned = 0  # how far its end was looked for

    def _ready(self) -> bool:
        return bool(self._held)

    def _step(self, frames: list[Frame]) -> bool:
        if not self._line_checked:
            self._check_request_line()
        return super()._step(frames)

    def _check_request_line(self) -> None:
        """Refuse a request line that is not HTTP/1.0 or 1.1 as soon as it
        is whole, not once a whole head has come: a server would answer
        it (or close) at once, and so the rest passes as tcp at once.

        @raise FramingError: it is not such a request line.
        """
        end = self._held.find(b"\n", self._line_scanned)
        if end < 0:
            self._line_scanned = len(self._held)
            return
        if _REQUEST_LINE.fullmatch(self._held, 0, end + 1) is None:
            raise FramingError("not an HTTP/1.0 or 1.1 request line")
        self._line_checked = True

    def _new_connection(self) -> h11.Connection:
        return h11.Connection(h11.SERVER,
                              max_incomplete_event_size=self._max_header_size)

    def _on_event(self, event: h11.Event, frames: list[Frame]) -> None:
        if isinstance(event, h11.Request):
            self._request = event
            head_size = self._end_head()
            if _is_tunnel(event):
                frames.append(self._frame(self._cut(head_size), head_size, True))
                self._stopped = True
        elif isinstance(event, h11.EndOfMessage):
            head_size = self._head_start
            frames.append(self._frame(self._cut(self._consumed()), head_size, False))
            self._line_checked = False  # the next request's is to check
            self._line_scanned = 0

    def _frame(self, data: bytes, head_size: int, tunnel: bool) -> Frame:
        """The frame of the request just read."""
        request = self._request
        assert request is not None
        return Frame(data, command=request.method.upper(), target=request.target,
                     tunnel=tunnel, meta=RequestHead(request.method, head_size))


#: A request line of HTTP/1.0 or 1.1 (RFC 9112, section 3): a method
#: token, a target, the version, and CRLF or LF.
_REQUEST_LINE = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+ [^ \r\n]+ HTTP/1\.[01]\r?\n")


def _is_tunnel(request: h11.Request) -> bool:
    """Whether the stream after C{request}'s headers is no longer HTTP."""
    if request.method.upper() == b"CONNECT":
        return True
    for name, value in request.headers:
        if name == b"upgrade":
            return True
        if name == b"expect" and value.lower() == b"100-continue":
            return True
    return False


class ReplyReader(_MessageReader):
    """Frames responses: one frame per final response, with the
    informational (1xx) responses before it and its body.

    Responses are paired in order with the requests announced by
    L{expect}. A response delimited by the close of the connection is
    complete at L{end}.
    """

    def __init__(self, max_header_size: int, max_body_size: int) -> None:
        super().__init__(max_header_size, max_body_size)
        self._expected: deque[Frame] = deque()

    @property
    def awaited(self) -> int:
        """How many requests await their response."""
        return len(self._expected)

    def expect(self, request: Frame) -> None:
        """Queue C{request}: its response comes after those queued.

        After the end of the stream, with nothing held, it goes to a new
        backend connection, whose stream has not ended.
        """
        if self._ended and not self._held:
            self._ended = False
        self._expected.append(request)

    def end(self) -> list[Frame]:
        """The stream ended: return the responses this completes.

        @raise FramingError: it ended inside a response.
        """
        self._ended = True
        if self._conn is not None:
            self._conn.receive_data(b"")
        return self._drain()

    def _ready(self) -> bool:
        if not self._held:
            return False
        if not self._expected:
            raise FramingError("response to no request")
        if self._expected[0].tunnel:
            self._stopped = True
            return False
        return True

    def _new_connection(self) -> h11.Connection:
        conn = h11.Connection(h11.CLIENT,
                              max_incomplete_event_size=self._max_header_size)
        head = self._expected[0].meta
        conn.send(h11.Request(method=head.method, target=b"/",
                              headers=[(b"host", b"vaurien")]))
        conn.send(h11.EndOfMessage())
        return conn

    def _on_event(self, event: h11.Event, frames: list[Frame]) -> None:
        if isinstance(event, (h11.InformationalResponse, h11.Response)):
            self._end_head()
        elif isinstance(event, h11.EndOfMessage):
            self._expected.popleft()
            frames.append(Frame(self._cut(self._consumed())))


@implementer(IFraming)
class HttpFraming(PairedFraming):
    """The framing of one HTTP connection.

    @ivar _host: the Host header value to send the backend, or C{None} to
        send requests as they came.
    """

    replies: ReplyReader

    def __init__(self, max_header_size: int, max_body_size: int,
                 host: bytes | None = None) -> None:
        """
        @param max_header_size: the largest header block allowed.
        @param max_body_size: the largest body allowed.
        @param host: the Host header value requests are rewritten with;
            C{None} leaves them as they came.
        """
        super().__init__(RequestReader(max_header_size, max_body_size),
                         ReplyReader(max_header_size, max_body_size))
        self._host = host

    def expect_reply(self, request: Frame) -> None:
        self.replies.expect(request)

    def replies_ended(self) -> list[Frame]:
        """The backend closed: a response delimited by the close is
        complete."""
        frames = self.replies.end()
        self.pending -= sum(len(frame.data) for frame in frames)
        return frames

    def rewrite_request(self, request: Frame) -> bytes:
        """The request with its Host header set to the configured value;
        every other byte as it came."""
        if self._host is None or not isinstance(request.meta, RequestHead):
            return request.data
        head_size = request.meta.head_size
        head = _with_host(request.data[:head_size], self._host)
        return head + request.data[head_size:]


def _with_host(head: bytes, host: bytes) -> bytes:
    """Set the value of a request head's Host header; add one after the
    request line when missing. Other lines stay byte for byte.

    @param head: the request line and headers, blank line included,
        lines ending in CRLF or LF as h11 accepts them.
    """
    lines = head.splitlines(keepends=True)
    kept = lines[:1]
    host_line: bytes | None = None
    in_host = False
    for line in lines[1:-1]:
        if in_host and line[:1] in (b" ", b"\t"):
            continue
        name = line.split(b":", 1)[0]
        in_host = name.lower() == b"host"
        if not in_host:
            kept.append(line)
        elif host_line is None:
            host_line = name + b": " + host + line[len(line.rstrip(b"\r\n")):]
            kept.append(host_line)
    if host_line is None:
        kept.insert(1, b"Host: " + host + lines[-1])
    return b"".join(kept) + lines[-1]
