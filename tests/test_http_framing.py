"""Tests for L{vaurien.protocols.http} and L{vaurien.protocols.http.framing}."""
from __future__ import annotations

import h11
from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from vaurien.interfaces import IFraming, IProtocol
from vaurien.protocols.framing import Frame, FramingError
from vaurien.protocols.http.framing import HttpFraming
from vaurien.protocols.http.protocol import HTTP, RANDOM_ERROR_CODES

bodies = st.binary(max_size=30)
tokens = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1,
                 max_size=8).map(str.encode)
endings = st.sampled_from([b"\r\n", b"\n"])


def _head(first: bytes, headers: list[bytes], eol: bytes = b"\r\n") -> bytes:
    return b"".join(line + eol for line in [first, *headers]) + eol


def _chunked(draw, body: bytes) -> bytes:
    """C{body} in chunks, then a last chunk with trailers."""
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=3)))
    parts = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)]) if b > a]
    data = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts)
    trailers = draw(st.lists(tokens, max_size=2))
    return data + b"0\r\n" + b"".join(b"x-" + t + b": " + t + b"\r\n" for t in trailers) + b"\r\n"


@st.composite
def requests(draw):
    """A valid request: C{(bytes, method, version)}."""
    method = draw(st.sampled_from([b"GET", b"HEAD", b"POST", b"POST-chunked"]))
    version = draw(st.sampled_from([b"1.0", b"1.1"]))
    if method == b"POST-chunked":
        method, version = b"POST", b"1.1"
    target = b"/" + draw(tokens)
    headers = [b"Host: " + draw(tokens)] if version == b"1.1" else []
    if version == b"1.0" and draw(st.booleans()):
        headers.append(b"Connection: keep-alive")
    headers.append(b"X-" + draw(tokens) + b": " + draw(tokens))
    body = b""
    if method == b"POST" and version == b"1.1" and draw(st.booleans()):
        headers.append(b"Transfer-Encoding: chunked")
        body = _chunked(draw, draw(bodies))
    elif method == b"POST":
        body = draw(bodies)
        headers.append(b"Content-Length: %d" % len(body))
    first = b"%s %s HTTP/%s" % (method, target, version)
    return _head(first, headers, draw(endings)) + body, method


@st.composite
def responses(draw, method: bytes, last: bool):
    """A valid response to a C{method} request; close-delimited only when
    C{last}."""
    kinds = ["length", "chunked", "204", "304"] + (["close"] if last else [])
    kind = draw(st.sampled_from(kinds))
    prefix = b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" if draw(st.booleans()) else b""
    body = draw(bodies)
    if kind in ("204", "304"):
        return prefix + _head(b"HTTP/1.1 %s Nothing" % kind.encode(), [b"X: y"])
    if kind == "close":
        head = _head(draw(st.sampled_from([b"HTTP/1.0 200 OK", b"HTTP/1.1 200 OK"])),
                     [b"Content-Type: text/plain"])
        return prefix + head + (b"" if method == b"HEAD" else body)
    if kind == "chunked":
        head = _head(b"HTTP/1.1 200 OK", [b"Transfer-Encoding: chunked"])
        return prefix + head + (b"" if method == b"HEAD" else _chunked(draw, body))
    head = _head(b"HTTP/1.1 200 OK", [b"Content-Length: %d" % len(body)])
    return prefix + head + (b"" if method == b"HEAD" else body)


@st.composite
def conversations(draw):
    """Requests and their responses: C{([request bytes], [response bytes])}."""
    reqs = draw(st.lists(requests(), min_size=1, max_size=5))
    reps = [draw(responses(method, i == len(reqs) - 1)) for i, (_, method) in enumerate(reqs)]
    return [data for data, _ in reqs], reps


def _pieces(draw, data: bytes) -> list[bytes]:
    """C{data} cut at drawn places."""
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]


def _run(data, reqs: list[bytes], reps: list[bytes]) -> tuple[list[Frame], list[Frame], int]:
    """Feed a conversation in its real order, cut into drawn pieces.

    @return: the request frames, the reply frames and the bytes held.
    """
    framing = HTTP().framing()
    got_requests: list[Frame] = []
    got_replies: list[Frame] = []
    for piece in _pieces(data.draw, b"".join(reqs)):
        for request in framing.feed_requests(piece):
            got_requests.append(request)
            framing.expect_reply(request)
            for reply_piece in _pieces(data.draw, reps[len(got_requests) - 1]):
                got_replies += framing.feed_replies(reply_piece)
    got_replies += framing.replies_ended()
    return got_requests, got_replies, framing.pending


class HttpFramingTests(SynchronousTestCase):
    """Framing streams of requests and responses."""

    def _framing(self, **options) -> HttpFraming:
        return HTTP(options).framing()

    def test_provides(self) -> None:
        """The protocol and its framing provide their interfaces."""
        protocol = HTTP()
        verifyObject(IProtocol, protocol)
        verifyObject(IFraming, protocol.framing())

    @settings(max_examples=300, deadline=None)
    @given(conversations(), st.data())
    def test_anyCutFramesIdentically(self, conversation, data) -> None:
        """Any cut of a valid conversation gives one frame per message,
        exactly its bytes."""
        reqs, reps = conversation
        got_requests, got_replies, pending = _run(data, reqs, reps)
        self.assertEqual([f.data for f in got_requests], reqs)
        self.assertEqual([f.data for f in got_replies], reps)
        self.assertEqual(pending, 0)

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=200), st.binary(max_size=200))
    def test_randomBytesOnlyFramingError(self, client: bytes, backend: bytes) -> None:
        """Random bytes give frames or L{FramingError}, nothing else."""
        framing = self._framing()
        try:
            for request in framing.feed_requests(client):
                framing.expect_reply(request)
        except FramingError:
            pass
        framing = self._framing()
        framing.expect_reply(framing.feed_requests(b"GET / HTTP/1.0\r\n\r\n")[0])
        try:
            framing.feed_replies(backend)
            framing.replies_ended()
        except FramingError:
            pass

    def test_requestFields(self) -> None:
        """A request frame carries its method and target."""
        frame, = self._framing().feed_requests(b"delete /a?b HTTP/1.0\r\n\r\n")
        self.assertEqual((frame.command, frame.target, frame.expects_reply, frame.tunnel),
                         (b"DELETE", b"/a?b", True, False))

    def test_pipelinedRequestsFramedAtOnce(self) -> None:
        """Pipelined requests are framed before any response."""
        request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        framing = self._framing()
        self.assertEqual(len(framing.feed_requests(request * 3)), 3)
        self.assertEqual(framing.pending, 0)

    def test_garbageRequestLine(self) -> None:
        """A request line of garbage raises L{FramingError}; every byte fed
        since the last frames is given back."""
        framing = self._framing()
        good = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        self.assertRaises(FramingError, framing.feed_requests, good + b"\x00\x01garbage\r\n\r\n")
        self.assertEqual(framing.unframed(), (good + b"\x00\x01garbage\r\n\r\n", b""))

    def test_oversizedHeader(self) -> None:
        """A header block over C{max_header_size} raises L{FramingError},
        whether it comes at once or a piece at a time."""
        request = b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"y" * 200 + b"\r\n\r\n"
        self.assertRaises(FramingError, self._framing(max_header_size=100).feed_requests, request)
        framing = self._framing(max_header_size=100)
        with self.assertRaises(FramingError):
            for i in range(len(request)):
                framing.feed_requests(request[i:i + 1])

    def test_oversizedResponseHeader(self) -> None:
        """A response header block over C{max_header_size} raises."""
        framing = self._framing(max_header_size=100)
        framing.expect_reply(framing.feed_requests(b"GET / HTTP/1.0\r\n\r\n")[0])
        reply = b"HTTP/1.1 200 OK\r\nX: " + b"y" * 200 + b"\r\nContent-Length: 0\r\n\r\n"
        self.assertRaises(FramingError, framing.feed_replies, reply)

    def test_oversizedBody(self) -> None:
        """A body over C{max_body_size} raises L{FramingError}."""
        framing = self._framing(max_header_size=100, max_body_size=10)
        request = b"POST / HTTP/1.0\r\nContent-Length: 300\r\n\r\n" + b"x" * 200
        self.assertRaises(FramingError, framing.feed_requests, request)

    def test_tunnels(self) -> None:
        """CONNECT, Upgrade and Expect: 100-continue are tunnel frames cut
        at the end of their headers; what follows is held, unframed."""
        for head in [b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
                     b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
                     b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"]:
            framing = self._framing()
            frame, = framing.feed_requests(head + b"abc")
            self.assertEqual((frame.data, frame.tunnel), (head, True))
            self.assertEqual(framing.feed_requests(b"GET / HTTP/1.1\r\n\r\n"), [])
            framing.expect_reply(frame)
            self.assertEqual(framing.feed_replies(b"HTTP/1.1 101 Switching\r\n\r\n\x81"), [])
            self.assertEqual(framing.unframed(), (b"abcGET / HTTP/1.1\r\n\r\n",
                                                  b"HTTP/1.1 101 Switching\r\n\r\n\x81"))

    def test_replyToNoRequest(self) -> None:
        """Bytes from the backend before any request raise."""
        self.assertRaises(FramingError, self._framing().feed_replies, b"HTTP/1.1 408 X\r\n\r\n")

    def test_truncatedReply(self) -> None:
        """The backend closing inside a response raises."""
        framing = self._framing()
        framing.expect_reply(framing.feed_requests(b"GET / HTTP/1.0\r\n\r\n")[0])
        self.assertEqual(framing.feed_replies(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab"), [])
        self.assertRaises(FramingError, framing.replies_ended)

    def test_closeWithNothingOwed(self) -> None:
        """The backend closing between responses completes nothing."""
        framing = self._framing()
        framing.expect_reply(framing.feed_requests(b"GET / HTTP/1.0\r\n\r\n")[0])
        self.assertEqual(framing.replies_ended(), [])


class RewriteHostTests(SynchronousTestCase):
    """C{overwrite_host_header} rewrites the Host header, byte-exact
    otherwise."""

    def _rewrite(self, request: bytes, **options) -> bytes:
        framing = HTTP(options).framing()
        frame, = framing.feed_requests(request)
        return framing.rewrite_request(frame)

    def test_replaced(self) -> None:
        """The Host value is replaced in place; nothing else changes."""
        request = (b"POST /x HTTP/1.1\r\nA: 1\r\nhost:  old.example\r\nB: 2\r\n"
                   b"Content-Length: 5\r\n\r\nHost:")
        self.assertEqual(
            self._rewrite(request, overwrite_host_header=True, host="back:8080"),
            b"POST /x HTTP/1.1\r\nA: 1\r\nhost: back:8080\r\nB: 2\r\n"
            b"Content-Length: 5\r\n\r\nHost:")

    def test_addedWhenMissing(self) -> None:
        """A request without Host gets one after its request line, with
        the request's own line endings."""
        self.assertEqual(
            self._rewrite(b"GET / HTTP/1.0\nA: 1\n\n", overwrite_host_header=True, host="b"),
            b"GET / HTTP/1.0\nHost: b\nA: 1\n\n")

    def test_untouchedByDefault(self) -> None:
        """Without the option, or without a host, requests pass as they came."""
        request = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        self.assertEqual(self._rewrite(request, host="b"), request)
        self.assertEqual(self._rewrite(request, overwrite_host_header=True), request)


def _parse_response(request_method: bytes, response: bytes) -> tuple[h11.Response, bytes]:
    """Read C{response} with h11 as the answer to a C{request_method}."""
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method=request_method, target=b"/", headers=[(b"host", b"a")]))
    conn.send(h11.EndOfMessage())
    conn.receive_data(response)
    head = conn.next_event()
    body = b""
    while True:
        event = conn.next_event()
        if isinstance(event, h11.EndOfMessage):
            return head, body
        body += event.data


class ErrorResponseTests(SynchronousTestCase):
    """Injected errors are well-formed HTTP responses."""

    def test_randomCode(self) -> None:
        """With C{error_code} 0, the code is one of 500-503, and the
        response parses with its body."""
        protocol = HTTP()
        codes = set()
        for _ in range(50):
            head, body = _parse_response(b"GET", protocol.error_response(b"GET / HTTP/1.1\r\n"))
            codes.add(head.status_code)
            self.assertIn(str(head.status_code).encode(), body)
            self.assertEqual(dict(head.headers)[b"content-type"], b"text/html; charset=utf-8")
        self.assertTrue(codes <= set(RANDOM_ERROR_CODES))
        self.assertGreater(len(codes), 1)

    def test_fixedCode(self) -> None:
        """A fixed C{error_code} is used; C{error_close} adds Connection: close."""
        head, _ = _parse_response(b"GET", HTTP({"error_code": 504}).error_response(None))
        self.assertEqual(head.status_code, 504)
        self.assertNotIn(b"connection", dict(head.headers))
        head, _ = _parse_response(b"GET", HTTP({"error_code": "502", "error_close": "true"})
                                  .error_response(b"GET / HTTP/1.1\r\n"))
        self.assertEqual((head.status_code, dict(head.headers)[b"connection"]), (502, b"close"))

    def test_head(self) -> None:
        """A HEAD request gets no body, with the Content-Length of the
        body a GET gets."""
        protocol = HTTP({"error_code": 500})
        head, body = _parse_response(b"HEAD", protocol.error_response(b"HEAD / HTTP/1.1\r\n"))
        get_head, get_body = _parse_response(b"GET", protocol.error_response(b"GET / HTTP/1.1\r\n"))
        self.assertEqual(body, b"")
        self.assertEqual(dict(head.headers)[b"content-length"], str(len(get_body)).encode())

    def test_http10(self) -> None:
        """An HTTP/1.0 request gets an HTTP/1.0 status line."""
        head, _ = _parse_response(b"GET", HTTP().error_response(b"GET / HTTP/1.0\r\n\r\n"))
        self.assertEqual(head.http_version, b"1.0")


class RequestLineTests(SynchronousTestCase):
    """A request line that is not HTTP/1.0 or 1.1 stops the framing as
    soon as it is whole, in every request of a connection."""

    def framing(self):
        return HttpFraming(8192, 1 << 20)

    def test_garbage_line_stops_at_once(self):
        framing = self.framing()
        self.assertEqual(framing.feed_requests(b"!"), [])
        self.assertRaises(FramingError, framing.feed_requests, b"\r\n")

    def test_unknown_version_stops(self):
        self.assertRaises(FramingError, self.framing().feed_requests, b"GET / HTTP/2.0\r\n")

    def test_the_second_request_line_is_checked_too(self):
        framing = self.framing()
        frames = framing.feed_requests(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n")
        self.assertEqual(len(frames), 1)
        self.assertRaises(FramingError, framing.feed_requests, b"Host: x\r\n\r\nBAD\r\n")

    def test_a_request_fed_byte_by_byte(self):
        framing = self.framing()
        request = b"GET /x HTTP/1.0\r\nHost: x\r\n\r\n"
        frames = [f for n in range(len(request)) for f in framing.feed_requests(request[n:n + 1])]
        self.assertEqual([frame.data for frame in frames], [request])
