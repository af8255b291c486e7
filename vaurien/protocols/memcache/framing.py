"""Framers for the memcached text protocol (memcached's C{protocol.txt}).

L{MemcacheRequestFramer} cuts the client's byte stream into requests,
L{MemcacheReplyFramer} cuts the server's into replies. A request is a
command line, plus a data block for the storage commands (C{set},
C{cas}, ..., meta C{ms}). A reply is one line, a line and a data block
(meta C{VA}), or, for retrieval and C{stats}, lines and data blocks up to
C{END}. The binary protocol is not framed: its magic byte raises
L{FramingError} so that the caller falls back to plain tcp.

What a line means is decided by L{request_line} and L{reply_line},
which L{vaurien.protocols.memcache.skim}'s skimmers ask too, so that following
traffic and cutting it agree.
"""
from __future__ import annotations

from collections import deque

from vaurien.protocols.framing import Frame, FramingError

MAX_LINE = 8192
MAX_VALUE = 64 * 1024 * 1024

_CRLF = b"\r\n"
#: First bytes of binary protocol requests and responses.
REQUEST_MAGIC, REPLY_MAGIC = 0x80, 0x81
_STORAGE = frozenset([b"set", b"add", b"replace", b"append", b"prepend"])
_NOREPLY = _STORAGE | {
    b"cas", b"delete", b"incr", b"decr", b"touch", b"flush_all",
    b"verbosity",
}
_QUIETABLE = frozenset([b"mg", b"ms", b"md", b"ma"])
RETRIEVAL = frozenset([b"GET", b"GETS", b"GAT", b"GATS"])
_META = frozenset([b"MG", b"MS", b"MD", b"MA", b"MN", b"ME"])
_ERRORS = frozenset([b"ERROR", b"CLIENT_ERROR", b"SERVER_ERROR"])
#: Requests whose reply may be more than one line.
LONG_REPLIES = RETRIEVAL | _META | {b"STATS"}

#: What a reply line does (L{reply_line}), besides announcing a block.
ENDS, GOES_ON = -1, -2


def block_size(length: bytes, max_value: int) -> int:
    """The size of a data block announced as C{length} (decimal).

    @raise FramingError: the length is not a number or is too large.
    """
    if not length.isdigit() or len(length) > 10:
        raise FramingError(f"bad data length {length!r}")
    size = int(length)
    if size > max_value:
        raise FramingError(f"data length {size} over limit")
    return size


def request_line(tokens: list[bytes]) -> tuple[bytes, bool, bool, bytes | None]:
    """What a request line, split into its words, is.

    @return: C{(command, expects_reply, quiet, length)}: the command word
        in upper case; whether a reply comes; whether it is a meta command
        in quiet mode; the announced length of its data block, C{None}
        without one.
    @raise FramingError: a storage command line with the wrong word count.
    """
    word = tokens[0] if tokens else b""
    quiet = word in _QUIETABLE and b"q" in tokens[2:]
    return word.upper(), _expects_reply(word, tokens), quiet, _data_length(word, tokens)


def _expects_reply(word: bytes, tokens: list[bytes]) -> bool:
    """Whether a request line gets a reply."""
    if word == b"quit":
        return False
    if word in _NOREPLY:
        return tokens[-1] != b"noreply" or len(tokens) < 2
    return True


def _data_length(word: bytes, tokens: list[bytes]) -> bytes | None:
    """The data block length of a request line, C{None} without one.

    @raise FramingError: a storage command line with the wrong word count.
    """
    if word in _STORAGE:
        if len(tokens) not in (5, 6):
            raise FramingError(f"bad {word!r} command line")
        return tokens[4]
    if word == b"cas":
        if len(tokens) not in (6, 7):
            raise FramingError("bad cas command line")
        return tokens[4]
    if word == b"ms":
        if len(tokens) < 3:
            raise FramingError("bad ms command line")
        return tokens[2]
    return None


def reply_line(command: bytes, tokens: list[bytes], max_value: int) -> int:
    """What a line, split into its words, does to the reply to C{command}.

    @return: L{ENDS} (the reply is whole), L{GOES_ON} (more lines come),
        or the size of the data block that follows it.
    @raise FramingError: the line has no place in that reply.
    """
    word = tokens[0] if tokens else b""
    if word in _ERRORS:
        return ENDS
    if command in RETRIEVAL:
        if tokens == [b"END"]:
            return ENDS
        if word == b"VALUE" and len(tokens) in (4, 5):
            return block_size(tokens[3], max_value)
        raise FramingError("bad line in a retrieval reply")
    if command == b"STATS":
        return GOES_ON if word == b"STAT" else ENDS
    if command in _META and word == b"VA":
        if len(tokens) < 2:
            raise FramingError("bad VA line")
        return block_size(tokens[1], max_value)
    return ENDS


class _LineFramer:
    """Cuts a stream into lines and data blocks, kept as one frame.

    Subclasses decide, line by line, whether the frame in progress ends,
    goes on, or continues with a data block.

    @ivar _buf: the bytes of the frame in progress and those after it.
    @ivar _start: where the frame in progress starts in C{_buf}.
    @ivar _line: where the line in progress starts in C{_buf}.
    @ivar _scan: where to look for the line's C{\\r\\n} from.
    @ivar _block_end: where the pending data block (with its C{\\r\\n})
        ends in C{_buf}, or C{None} outside a data block.
    """

    _magic: int

    def __init__(self, max_line: int = MAX_LINE,
                 max_value: int = MAX_VALUE) -> None:
        """
        @param max_line: the longest line allowed, without its C{\\r\\n}.
        @param max_value: the largest data block allowed.
        """
        self._max_line = max_line
        self._max_value = max_value
        self._buf = bytearray()
        self._start = self._line = self._scan = 0
        self._block_end: int | None = None

    def feed(self, data: bytes) -> list[Frame]:
        """Take the next bytes of the stream.

        @return: the frames they complete, in order.
        @raise FramingError: the stream is not memcached text protocol.
        """
        self._buf += data
        frames: list[Frame] = []
        while self._step(frames):
            pass
        self._compact()
        return frames

    def held(self) -> bytes:
        """The bytes not given out in frames: the frame in progress, or
        after a L{FramingError} every byte fed since the last frames."""
        return bytes(self._buf)

    def _compact(self) -> None:
        """Drop the bytes of the frames already given out."""
        shift = self._start
        if shift:
            del self._buf[:shift]
            self._start = 0
            self._line -= shift
            self._scan -= shift
            if self._block_end is not None:
                self._block_end -= shift

    def _step(self, frames: list[Frame]) -> bool:
        """Consume one line or data block if whole.

        @return: whether one was consumed.
        """
        buf = self._buf
        if self._block_end is not None:
            return self._step_block(frames)
        if self._line == self._start < len(buf) and buf[self._start] == self._magic:
            raise FramingError("memcached binary protocol")
        end = buf.find(_CRLF, self._scan)
        if end < 0:
            self._scan = max(len(buf) - 1, self._line)
            if len(buf) - self._line > self._max_line:
                raise FramingError("line too long")
            return False
        if end - self._line > self._max_line:
            raise FramingError("line too long")
        line = bytes(buf[self._line:end])
        self._line = self._scan = end + 2
        self._on_line(line.split(), frames)
        return True

    def _step_block(self, frames: list[Frame]) -> bool:
        """Consume the pending data block if whole.

        @return: whether it was consumed.
        """
        end = self._block_end
        assert end is not None
        if len(self._buf) < end:
            return False
        if self._buf[end - 2:end] != _CRLF:
            raise FramingError("data block not followed by \\r\\n")
        self._line = self._scan = end
        self._block_end = None
        self._on_block(frames)
        return True

    def _begin_block(self, length: bytes) -> None:
        """Expect a data block of C{length} bytes after the current line.

        @param length: the length as sent, in decimal.
        @raise FramingError: the length is not a number or is too large.
        """
        self._block_end = self._line + block_size(length, self._max_value) + 2

    def _cut(self, frames: list[Frame], command: bytes | None,
             expects_reply: bool = True, tunnel: bool = False) -> None:
        """End the frame in progress at the end of the current line."""
        frames.append(Frame(bytes(self._buf[self._start:self._line]),
                            command, expects_reply, tunnel))
        self._start = self._line

    def _on_line(self, tokens: list[bytes], frames: list[Frame]) -> None:
        """Handle a whole line, split into its words."""
        raise NotImplementedError()

    def _on_block(self, frames: list[Frame]) -> None:
        """Handle the end of a whole data block."""
        raise NotImplementedError()


class MemcacheRequestFramer(_LineFramer):
    """Frames client-to-server requests.

    A frame's C{command} is the command word in upper case
    (C{b"SET"}, C{b"MG"}); C{expects_reply} is C{False} for C{noreply}
    and C{quit}. A meta command in quiet mode (flag C{q}) may or may not
    be answered, so replies cannot be paired past it: it is a C{tunnel}.
    Unknown commands are framed as one line (memcached answers C{ERROR}).
    """

    _magic = REQUEST_MAGIC

    def __init__(self, max_line: int = MAX_LINE,
                 max_value: int = MAX_VALUE) -> None:
        super().__init__(max_line, max_value)
        self._pending: tuple[bytes, bool, bool] = (b"", True, False)

    def _on_line(self, tokens: list[bytes], frames: list[Frame]) -> None:
        command, expects, quiet, length = request_line(tokens)
        if length is None:
            self._cut(frames, command, expects, quiet)
        else:
            self._pending = (command, expects, quiet)
            self._begin_block(length)

    def _on_block(self, frames: list[Frame]) -> None:
        self._cut(frames, *self._pending)


class MemcacheReplyFramer(_LineFramer):
    """Frames server-to-client replies.

    The caller announces, with L{expect}, the command of each request
    that gets a reply, in the order sent. A retrieval reply (C{VALUE}
    items up to C{END}) and a C{stats} reply (C{STAT} lines up to C{END})
    are one frame each; a meta C{VA} reply is its line and data block;
    every other reply is one line. An C{ERROR}, C{CLIENT_ERROR} or
    C{SERVER_ERROR} line ends any reply.
    """

    _magic = REPLY_MAGIC

    def __init__(self, max_line: int = MAX_LINE,
                 max_value: int = MAX_VALUE) -> None:
        super().__init__(max_line, max_value)
        self._expected: deque[bytes] = deque()

    def expect(self, command: bytes) -> None:
        """Queue the command of the next request awaiting a reply.

        @param command: the request frame's C{command}.
        """
        self._expected.append(command)

    @property
    def awaited(self) -> deque[bytes]:
        """The commands of the requests whose replies are awaited, in
        order (a skimmer of the same stream shares them)."""
        return self._expected

    def _on_line(self, tokens: list[bytes], frames: list[Frame]) -> None:
        if not self._expected:
            raise FramingError("reply to no request")
        step = reply_line(self._expected[0], tokens, self._max_value)
        if step == ENDS:
            self._finish(frames)
        elif step != GOES_ON:
            self._block_end = self._line + step + 2

    def _on_block(self, frames: list[Frame]) -> None:
        if self._expected[0] not in RETRIEVAL:
            self._finish(frames)

    def _finish(self, frames: list[Frame]) -> None:
        """End the reply in progress: its request is answered."""
        self._expected.popleft()
        self._cut(frames, None)
