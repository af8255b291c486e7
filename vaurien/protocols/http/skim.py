"""Following HTTP/1.x message boundaries without cutting frames.

While every call only passes bytes, a framed connection passes each chunk on
as it comes and shows it to the framing, which only has to know where
each message ends, so that cutting frames may start again at a point of
rest. h11 (L{vaurien.protocols.http.framing}) costs over a hundred
microseconds a message; the followers here, about a tenth of that: they
find the end of a head with one C{bytes.find}, check it with two regular
expressions, and skip body bytes by count. They keep only a partial head or a partial chunk line,
and look at each byte once. Whole, plain messages (a head, then a body of
known length or none) take a faster way still, in C, when the optional
build made C{vaurien.protocols.http._skim}.

They are strict wherever leniency could put them out of step with the
peer: a head must end in CRLF CRLF, with no folded or malformed field,
one HTTP/1.0 or 1.1 start line, at most one way to know the body's
length (C{Content-Length} values that agree, or C{Transfer-Encoding:
chunked} alone). Anything else raises L{FramingError}, and the rest of
the connection passes as plain tcp.
"""
from __future__ import annotations

from collections import deque
from typing import Callable

from zope.interface import implementer

from vaurien.extensions import accelerator
from vaurien.interfaces import IWholeRequests
from vaurien.protocols.framing import FramingError, only_framing_errors
from vaurien.protocols.http.framing import HttpFraming
from vaurien.protocols.http.heads import (
    CHUNK_LINE, CHUNKED, FIELD_LINE, NO_BODY, REQUEST_LINE, STATUS_LINE, TOKEN_BYTES, body_of,
    framing_fields,
)

#: The fast way through plain messages, when the optional build made it.
_fast = accelerator("vaurien.protocols.http._skim")

_HEAD, _BODY, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILER, _UNTIL_CLOSE = range(7)


class _MessageFollower:
    """Follows where the messages of one direction end.

    @ivar plain: whether the next bytes start a message, with nothing
        held and nothing broken: a chunk of whole plain messages may then
        be followed without this object (L{SkimmingHttpFraming.followers}).
    @ivar _state: what the next bytes are: a head, body bytes, a chunk
        line or chunk bytes, the CRLF after a chunk, trailer lines, or
        everything up to the close.
    @ivar _held: the start of a head or line not yet whole.
    @ivar _remaining: body or chunk bytes still to skip.
    @ivar _trailer_size: the size of the trailer lines read so far.
    @ivar _broken: why following stopped, once it has.
    """

    def __init__(self, max_header_size: int) -> None:
        """
        @param max_header_size: the largest head (or trailer block, or
            chunk line) followed; a larger one raises L{FramingError}.
        """
        self._limit = max_header_size
        self._state = _HEAD
        self._held = bytearray()
        self._remaining = 0
        self._trailer_size = 0
        self._broken: str | None = None
        self._ended = 0  # messages ended in the feed in progress
        self.plain = True

    @property
    def idle(self) -> bool:
        """Whether no message is in progress."""
        return self._state == _HEAD and not self._held

    def feed(self, data: bytes) -> int:
        """Follow the next bytes of the stream.

        @return: how many messages they end.
        @raise FramingError: the stream is not (or no longer) HTTP/1.x
            that can be followed; it is raised again on any later call.
        """
        if self._broken is not None:
            raise FramingError(self._broken)
        self._ended = 0
        try:
            self._follow(data)
        except FramingError as error:
            self._broken = str(error)
            raise
        finally:
            self.plain = self._broken is None and self.idle
        return self._ended

    def _follow(self, data: bytes) -> None:
        pos, end = 0, len(data)
        while pos < end:
            state = self._state
            if state == _BODY or state == _CHUNK_DATA:
                step = min(self._remaining, end - pos)
                pos += step
                self._remaining -= step
                if not self._remaining:
                    if state == _BODY:
                        self._message_ended()
                    else:
                        self._state = _CHUNK_END
            elif state == _HEAD:
                held = len(self._held)
                if not held:
                    pos = self._skim_whole(data, pos)
                    if pos == end or self._state != _HEAD:
                        continue
                    self._starting()
                head, pos = self._take(data, pos, b"\r\n\r\n")
                if head is None:
                    self._check_partial_head(held)
                else:
                    self._on_head(head)
            elif state == _UNTIL_CLOSE:
                return
            elif state == _CHUNK_END and not self._held and data[pos:pos + 2] == b"\r\n":
                pos += 2
                self._state = _CHUNK_SIZE
            else:
                line, pos = self._take(data, pos, b"\r\n")
                if line is not None:
                    self._on_line(line[:-2])

    def _take(self, data: bytes, pos: int, end_mark: bytes) -> tuple[bytes | None, int]:
        """The bytes up to and with the next C{end_mark}, with those held.

        @return: C{(those bytes, position after them)}, or C{(None, the
            end of data)} when C{end_mark} is not in yet: the bytes are
            held till it is.
        @raise FramingError: more than the limit before C{end_mark}.
        """
        held, limit = self._held, self._limit
        if not held:
            found = data.find(end_mark, pos, pos + limit)
            if found >= 0:
                after = found + len(end_mark)
                return data[pos:after], after
            if len(data) - pos >= limit:
                raise FramingError(f"no end of line within {limit} bytes")
            held += data[pos:]
            return None, len(data)
        old = len(held)
        held += data[pos:pos + limit - old]
        found = held.find(end_mark, max(0, old - len(end_mark) + 1))
        if found >= 0:
            after = found + len(end_mark)
            block = bytes(held[:after])
            held.clear()
            return block, pos + after - old
        if len(held) >= limit:
            raise FramingError(f"no end of line within {limit} bytes")
        return None, len(data)

    def _check_partial_head(self, start: int) -> None:
        """Fail early on the start of a head that cannot end well (a TLS
        handshake, a bare LF that the peer takes for a line end).

        @param start: where the bytes not checked yet start in C{_held}.
        """
        held = self._held
        if held[0] not in TOKEN_BYTES:
            raise FramingError(f"not HTTP/1.x: {bytes(held[:40])!r}")
        if held.count(b"\n", start) != held.count(b"\r\n", max(0, start - 1)):
            raise FramingError("a line ends in a bare LF")

    def _on_line(self, line: bytes) -> None:
        """A whole line of a chunked body, without its CRLF."""
        state = self._state
        if state == _CHUNK_SIZE:
            match = CHUNK_LINE.fullmatch(line)
            if match is None:
                raise FramingError(f"bad chunk size line {line[:40]!r}")
            self._remaining = int(match.group(1), 16)
            if self._remaining:
                self._state = _CHUNK_DATA
            else:
                self._state = _TRAILER
                self._trailer_size = 0
        elif state == _CHUNK_END:
            if line:
                raise FramingError(f"chunk data runs past its size: {line[:40]!r}")
            self._state = _CHUNK_SIZE
        elif not line:  # the blank line after the trailers
            self._message_ended()
        else:
            self._trailer_size += len(line) + 2
            if self._trailer_size > self._limit:
                raise FramingError(f"trailers over {self._limit} bytes")
            if FIELD_LINE.fullmatch(line) is None:
                raise FramingError(f"malformed trailer field {line[:40]!r}")

    def _read_body(self, body: int) -> None:
        """The head just read is followed by C{body}."""
        if body == CHUNKED:
            self._state = _CHUNK_SIZE
        elif body > 0:
            self._remaining = body
            self._state = _BODY
        else:
            self._message_ended()

    def _message_ended(self) -> None:
        self._state = _HEAD
        self._ended += 1

    def _skim_whole(self, data: bytes, pos: int) -> int:
        """Follow the whole, plain messages from C{pos} the fast way (in
        C, when built); return where that stopped."""
        raise NotImplementedError()

    def _skimmed(self, count: int, remaining: int) -> None:
        """C{count} messages were followed the fast way; the body of the
        last one goes on for C{remaining} more bytes, if any."""
        self._ended += count
        if remaining:
            self._ended -= 1
            self._state = _BODY
            self._remaining = remaining

    def _starting(self) -> None:
        """A new message starts."""

    def _on_head(self, head: bytes) -> None:
        """A whole head, its blank line included."""
        raise NotImplementedError()


class RequestFollower(_MessageFollower):
    """Follows requests; the method of each goes to C{awaiting}, for the
    response follower, as soon as its head is in."""

    def __init__(self, max_header_size: int, awaiting: deque[bytes]) -> None:
        """
        @param max_header_size: as L{_MessageFollower}.
        @param awaiting: the methods of the requests whose response has
            not started, oldest first.
        """
        super().__init__(max_header_size)
        self._awaiting = awaiting

    def _on_head(self, head: bytes) -> None:
        line = REQUEST_LINE.match(head)
        if line is None:
            raise FramingError(f"not an HTTP/1.x request line: {head[:80]!r}")
        method = line.group(1)
        fields = framing_fields(head, line.end())
        hosts = 0
        for name, value in fields:
            if name == b"host":
                hosts += 1
            elif name == b"upgrade" or (name == b"expect" and value == b"100-continue"):
                raise FramingError(f"{name.decode()!r} makes it a tunnel")
        if method.upper() == b"CONNECT":
            raise FramingError(f"{method!r} makes it a tunnel")
        if line.group(2) == b"1" and hosts != 1:
            raise FramingError(f"an HTTP/1.1 request with {hosts} Host headers")
        body = body_of(fields)
        self._awaiting.append(method)
        self._read_body(body)

    def _skim_whole(self, data: bytes, pos: int) -> int:
        if _fast is None:
            return pos
        end, methods, remaining = _fast.skim_requests(data, pos, self._limit)
        if methods:
            self._awaiting.extend(methods)
            self._skimmed(len(methods), remaining)
        return end


class ResponseFollower(_MessageFollower):
    """Follows responses, each to the oldest request in C{awaiting}.

    Informational responses (1xx) are part of the exchange; a response
    delimited by the close never ends here: the follower stays busy.
    """

    def __init__(self, max_header_size: int, awaiting: deque[bytes]) -> None:
        """
        @param max_header_size: as L{_MessageFollower}.
        @param awaiting: shared with the L{RequestFollower}.
        """
        super().__init__(max_header_size)
        self._awaiting = awaiting

    def _starting(self) -> None:
        if not self._awaiting:
            raise FramingError("a response to no request")

    def _check_partial_head(self, start: int) -> None:
        held = self._held
        if start < 7 and not b"HTTP/1.".startswith(held[:7]):
            raise FramingError(f"not an HTTP/1.x response: {bytes(held[:40])!r}")
        super()._check_partial_head(start)

    def _on_head(self, head: bytes) -> None:
        line = STATUS_LINE.match(head)
        if line is None:
            raise FramingError(f"not an HTTP/1.x status line: {head[:80]!r}")
        status = int(line.group(1))
        body = body_of(framing_fields(head, line.end()))
        if status < 200:
            if status == 101:
                raise FramingError("101 Switching Protocols makes it a tunnel")
            return  # informational: the final response comes next
        method = self._awaiting.popleft()
        if method == b"HEAD" or status == 204 or status == 304:
            self._read_body(NO_BODY)
        elif body == NO_BODY:
            self._state = _UNTIL_CLOSE
        else:
            self._read_body(body)

    def _skim_whole(self, data: bytes, pos: int) -> int:
        if _fast is None:
            return pos
        awaiting = self._awaiting
        end, count, remaining = _fast.skim_responses(data, pos, self._limit, awaiting)
        for _ in range(count):
            awaiting.popleft()
        if count:
            self._skimmed(count, remaining)
        return end


@implementer(IWholeRequests)
class SkimmingHttpFraming(HttpFraming):
    """The framing of an HTTP connection whose requests pass unchanged:
    it can follow traffic without cutting it, and cut it from any point
    of rest."""

    def __init__(self, max_header_size: int, max_body_size: int) -> None:
        """
        @param max_header_size: the largest header block allowed.
        @param max_body_size: the largest body allowed when cutting
            (skimming holds no body).
        """
        super().__init__(max_header_size, max_body_size)
        self._header_limit = max_header_size
        self._awaiting: deque[bytes] = deque()
        self._skimmed_requests = RequestFollower(max_header_size, self._awaiting)
        self._skimmed_replies = ResponseFollower(max_header_size, self._awaiting)

    @property
    def resting(self) -> bool:
        """No message in progress either way, no response awaited, in the
        cutting readers as in the followers."""
        return (
            not self.pending and not self.replies.awaited and not self._awaiting
            and self._skimmed_requests.idle and self._skimmed_replies.idle
        )

    def whole_requests(self, data: bytes) -> int:
        """How many requests C{data} is, when it is exactly that many whole
        plain messages, from a point of rest (C only: else 0)."""
        if _fast is None or not self._skimmed_requests.idle:
            return 0
        end, methods, remaining = _fast.skim_requests(data, 0, self._header_limit)
        return len(methods) if end == len(data) and not remaining else 0

    @only_framing_errors
    def skim_requests(self, data: bytes) -> int:
        """Follow requests already passed on; return how many end."""
        return self._skimmed_requests.feed(data)

    @only_framing_errors
    def skim_replies(self, data: bytes) -> None:
        """Follow responses already passed on."""
        self._skimmed_replies.feed(data)

    def followers(self) -> tuple[Callable[[bytes], int], Callable[[bytes], None]]:
        """What the lane shows each chunk to, requests then responses: a
        C follower that takes a chunk of whole plain messages itself and
        gives any other to L{skim_requests} or L{skim_replies}, with the
        same answers; those two when the C build is missing."""
        if _fast is None:  # pragma: no cover - no compiler at install
            return self.skim_requests, self.skim_replies
        follower = _fast.Follower(self._skimmed_requests, self._skimmed_replies,
                                  self._awaiting, self._header_limit)
        return follower.requests, follower.replies
