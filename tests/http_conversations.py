"""HTTP conversations for the differential test: requests a client sends
and what a server answers, byte for byte.

Servers here follow HTTP where it decides the end of a connection (a
request or a response saying C{Connection: close}, HTTP/1.0 without
keep-alive, a body ended by the close), and behave in every other way a
real one may: lengths, chunks with extensions and trailers, C{1xx} before
the answer, C{HEAD}, C{204}/C{304}, pipelining, C{Expect: 100-continue},
upgrades, C{CONNECT}, versions that are not HTTP/1.x, garbage, a server
that speaks first, and servers that close, half-close or reset early.
"""
from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.conversations import CRLF, Item, after_the_end, bodies, cuts, exchange, printable
from tests.peer_scripts import Exchange

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
INFORMATIONAL = (
    b"HTTP/1.1 100 Continue\r\n\r\n",
    b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
)
METHODS = ("GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH")
#: Requests a server may still answer, and a proxy had better not frame.
ODD_REQUESTS = (
    b"GET /a HTTP/1.1\nHost: example.test\n\n",
    b"GET /a HTTP/1.1\r\nHost: example.test\r\nX-Folded: a\r\n b\r\n\r\n",
    b"GET /a HTTP/1.1\r\n\r\n",
    b"GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"0\r\n\r\n",
    b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    b"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    b"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
)
#: Answers a client may still read, and a proxy had better not frame.
ODD_ANSWERS = (
    b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    b"HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"2\r\nok\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
)
#: What a conversation may do next, while it is HTTP.
MOVES = ("exchange", "upgrade", "connect", "expect", "early_answer", "odd_request",
         "odd_answer", "other_version", "garbage", "server_first")


def _headers(draw: Any) -> list[bytes]:
    names = draw(st.lists(printable(8), max_size=2))
    return [b"X-" + name + b": " + draw(printable(16)) for name in names]


def _chunked(draw: Any, body: bytes) -> bytes:
    """C{body} as a chunked body: cut anywhere, sizes in either case,
    maybe an extension, maybe trailers."""
    points = sorted(set(draw(st.lists(st.integers(1, max(1, len(body))), max_size=3))))
    pieces, start = [], 0
    for point in (*points, len(body)):
        if point > start:
            pieces.append(body[start:point])
            start = point
    out = b""
    for piece in pieces:
        size = b"%x" % len(piece)
        if draw(st.booleans()):
            size = size.upper()
        if draw(st.booleans()):
            size += b";ext=" + draw(printable(4))
        out += size + CRLF + piece + CRLF
    trailers = b"".join(header + CRLF for header in _headers(draw))
    return out + b"0\r\n" + trailers + CRLF


def _request(draw: Any, version: bytes) -> tuple[bytes, bytes, bool]:
    """A request: its bytes, its method, and whether it asks the server
    to close after answering."""
    method = draw(st.sampled_from(METHODS)).encode()
    target = b"/" + draw(printable(10, 0))
    if draw(st.booleans()):
        target += b"?q=" + draw(printable(6))
    head = [method + b" " + target + b" HTTP/" + version]
    if version == b"1.1" or draw(st.booleans()):
        head.append(b"Host: example.test")
    head += _headers(draw)
    closes = draw(st.booleans()) if version == b"1.1" else not draw(st.booleans())
    if version == b"1.1" and closes:
        head.append(b"Connection: close")
    elif version == b"1.0" and not closes:
        head.append(b"Connection: keep-alive")
    body = b""
    if method in (b"POST", b"PUT", b"PATCH") or draw(st.booleans()):
        content = draw(bodies())
        if version == b"1.1" and draw(st.booleans()):
            head.append(b"Transfer-Encoding: chunked")
            body = _chunked(draw, content)
        elif content or draw(st.booleans()):
            head.append(b"Content-Length: %d" % len(content))
            body = content
    return CRLF.join(head) + CRLF + CRLF + body, method, closes


def _response(draw: Any, method: bytes, version: bytes, closes: bool) -> tuple[bytes, bool]:
    """The answer to a request: its bytes, and whether the server closes
    the connection after it (as HTTP says it must)."""
    informational = b"" if version == b"1.0" else b"".join(
        draw(st.lists(st.sampled_from(INFORMATIONAL), max_size=2)))
    shape = draw(st.sampled_from(["length", "chunked", "no_body", "until_close"]))
    if version == b"1.0" and shape == "chunked":
        shape = "length"
    status = b"HTTP/1.1" if version == b"1.1" else draw(st.sampled_from([b"HTTP/1.0", b"HTTP/1.1"]))
    code = draw(st.sampled_from([b"200 OK", b"201 Created", b"404 Not Found",
                                 b"500 Internal Server Error", b"200 "]))
    closes = closes or shape == "until_close" or draw(st.booleans())
    if shape == "no_body":
        code = draw(st.sampled_from([b"204 No Content", b"304 Not Modified"]))
    head = [status + b" " + code] + _headers(draw)
    if closes:
        head.append(b"Connection: close")
    elif version == b"1.0":
        head.append(b"Connection: keep-alive")
    content = draw(bodies()) if shape != "no_body" else b""
    if shape == "length" or (shape == "until_close" and method == b"HEAD"):
        head.append(b"Content-Length: %d" % len(content))
    elif shape == "chunked":
        head.append(b"Transfer-Encoding: chunked")
        content = _chunked(draw, content)
    if method == b"HEAD":
        content = b""
    return informational + CRLF.join(head) + CRLF + CRLF + content, closes


def _raw(draw: Any) -> Item:
    """A raw exchange, once the connection is no longer HTTP."""
    request = draw(st.binary(min_size=1, max_size=48))
    return Item(exchange(draw, request, draw(st.binary(max_size=48))))


def _http_requests() -> st.SearchStrategy[bytes]:
    return st.composite(lambda draw: _request(draw, b"1.1")[0])()


def _move(draw: Any, move: str) -> tuple[list[Item], bool]:
    """The items of one move, and whether the connection stays HTTP."""
    if move == "exchange":
        version = draw(st.sampled_from([b"1.1", b"1.0"]))
        request, method, closes = _request(draw, version)
        reply, ends = _response(draw, method, version, closes)
        return [Item(exchange(draw, request, reply, must_end=ends))], True
    if move == "upgrade":
        request = (b"GET /chat HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\n"
                   b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n")
        reply = (b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                 b"Upgrade: websocket\r\n\r\n" + draw(st.binary(max_size=16)))
        return [Item(exchange(draw, request, reply))], False
    if move == "connect":
        request = b"CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n"
        reply = b"HTTP/1.1 200 Connection established\r\n\r\n"
        return [Item(exchange(draw, request, reply))], False
    if move == "expect":
        content = draw(st.binary(min_size=1, max_size=40))
        head = (b"POST /upload HTTP/1.1\r\nHost: example.test\r\nExpect: 100-continue\r\n"
                b"Content-Length: %d\r\n\r\n" % len(content))
        reply, ends = _response(draw, b"POST", b"1.1", False)
        return [Item(Exchange(head, INFORMATIONAL[0]), "break"),
                Item(exchange(draw, content, reply, must_end=ends))], True
    if move == "early_answer":
        # the server answers (and closes) before the body has come
        content = draw(st.binary(min_size=1, max_size=40))
        head = (b"POST /upload HTTP/1.1\r\nHost: example.test\r\n"
                b"Content-Length: %d\r\n\r\n" % len(content))
        answer = b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        end = draw(st.sampled_from(["close", "half_close"]))
        return [Item(Exchange(head, answer, end=end)), Item(Exchange(content, b""), "join")], True
    if move in ("odd_request", "odd_answer"):
        # h11 takes some of these (bare LF, folded lines), so the proxy may
        # go on framing: what follows is HTTP, which passes either way
        if move == "odd_request":
            request, reply = draw(st.sampled_from(ODD_REQUESTS)), OK
        else:
            request, reply = _request(draw, b"1.1")[0], draw(st.sampled_from(ODD_ANSWERS))
        return [Item(exchange(draw, request, reply))], True
    if move == "other_version":
        line = draw(st.sampled_from([b"GET / HTTP/2.0", b"GET / HTTP/1.2", b"GET / HTTP/3",
                                     b"PRI * HTTP/2.0\r\n\r\nSM"]))
        reply = draw(st.sampled_from([
            b"HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Length: 0\r\n\r\n",
            b"\x00\x00\x00\x04\x00\x00\x00\x00\x00",
        ]))
        return [Item(exchange(draw, line + b"\r\nHost: example.test\r\n\r\n", reply))], False
    if move == "garbage":
        request = draw(st.binary(min_size=1, max_size=32)) + CRLF
        return [Item(exchange(draw, request, draw(st.binary(max_size=32))))], False
    # server_first: the server speaks before any request (and does not
    # reset: that would race the client's connect and first write)
    greeting = draw(st.binary(min_size=1, max_size=32))
    end = draw(st.sampled_from([None, "close", "half_close"]))
    return [Item(Exchange(b"", greeting, cuts(draw, len(greeting)), end))], False


@st.composite
def http_conversations(draw: Any) -> list[Item]:
    """Up to six moves; once the server has ended the connection, only
    what a client still sends (pipelined, or after a half-close)."""
    items: list[Item] = []
    http = True
    for _ in range(draw(st.integers(1, 6))):
        if http:
            moves = MOVES if not items else MOVES[:-1]
            new, http = _move(draw, draw(st.sampled_from(moves)))
        else:
            new = [_raw(draw)]
        items += new
        end = next((item.exchange.end for item in new if item.exchange.end), None)
        if end is not None:
            requests = _http_requests() if http else st.binary(min_size=1, max_size=32)
            return items + after_the_end(draw, requests, end)
    return items
