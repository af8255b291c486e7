"""Memcache conversations for the differential test: the text protocol
(retrievals over several keys, storage with C{noreply}, C{cas}, counters,
C{delete}, C{touch}, C{stats}, C{version}, errors), the meta commands
(C{mg}, C{ms}, C{md}, C{ma}, C{mn}, C{me}, quiet mode), the binary
protocol, C{quit}, and servers that close, half-close or reset early."""
from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.conversations import CRLF, Item, after_the_end, bodies, exchange, printable

STORAGE = (b"set", b"add", b"replace", b"append", b"prepend")
RETRIEVAL = (b"get", b"gets", b"gat", b"gats")
ERRORS = (b"ERROR\r\n", b"CLIENT_ERROR bad command line format\r\n",
          b"SERVER_ERROR out of memory storing object\r\n")
#: The meta flags that take a token, and one.
_TOKENS = {"N": b"30", "O": b"123", "T": b"60", "F": b"5", "J": b"0", "D": b"2", "C": b"99",
           "M": b"I"}
#: What a conversation may do next, while it is framed.
MOVES = ("retrieval", "storage", "counter", "delete", "touch", "stats", "version", "flush",
         "verbosity",
         "meta_get", "meta_set", "meta_delete", "meta_arithmetic", "meta_noop",
         "meta_debug", "quiet", "binary", "quit")


def _keys(draw: Any) -> list[bytes]:
    return draw(st.lists(printable(10), min_size=1, max_size=4))


def _noreply(draw: Any, line: bytes) -> tuple[bytes, bool]:
    if draw(st.booleans()):
        return line, False
    return line + b" noreply", True


def _flags(draw: Any, allowed: str) -> bytes:
    flags = draw(st.lists(st.sampled_from(allowed), max_size=3, unique=True))
    return b"".join(b" " + flag.encode() + _TOKENS.get(flag, b"") for flag in flags)


def _value_block(draw: Any, head: bytes) -> bytes:
    data = draw(bodies())
    return head % len(data) + CRLF + data + CRLF


def _retrieval(draw: Any) -> tuple[bytes, bytes]:
    command = draw(st.sampled_from(RETRIEVAL))
    keys = _keys(draw)
    line = command + (b" 300" if command.startswith(b"gat") else b"") + b" " + b" ".join(keys)
    reply = b""
    for key in keys:
        if draw(st.booleans()):
            cas = b" %d" % draw(st.integers(0, 2 ** 64 - 1)) if command.endswith(b"s") else b""
            head = b"VALUE " + key + b" %d" % draw(st.integers(0, 2 ** 32 - 1)) + b" %d" + cas
            reply += _value_block(draw, head)
    return line + CRLF, reply + b"END\r\n"


def _storage(draw: Any) -> tuple[bytes, bytes]:
    command = draw(st.sampled_from(STORAGE + (b"cas",)))
    data = draw(bodies())
    flags = draw(st.integers(0, 99))
    line = command + b" " + draw(printable(10)) + b" %d 0 %d" % (flags, len(data))
    if command == b"cas":
        line += b" %d" % draw(st.integers(0, 2 ** 64 - 1))
    line, quiet = _noreply(draw, line)
    reply = draw(st.sampled_from([b"STORED\r\n", b"NOT_STORED\r\n", b"EXISTS\r\n",
                                  b"NOT_FOUND\r\n", *ERRORS]))
    return line + CRLF + data + CRLF, b"" if quiet else reply


def _simple(draw: Any, line: bytes, replies: list[bytes]) -> tuple[bytes, bytes]:
    """A one-line command (maybe C{noreply}) and its one-line reply."""
    line, quiet = _noreply(draw, line)
    return line + CRLF, b"" if quiet else draw(st.sampled_from(replies + list(ERRORS)))


def _meta(draw: Any, move: str) -> tuple[bytes, bytes]:
    key = draw(printable(10))
    if move == "meta_get":
        flags = _flags(draw, "vftskcONT")
        found = b" v" in flags + b" " and draw(st.booleans())
        reply = (_value_block(draw, b"VA %d" + flags.replace(b" v", b"")) if found
                 else draw(st.sampled_from([b"HD" + flags.replace(b" v", b"") + CRLF, b"EN\r\n"])))
        return b"mg " + key + flags + CRLF, reply
    if move == "meta_set":
        data = draw(bodies())
        line = b"ms " + key + b" %d" % len(data) + _flags(draw, "cTFIOk")
        return line + CRLF + data + CRLF, draw(st.sampled_from(
            [b"HD\r\n", b"NS\r\n", b"EX\r\n", b"NF\r\n"]))
    if move == "meta_delete":
        return b"md " + key + _flags(draw, "CITkO") + CRLF, draw(st.sampled_from(
            [b"HD\r\n", b"NF\r\n", b"EX\r\n"]))
    if move == "meta_arithmetic":
        reply = draw(st.sampled_from([b"HD\r\n", b"NF\r\n", b"NS\r\n", b"VA 2\r\n10\r\n"]))
        return b"ma " + key + _flags(draw, "NJDTMv") + CRLF, reply
    if move == "meta_debug":
        return b"me " + key + CRLF, draw(st.sampled_from([
            b"ME " + key + b" exp=-1 la=3 cas=2 fetch=no cls=1 size=63\r\n", b"EN\r\n"]))
    return b"mn\r\n", b"MN\r\n"


def _move(draw: Any, move: str) -> tuple[list[Item], bool]:
    """The items of one move, and whether the connection stays framed."""
    if move == "retrieval":
        request, reply = _retrieval(draw)
    elif move == "storage":
        request, reply = _storage(draw)
    elif move == "counter":
        line = draw(st.sampled_from([b"incr ", b"decr "])) + draw(printable(10)) + b" 5"
        request, reply = _simple(draw, line, [b"15\r\n", b"NOT_FOUND\r\n"])
    elif move == "delete":
        request, reply = _simple(draw, b"delete " + draw(printable(10)),
                                 [b"DELETED\r\n", b"NOT_FOUND\r\n"])
    elif move == "touch":
        request, reply = _simple(draw, b"touch " + draw(printable(10)) + b" 60",
                                 [b"TOUCHED\r\n", b"NOT_FOUND\r\n"])
    elif move == "stats":
        request = b"stats" + draw(st.sampled_from([b"", b" items", b" slabs"])) + CRLF
        names = draw(st.lists(printable(12), max_size=4))
        reply = b"".join(b"STAT " + name + b" 42\r\n" for name in names) + b"END\r\n"
    elif move == "flush":
        request, reply = _simple(draw, b"flush_all", [b"OK\r\n"])
    elif move == "verbosity":
        request, reply = _simple(draw, b"verbosity 1", [b"OK\r\n"])
    elif move == "version":
        request, reply = b"version\r\n", b"VERSION 1.6.21\r\n"
    elif move == "quiet":
        # the q flag: nothing on a miss, so the proxy can no longer pair
        # replies; the following mn is answered
        request = b"mg " + draw(printable(10)) + b" v q\r\nmn\r\n"
        reply = draw(st.sampled_from([b"", b"VA 1 \r\nx\r\n"])) + b"MN\r\n"
        return [Item(exchange(draw, request, reply))], False
    elif move == "binary":
        request = b"\x80" + draw(st.binary(min_size=23, max_size=40))
        return [Item(exchange(draw, request, b"\x81" + draw(st.binary(max_size=30))))], False
    elif move == "quit":
        return [Item(exchange(draw, b"quit\r\n", b"", must_end=True))], True
    else:
        request, reply = _meta(draw, move)
    return [Item(exchange(draw, request, reply))], True


@st.composite
def _commands(draw: Any) -> bytes:
    return _retrieval(draw)[0]


@st.composite
def memcache_conversations(draw: Any) -> list[Item]:
    """Up to six moves; raw bytes once the connection is no longer
    framed (the binary protocol), memcache after quiet mode."""
    items: list[Item] = []
    raw = False
    for _ in range(draw(st.integers(1, 6))):
        if raw:
            new = [Item(exchange(draw, draw(st.binary(min_size=1, max_size=32)),
                                 draw(st.binary(max_size=32))))]
        else:
            move = draw(st.sampled_from(MOVES))
            new, _ = _move(draw, move)
            raw = move == "binary"
        items += new
        end = new[-1].exchange.end
        if end is not None:
            return items + after_the_end(draw, _commands(), end)
    return items
