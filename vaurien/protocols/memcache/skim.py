"""Following memcached traffic without cutting frames (L{ISkimming}).

While a passthrough handler takes every call, L{MemcacheFraming
<vaurien.protocols.memcache.protocol.MemcacheFraming>} only follows the
traffic: L{RequestSkimmer} and L{ReplySkimmer} read each chunk once, line
by line with C{bytes.find}, skip data blocks by their announced length
without keeping them, and keep nothing but a partial line. Common lines
(C{get}, C{END}, one-line replies) are read inline; any other line is
read by the framers' own L{request_line}/L{reply_line}, so that following
and cutting agree.
"""
from __future__ import annotations

from collections import deque
from typing import Callable

from vaurien.protocols.framing import FramingError
from vaurien.protocols.memcache.framing import (
    ENDS, GOES_ON, LONG_REPLIES, MAX_LINE, MAX_VALUE, REPLY_MAGIC, REQUEST_MAGIC, RETRIEVAL,
    block_size, reply_line, request_line,
)

_CRLF = b"\r\n"
#: Request words read inline: one line, one reply.
_PLAIN_REQUESTS = {b"get": b"GET", b"gets": b"GETS"}


class _Skimmer:
    """Follows one direction of a connection: what is left of a line or
    of a data block between chunks.

    @ivar _carry: the start of a line whose end has not come yet.
    @ivar _skip: the bytes of a data block (with its C{\\r\\n}) still to
        come.
    @ivar _bad_block: whether the C{\\r\\n} ending the block being
        skipped came wrong (said once the block is whole, as cutting does).
    """

    def __init__(self, max_line: int = MAX_LINE, max_value: int = MAX_VALUE) -> None:
        self._max_line = max_line
        self._max_value = max_value
        self._carry = bytearray()
        self._skip = 0
        self._bad_block = False

    @property
    def resting(self) -> bool:
        """Whether nothing is left of a line or a data block."""
        return not (self._carry or self._skip)

    def _skip_block(self, data: bytes, pos: int, end: int) -> int:
        """Skip the data block that ends, with its C{\\r\\n}, at C{end}
        (which may lie past C{data}).

        @return: where reading goes on in C{data}: C{end}, or C{len(data)}
            with L{_skip} set to the bytes still to come.
        @raise FramingError: the block is whole and not followed by
            C{\\r\\n}.
        """
        size = len(data)
        tail = max(end - 2, pos)  # the block's \r\n, or what is left of it
        if tail < size and data[tail:end] != _CRLF[tail - end + 2:size - end + 2 or None]:
            self._bad_block = True
        if end > size:
            self._skip = end - size
            return size
        self._skip = 0
        if self._bad_block:
            raise FramingError("data block not followed by \\r\\n")
        return end

    def _join_line(self, data: bytes, pos: int) -> bytes | None:
        """Complete the carried line with C{data[pos:]}.

        @return: the carried bytes followed by C{data[pos:]}, to read
            from their start, when the line ends in C{data}; else C{None}
            (the line is carried further).
        @raise FramingError: the line is too long.
        """
        carry = self._carry
        if carry[-1] == 13 and data[pos:pos + 1] == b"\n":
            ends = True
        else:
            ends = data.find(_CRLF, pos, pos + self._max_line - len(carry) + 2) >= 0
        if not ends:
            self._carry_line(data, pos, len(carry))
            return None
        joined = bytes(carry) + data[pos:]
        carry.clear()
        return joined

    def _carry_line(self, data: bytes, pos: int, carried: int = 0) -> None:
        """Keep C{data[pos:]}, the start of a line, for the next chunk.

        @raise FramingError: the line is too long already.
        """
        if carried + len(data) - pos > self._max_line:
            raise FramingError("line too long")
        self._carry += data[pos:]


class RequestSkimmer(_Skimmer):
    """Follows the requests of a client, as L{MemcacheRequestFramer}
    cuts them.

    @ivar failure: why following stopped, when requests came whole before
        it in the same bytes: those are counted, and the next bytes either
        way raise it.
    """

    def __init__(self, max_line: int = MAX_LINE, max_value: int = MAX_VALUE) -> None:
        super().__init__(max_line, max_value)
        self._pending: tuple[bytes, bool, bool] = (b"", True, False)
        self._count = 0
        self.failure: FramingError | None = None

    @property
    def resting(self) -> bool:
        return self.failure is None and super().resting

    def skim(self, data: bytes, expect: Callable[[bytes], None]) -> int:
        """Follow the next bytes of requests.

        @param expect: called with the command of each request that gets
            a reply, in order.
        @return: how many requests C{data} completes.
        @raise FramingError: where the framer raises it, and after a
            request in quiet mode, which makes the connection a tunnel
            (at the next bytes when requests came whole before it).
        """
        if self.failure is not None:
            raise self.failure
        self._count = 0
        try:
            self._follow(data, expect)
        except FramingError as e:
            if not self._count:
                raise
            self.failure = e
        return self._count

    def _follow(self, data: bytes, expect: Callable[[bytes], None]) -> None:
        """Follow C{data}, counting whole requests in L{_count}."""
        pos = 0
        if self._skip:
            pos = self._skip_block(data, 0, self._skip)
            if self._skip:
                return
            self._skimmed(self._pending, expect)
        if self._carry:
            joined = self._join_line(data, pos)
            if joined is None:
                return
            data, pos = joined, 0
        find, size, max_line = data.find, len(data), self._max_line
        while pos < size:
            if data[pos] == REQUEST_MAGIC:
                raise FramingError("memcached binary protocol")
            eol = find(_CRLF, pos, pos + max_line + 2)
            if eol < 0:
                self._carry_line(data, pos)
                return
            tokens = data[pos:eol].split()
            pos = eol + 2
            command = _PLAIN_REQUESTS.get(tokens[0]) if tokens else None
            if command is not None:
                expect(command)
                self._count += 1
                continue
            request = request_line(tokens)
            if request[3] is not None:
                end = pos + block_size(request[3], self._max_value) + 2
                if end <= size and data[end - 2:end] == _CRLF:
                    pos = end
                else:
                    pos = self._skip_block(data, pos, end)
                    if self._skip:
                        self._pending = request[:3]
                        return
            self._skimmed(request[:3], expect)

    def _skimmed(self, request: tuple[bytes, bool, bool], expect: Callable[[bytes], None]) -> None:
        """Count a whole request, C{(command, expects_reply, quiet)}, and
        expect its reply.

        @raise FramingError: a request in quiet mode makes a tunnel.
        """
        command, expects, quiet = request
        self._count += 1
        if quiet:
            raise FramingError(f"{command!r} in quiet mode makes it a tunnel")
        if expects:
            expect(command)


class ReplySkimmer(_Skimmer):
    """Follows the replies of a server, as L{MemcacheReplyFramer} cuts
    them.

    @ivar _expected: the commands whose replies are awaited, oldest first
        (the reply framer's own).
    @ivar _within: whether a reply of several lines has begun.
    """

    def __init__(self, expected: deque[bytes], max_line: int = MAX_LINE,
                 max_value: int = MAX_VALUE) -> None:
        super().__init__(max_line, max_value)
        self._expected = expected
        self._within = False

    def skim(self, data: bytes) -> None:
        """Follow the next bytes of replies.

        @raise FramingError: where the framer raises it.
        """
        pos = 0
        if self._skip:
            pos = self._skip_block(data, 0, self._skip)
            if self._skip:
                return
            self._block_skimmed()
        if self._carry:
            joined = self._join_line(data, pos)
            if joined is None:
                return
            data, pos = joined, 0
        expected, find, size = self._expected, data.find, len(data)
        max_line = self._max_line
        while pos < size:
            if data[pos] == REPLY_MAGIC and not self._within:
                raise FramingError("memcached binary protocol")
            eol = find(_CRLF, pos, pos + max_line + 2)
            if eol < 0:
                self._carry_line(data, pos)
                return
            if not expected:
                raise FramingError("reply to no request")
            command, start, pos = expected[0], pos, eol + 2
            if command not in LONG_REPLIES:  # one line, whatever it says
                expected.popleft()
                continue
            if eol - start == 3 and command in RETRIEVAL and data.startswith(b"END", start):
                step = ENDS
            else:
                step = reply_line(command, data[start:eol].split(), self._max_value)
            if step == ENDS:
                expected.popleft()
                self._within = False
                continue
            self._within = True
            if step != GOES_ON:
                end = pos + step + 2
                if end <= size and data[end - 2:end] == _CRLF:
                    pos = end
                else:
                    pos = self._skip_block(data, pos, end)
                    if self._skip:
                        return
                self._block_skimmed()

    def _block_skimmed(self) -> None:
        """A data block is whole: it ends a C{VA} reply, not a retrieval."""
        if self._expected[0] not in RETRIEVAL:
            self._expected.popleft()
            self._within = False
