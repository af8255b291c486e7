"""Framers for Redis' RESP: requests (RESP arrays and inline commands) and
replies (RESP2 and RESP3).

Both framers keep the bytes of the frame in progress plus a parse
position: each token is parsed once, a line is searched for its end only
in the bytes that arrived since the last search, and a bulk payload is
skipped by its announced length, so framing is linear in the bytes fed.
Following bytes already passed on (L{_Reader.follow}, while skimming),
they keep no byte they parsed: only a line not yet whole, or a word of a
request still arriving.
"""
from __future__ import annotations

import re

from vaurien.protocols.framing import Frame, FramingError
from vaurien.protocols.redis.skim import (
    TUNNEL, skim_commands, skim_plain_replies, whole_command, whole_plain_reply,
)

_LENGTH = re.compile(rb"-?[0-9]{1,19}\Z")
_SIMPLE = frozenset(b"+-:_,#(")
_BULK = frozenset(b"$!=")
#: Aggregate type byte -> elements per announced unit.
_AGGREGATE = {ord("*"): 1, ord("~"): 1, ord(">"): 1, ord("%"): 2, ord("|"): 2}
_NULLABLE = frozenset(b"$*")
_ATTRIBUTE = ord("|")
#: The longest request word (of the first three) kept while following.
_WORD = 64


def _length(text: bytes, limit: int, nullable: bool) -> int:
    """Parse a length or count announced in a header line.

    @param text: the header without its type byte.
    @param limit: the largest value allowed.
    @param nullable: whether C{-1} (RESP2 null) is allowed.
    @raise FramingError: if C{text} is not a number in range.
    """
    if not _LENGTH.match(text):
        raise FramingError(f"bad length {text[:32]!r}")
    value = int(text)
    if value > limit or value < -1 or (value == -1 and not nullable):
        raise FramingError(f"length {value} out of range")
    return value


class _Reader:
    """A buffer with a parse position, shared by both framers."""

    def __init__(
        self,
        max_bulk: int = 512 * 1024 * 1024,
        max_elements: int = 1024 * 1024,
        max_inline: int = 64 * 1024,
    ) -> None:
        """
        @param max_bulk: the longest bulk string accepted.
        @param max_elements: the most elements in an array or aggregate
            (pairs, for a map).
        @param max_inline: the longest line (without its end) accepted.
        """
        self._max_bulk = max_bulk
        self._max_elements = max_elements
        self._buf = bytearray()
        self._start = 0  # where the frame in progress begins
        self._pos = 0  # where the next token begins
        self._scan = 0  # where the search for the next line end resumes
        self._bulk: int | None = None  # payload bytes awaited
        self._skipped = False  # following skipped part of this payload
        self._following = False  # the bytes fed were passed on already
        self._cut_short = False  # following dropped bytes of this frame
        self._max_line = max_inline
        self._frames: list[Frame] = []
        self._begin()

    def _begin(self) -> None:
        """Set the framer's own parse state."""
        raise NotImplementedError()

    @property
    def idle(self) -> bool:
        """Whether no frame is in progress: the next byte starts one."""
        return not self._buf and not self._cut_short

    @property
    def pending(self) -> int:
        """The number of bytes held for the frame in progress."""
        return len(self._buf) - self._start

    def held(self) -> bytes:
        """The bytes not given out in frames: the frame in progress, or
        after a L{FramingError} every byte fed since the last frames."""
        return bytes(self._buf)

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes of the stream and return the frames they complete.

        @raise FramingError: if the stream is not in the protocol's format.
        """
        return self._take(data, following=False)

    def follow(self, data: bytes) -> list[Frame]:
        """As L{feed}, for bytes passed on already: nothing parsed is
        kept, so a frame that spans calls comes with no C{data} (a
        request's first words in its C{meta})."""
        return self._take(data, following=True)

    def _take(self, data: bytes, following: bool) -> list[Frame]:
        self._following = following
        self._buf += data
        while self._advance():
            pass
        cut = self._start
        if following:
            self._cut_short = self._cut_short or self._pos > self._start
            cut = self._pos
        del self._buf[:cut]
        self._pos -= cut
        self._scan = max(self._scan - cut, 0)
        self._start = max(self._start - cut, 0)
        frames, self._frames = self._frames, []
        return frames

    def _advance(self) -> bool:
        """Consume one token; return C{False} when more bytes are needed."""
        raise NotImplementedError()

    def _line(self, end: bytes = b"\r\n") -> bytes | None:
        """Consume the line at the parse position.

        @param end: the line terminator.
        @return: the line without its terminator, or C{None} if incomplete.
        @raise FramingError: if the line is longer than allowed.
        """
        at = self._buf.find(end, max(self._pos, self._scan))
        if at < 0:
            if len(self._buf) - self._pos > self._max_line:
                raise FramingError("line too long")
            self._scan = max(self._pos, len(self._buf) - len(end) + 1)
            return None
        if at - self._pos > self._max_line:
            raise FramingError("line too long")
        line = bytes(self._buf[self._pos : at])
        self._pos = self._scan = at + len(end)
        return line

    def _payload(self) -> int | None:
        """Consume the bulk payload of L{_bulk} bytes and its CRLF; while
        following, the part of a long one that came is skipped at once.

        @return: where the payload starts in the buffer (C{-1}: part of it
            was skipped), or C{None} if it has not fully arrived yet.
        @raise FramingError: if the payload is not followed by CRLF.
        """
        end = self._pos + self._bulk
        if len(self._buf) < end + 2:
            if self._following and self._bulk > _WORD:
                skipped = min(self._bulk, len(self._buf) - self._pos)
                self._pos = self._scan = self._pos + skipped
                self._bulk -= skipped
                self._cut_short = self._skipped = True
            return None
        if self._buf[end : end + 2] != b"\r\n":
            raise FramingError("bulk string not followed by CRLF")
        start = -1 if self._skipped else self._pos
        self._pos = self._scan = end + 2
        self._bulk = None
        self._skipped = False
        return start

    def _emit(self, command: bytes | None = None, expects_reply: bool = True,
              words: list[bytes] | None = None) -> None:
        """Cut the bytes from the frame start to the parse position (none
        if following dropped some of them)."""
        data = b"" if self._cut_short else bytes(self._buf[self._start : self._pos])
        tunnel = command in TUNNEL
        self._frames.append(Frame(data, command, expects_reply, tunnel, meta=words))
        self._start = self._pos
        self._cut_short = False


class RespRequestFramer(_Reader):
    """Frames client to server Redis traffic.

    A request is a RESP array of bulk strings or an inline command (a
    line of space separated words, ended by LF or CRLF as Redis accepts).
    Its C{command} is its first word in upper case; empty requests
    (C{*0}, C{*-1}, blank lines), which Redis ignores, get
    C{command=None} and C{expects_reply=False}. The framer keeps framing
    after a C{tunnel} frame: stopping is the caller's business.
    """

    def _begin(self) -> None:
        self._remaining = 0  # elements left in the array in progress
        #: The first words of the array in progress, in upper case; a
        #: word longer than L{_WORD} (but the command) is kept as C{b""}.
        self._words: list[bytes] = []

    def _advance(self) -> bool:
        if self._bulk is not None:
            return self._element()
        if self._remaining:
            return self._bulk_header()
        if self._pos >= len(self._buf):
            return False
        if self._buf[self._pos] != ord("*"):
            return self._inline()
        whole = whole_command(self._buf, self._pos, self._max_elements, self._max_bulk)
        if whole is not None:
            self._pos = self._scan = whole[0]
            self._emit(whole[1])
            return True
        line = self._line()
        if line is None:
            return False
        self._remaining = max(_length(line[1:], self._max_elements, True), 0)
        if not self._remaining:
            self._emit(expects_reply=False)
        return True

    def skim(self, data: bytes) -> tuple[int, int]:
        """Follow the whole plain requests at the start of C{data}, which
        comes next in the stream, without cutting them out (none while a
        frame is in progress).

        @return: C{(end, count)}, as L{py_skim_commands}.
        """
        if not self.idle:
            return 0, 0
        return skim_commands(data, self._max_elements, self._max_bulk, self._max_line)

    @property
    def skim_limits(self) -> tuple[int, int, int]:
        """The limits L{skim} follows requests within."""
        return self._max_elements, self._max_bulk, self._max_line

    def _bulk_header(self) -> bool:
        """Consume the C{$<size>} header of an array element."""
        line = self._line()
        if line is None:
            return False
        if line[:1] != b"$":
            raise FramingError(f"expected a bulk string, got {line[:32]!r}")
        self._bulk = _length(line[1:], self._max_bulk, False)
        return True

    def _element(self) -> bool:
        """Consume the payload of an array element."""
        start = self._payload()
        if start is None:
            return False
        words = self._words
        if len(words) < 3:
            end = self._pos - 2
            whole = start >= 0 and (end - start <= _WORD or not words)
            words.append(bytes(self._buf[start:end]).upper() if whole else b"")
        self._remaining -= 1
        if not self._remaining:
            self._emit(words[0], words=words)
            self._words = []
        return True

    def _inline(self) -> bool:
        """Consume an inline command."""
        line = self._line(b"\n")
        if line is None:
            return False
        words = line.split()
        if words:
            self._emit(words[0].upper())
        else:
            self._emit(expects_reply=False)
        return True


class RespReplyFramer(_Reader):
    """Frames server to client Redis traffic, RESP2 and RESP3.

    An attribute (C{|}) and the reply it annotates make one frame. Push
    frames (C{>}), which answer no request, get C{command=b">"}; all
    other frames get C{command=None}.
    """

    def _begin(self) -> None:
        self._stack: list[int] = []  # elements left in each open aggregate
        self._open: list[int] = []  # type byte of each open aggregate
        #: How many open aggregates, from the outermost, are attributes
        #: whose annotated value comes next: all of them, before the reply.
        self._annotating = 0
        self._kind = 0  # type byte of the reply the frame carries

    def _advance(self) -> bool:
        if self._bulk is not None:
            if self._payload() is None:
                return False
            self._value_done()
            return True
        if not self._stack:
            end = whole_plain_reply(self._buf, self._pos, self._max_bulk, self._max_line)
            if end is not None:
                self._pos = self._scan = end
                self._emit()
                return True
        line = self._line()
        if line is None:
            return False
        if not line:
            raise FramingError("empty line")
        self._header(line[0], line[1:])
        return True

    def skim(self, data: bytes) -> tuple[int, int]:
        """Follow the whole plain replies at the start of C{data}, as
        L{RespRequestFramer.skim} does requests."""
        if not self.idle:
            return 0, 0
        return skim_plain_replies(data, self._max_bulk, self._max_line)

    @property
    def skim_limits(self) -> tuple[int, int]:
        """The limits L{skim} follows replies within."""
        return self._max_bulk, self._max_line

    def _header(self, kind: int, rest: bytes) -> None:
        """Handle a header line of type byte C{kind}."""
        if self._annotated_next():
            self._kind = kind
        if kind in _SIMPLE:
            self._value_done()
        elif kind in _BULK:
            size = _length(rest, self._max_bulk, kind in _NULLABLE)
            if size < 0:
                self._value_done()
            else:
                self._bulk = size
        elif kind in _AGGREGATE:
            count = _length(rest, self._max_elements, kind in _NULLABLE)
            count = max(count, 0) * _AGGREGATE[kind] + (kind == _ATTRIBUTE)
            if count:
                self._stack.append(count)
                self._open.append(kind)
                self._settle_top()
            else:
                self._value_done()
        else:
            raise FramingError(f"bad type byte {bytes([kind])!r}")

    def _value_done(self) -> None:
        """Account for a complete value; emit the frame it may complete."""
        while self._stack:
            self._stack[-1] -= 1
            if self._stack[-1]:
                self._settle_top()
                return
            self._stack.pop()
            self._open.pop()
            self._annotating = min(self._annotating, len(self._stack))
        self._emit(b">" if self._kind == ord(">") else None)

    def _settle_top(self) -> None:
        """Count the innermost open aggregate in L{_annotating} or not,
        now that it changed: only it can, so each value costs O(1) however
        deep attributes nest."""
        top = len(self._stack) - 1
        if self._annotating >= top:
            self._annotating = top + (self._open[top] == _ATTRIBUTE and self._stack[top] == 1)

    def _annotated_next(self) -> bool:
        """Whether the next value is the reply itself: at the top level, or
        after the elements of the attributes (C{|}) that annotate it."""
        return self._annotating == len(self._stack)
