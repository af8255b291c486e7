"""Reading whole, plain RESP frames in one pass: the framers' fast paths
for the common request and reply, and the skimmers built on them, which
follow a stream without cutting it (in C when the optional build made
C{vaurien.protocols.redis._skim}, with the same answers).
"""
from __future__ import annotations

from vaurien.extensions import accelerator

#: Requests after which a connection is no longer framed.
TUNNEL = frozenset({b"SUBSCRIBE", b"PSUBSCRIBE", b"SSUBSCRIBE", b"MONITOR"})
_PLAIN = frozenset(b"+-:")  # replies a plain line carries whole


def _digits_at(buf: bytes | bytearray, start: int, eol: int) -> int | None:
    """The number written in C{buf[start:eol]}, if only digits (at most 19)."""
    digits = buf[start:eol]
    if 0 < len(digits) < 20 and digits.isdigit():
        return int(digits)
    return None


def whole_command(buf: bytes | bytearray, pos: int, max_elements: int, max_bulk: int):
    """The fast way through the common request: a whole array of bulk
    strings at C{pos}, read in one pass.

    @return: C{(end, command)}, or C{None} when the array is not whole yet
        or not that simple (the general parser then takes it, and says
        what is wrong if anything is).
    """
    eol = buf.find(b"\r\n", pos, pos + 22)
    count = _digits_at(buf, pos + 1, eol) if eol > 0 else None
    if not count or count > max_elements:
        return None
    at, size, command = eol + 2, len(buf), None
    for _ in range(count):
        if at >= size or buf[at] != 36:  # "$"
            return None
        payload = _whole_bulk(buf, at, max_bulk)
        if payload is None:
            return None
        if command is None:
            command = bytes(buf[payload[0] : payload[1]]).upper()
        at = payload[1] + 2
    return at, command


def _whole_bulk(buf: bytes | bytearray, at: int, max_bulk: int) -> tuple[int, int] | None:
    """Where the payload of the whole bulk string C{$N...} at C{at} starts
    and ends (before its CRLF), or C{None} when it is not whole or not
    plain."""
    eol = buf.find(b"\r\n", at, at + 23)
    length = _digits_at(buf, at + 1, eol) if eol > 0 else None
    end = eol + 2 + (length or 0)
    if length is None or length > max_bulk or buf[end : end + 2] != b"\r\n":
        return None
    return eol + 2, end


def whole_plain_reply(buf: bytes | bytearray, pos: int, max_bulk: int, max_line: int) -> int | None:
    """The fast way through the common reply: a whole status, error,
    integer or bulk string at C{pos}.

    @return: where it ends, or C{None} when it is not whole yet or not one
        of those (the general parser then takes it).
    """
    if pos >= len(buf):
        return None
    kind = buf[pos]
    if kind == 36:  # "$"
        if buf[pos + 1 : pos + 5] == b"-1\r\n":  # null
            return pos + 5
        payload = _whole_bulk(buf, pos, max_bulk)
        return None if payload is None else payload[1] + 2
    if kind in _PLAIN:
        eol = buf.find(b"\r\n", pos + 1, pos + max_line + 3)
        return eol + 2 if eol > 0 else None
    return None


#: First words of requests the skimmers leave to the general parser:
#: they change how the stream is framed, or set the connection up (no
#: fault is drawn for them, so a chunk with one is not a run of draws).
WATCHED = frozenset({b"CLIENT", b"HELLO", b"AUTH", b"SELECT"}) | TUNNEL


def py_skim_commands(
    data: bytes, max_elements: int, max_bulk: int, max_inline: int
) -> tuple[int, int]:
    """Follow the whole, plain requests (arrays of bulk strings, inline
    commands) at the start of C{data} without cutting them out.

    @return: C{(end, count)}: where the last of them ends, and how many
        there are. It stops before anything else (a partial request, a
        blank line, a malformed request, a watched command) for the
        general parser to take.
    """
    pos = count = 0
    while pos < len(data):
        if data[pos] == 42:  # "*"
            whole = whole_command(data, pos, max_elements, max_bulk)
            if whole is None or whole[1] in WATCHED:
                break
            pos = whole[0]
        else:  # an inline command
            eol = data.find(b"\n", pos)
            words = data[pos:eol].split(None, 1)
            if eol < 0 or eol - pos > max_inline or not words or words[0].upper() in WATCHED:
                break
            pos = eol + 1
        count += 1
    return pos, count


def py_skim_plain_replies(data: bytes, max_bulk: int, max_line: int) -> tuple[int, int]:
    """Follow the whole status, error, integer and bulk string replies at
    the start of C{data} without cutting them out.

    @return: C{(end, count)}, as L{py_skim_commands}.
    """
    pos = count = 0
    while (end := whole_plain_reply(data, pos, max_bulk, max_line)) is not None:
        pos, count = end, count + 1
    return pos, count


class PyTally:
    """What a skimming Redis connection keeps between chunks, when the C
    build (C{vaurien.protocols.redis._skim.Tally}) is missing.

    @ivar expected: the replies owed.
    @ivar plain_requests: whether the next requests may be followed in
        one step (nothing held, no failure, no C{CLIENT REPLY} mode).
    @ivar plain_replies: the same for the next replies.
    """

    __slots__ = ("expected", "plain_requests", "plain_replies")

    def __init__(self) -> None:
        self.expected = 0
        self.plain_requests = self.plain_replies = False


_c = accelerator("vaurien.protocols.redis._skim")  # the same in C, when built
if _c is None:
    skim_commands, skim_plain_replies = py_skim_commands, py_skim_plain_replies
    Follower, Tally = None, PyTally
else:
    skim_commands, skim_plain_replies = _c.skim_commands, _c.skim_plain_replies
    Follower, Tally = _c.Follower, _c.Tally
