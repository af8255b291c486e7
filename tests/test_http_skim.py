"""Tests for L{vaurien.protocols.http.skim}: following HTTP/1.x traffic
without cutting it, and cutting it again from any point of rest."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.accelerators import in_use
from vaurien.interfaces import ISkimming
from vaurien.protocols.framing import FramingError
from vaurien.protocols.http import HTTP
from vaurien.protocols.http.framing import HttpFraming
from vaurien.protocols.http.skim import SkimmingHttpFraming

_SETTINGS = settings(max_examples=150, deadline=None)
_LIMIT = 4096

tokens = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1,
                 max_size=8).map(str.encode)
bodies = st.binary(max_size=40)


def _framing() -> SkimmingHttpFraming:
    return SkimmingHttpFraming(_LIMIT, 1 << 20)


@st.composite
def _cased(draw, name: bytes) -> bytes:
    """C{name} in any mix of cases: header names are case-insensitive."""
    flips = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    return bytes(c ^ 0x20 if flip and chr(c).isalpha() else c for c, flip in zip(name, flips))


@st.composite
def _chunked(draw, body: bytes) -> bytes:
    """C{body} in chunks with extensions, then a last chunk and trailers."""
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=3)))
    data = b""
    for part in (body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)])):
        if part:
            ext = draw(st.sampled_from([b"", b";x", b";name=value", b";a=1;b=\"q\""]))
            data += b"%X%s\r\n%s\r\n" % (len(part), ext, part)
    trailers = draw(st.lists(tokens, max_size=2))
    return data + b"0\r\n" + b"".join(b"X-" + t + b": " + t + b"\r\n" for t in trailers) + b"\r\n"


def _head(first: bytes, headers: list[bytes]) -> bytes:
    return b"".join(line + b"\r\n" for line in [first, *headers]) + b"\r\n"


@st.composite
def requests(draw) -> tuple[bytes, bytes]:
    """A valid request to skim: C{(bytes, method)}."""
    method = draw(st.sampled_from([b"GET", b"HEAD", b"POST", b"DELETE"]))
    version = draw(st.sampled_from([b"1.0", b"1.1"]))
    headers = [draw(_cased(b"Host")) + b": " + draw(tokens)] if version == b"1.1" else []
    headers.append(b"X-" + draw(tokens) + b":" + draw(st.sampled_from([b"", b" ", b"\t"]))
                   + draw(tokens) + draw(st.sampled_from([b"", b" "])))
    kind = draw(st.sampled_from(["none", "length", "chunked"]))
    body = b""
    if kind == "length":
        body = draw(bodies)
        headers.append(draw(_cased(b"Content-Length")) + b": %d" % len(body))
    elif kind == "chunked":
        headers.append(draw(_cased(b"Transfer-Encoding")) + b": "
                       + draw(st.sampled_from([b"chunked", b"Chunked"])))
        body = draw(_chunked(draw(bodies)))
    headers = draw(st.permutations(headers))
    return _head(b"%s /%s HTTP/%s" % (method, draw(tokens), version), headers) + body, method


@st.composite
def responses(draw, method: bytes) -> bytes:
    """A valid response to a C{method} request, never delimited by the
    close, with any informational responses before it."""
    data = b""
    for code in draw(st.lists(st.sampled_from([100, 102, 103]), max_size=2)):
        data += _head(b"HTTP/1.1 %d Info" % code, [b"Link: </s.css>"][: code == 103])
    status = draw(st.sampled_from([200, 204, 304, 404, 500]))
    version = draw(st.sampled_from([b"1.0", b"1.1"]))
    first = b"HTTP/%s %d %s" % (version, status, draw(st.sampled_from([b"OK", b"", b"Any Thing"])))
    if not first.endswith(b" ") and draw(st.booleans()):
        first = first.split(b" ", 2)[0] + b" %d" % status  # no reason phrase
    headers = [b"Server: test"]
    body = draw(bodies)
    if draw(st.booleans()) and version == b"1.1":
        headers.append(draw(_cased(b"Transfer-Encoding")) + b": chunked")
        body = draw(_chunked(body))
    else:
        headers.append(draw(_cased(b"Content-Length")) + b": %d" % len(body))
    if method == b"HEAD" or status in (204, 304):
        body = b""  # the headers say what a GET would get
    return data + _head(first, headers) + body


@st.composite
def exchanges(draw) -> list[list[tuple[bytes, bytes]]]:
    """Batches of C{(request, response)}: a client sends a batch, then
    the server answers it."""
    batches = []
    for batch in draw(st.lists(st.lists(requests(), min_size=1, max_size=3),
                               min_size=1, max_size=4)):
        batches.append([(request, draw(responses(method))) for request, method in batch])
    return batches


def _cut(data: bytes, draw) -> list[bytes]:
    """C{data} cut anywhere, in non-empty chunks."""
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(data) - 1)), max_size=5))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)]) if b > a]


def _cut_frames(framing: HttpFraming, up: list[bytes], down: list[bytes]) -> tuple[int, int]:
    """Cut the chunks into frames as the relay does: C{(requests, replies)}."""
    requests = [frame for chunk in up for frame in framing.feed_requests(chunk)]
    for request in requests:
        framing.expect_reply(request)
    replies = [frame for chunk in down for frame in framing.feed_replies(chunk)]
    return len(requests), len(replies)


class FollowingTests(SynchronousTestCase):
    """The followers see the messages h11 cuts, however the bytes come."""

    def test_interface(self) -> None:
        verifyObject(ISkimming, _framing())
        verifyObject(ISkimming, HTTP().framing())

    def test_no_skimming_when_host_is_rewritten(self) -> None:
        """Requests must be cut to be rewritten: no skimming then."""
        framing = HTTP({"overwrite_host_header": True, "host": "example.com"}).framing()
        self.assertFalse(ISkimming.providedBy(framing))

    @_SETTINGS
    @given(exchanges(), st.data())
    def test_counts_and_rests_as_cutting_does(self, batches, data) -> None:
        """Skimmed or cut, batch by batch on one framing: the skim counts
        are the frames h11 cuts, and the framing rests exactly at the end
        of each batch's last response."""
        framing, reference = _framing(), HttpFraming(_LIMIT, 1 << 20)
        for batch in batches:
            up = _cut(b"".join(request for request, _ in batch), data.draw)
            down = _cut(b"".join(response for _, response in batch), data.draw)
            self.assertEqual(_cut_frames(reference, up, down), (len(batch), len(batch)))
            self.assertTrue(framing.resting)
            if data.draw(st.booleans(), label="cut this batch"):
                self.assertEqual(_cut_frames(framing, up, down), (len(batch), len(batch)))
                continue
            count = 0
            for chunk in up:
                count += framing.skim_requests(chunk)
                self.assertFalse(framing.resting)
            self.assertEqual(count, len(batch))
            for index, chunk in enumerate(down):
                self.assertIsNone(framing.skim_replies(chunk))
                self.assertEqual(framing.resting, index == len(down) - 1)

    @_SETTINGS
    @given(st.lists(st.binary(max_size=30), max_size=6), st.booleans())
    def test_random_bytes_raise_only_framing_errors(self, chunks, replies) -> None:
        framing = _framing()
        skim = framing.skim_requests
        if replies:
            framing.skim_requests(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            skim = framing.skim_replies
        try:
            for chunk in chunks:
                skim(chunk)
        except FramingError:
            pass

    @_SETTINGS
    @given(exchanges(), st.data())
    def test_damaged_streams_skimmed_only_as_h11_would_cut(self, batches, data) -> None:
        """One byte changed anywhere: the followers stop (FramingError), or
        count what h11 cuts from the same bytes and rest only when h11
        has every answer and holds nothing. (A response may start before its request's body
        is in: the followers take it, h11 stops.)"""
        up = b"".join(request for batch in batches for request, _ in batch)
        down = b"".join(response for batch in batches for _, response in batch)
        stream = data.draw(st.sampled_from(["up", "down"]))
        damaged = bytearray(up if stream == "up" else down)
        damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
        up, down = (bytes(damaged), down) if stream == "up" else (up, bytes(damaged))
        framing = _framing()
        try:
            skimmed = framing.skim_requests(up)
            framing.skim_replies(down)
        except FramingError:
            return
        reference = HttpFraming(_LIMIT, 1 << 20)
        try:
            requests = reference.feed_requests(up)
        except FramingError:
            self.fail(f"skimmed requests that h11 does not frame: {up!r}")
        self.assertEqual(skimmed, len(requests))
        for request in requests:
            reference.expect_reply(request)
        try:
            replies = reference.feed_replies(down)
        except FramingError:
            self.assertFalse(framing.resting)
            return
        self.assertEqual(framing.resting, len(replies) == len(requests) and not reference.pending)

    def test_cutting_takes_over_at_rest(self) -> None:
        framing = _framing()
        self.assertEqual(framing.skim_requests(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"), 1)
        framing.skim_replies(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
        self.assertTrue(framing.resting)
        [request] = framing.feed_requests(b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertEqual(request.target, b"/x")
        framing.expect_reply(request)
        self.assertFalse(framing.resting)
        [reply] = framing.feed_replies(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        self.assertTrue(framing.resting)
        self.assertEqual(framing.skim_requests(b"GET / HTTP/1.0\r\n\r\n"), 1)

    def test_response_delimited_by_the_close_never_rests(self) -> None:
        framing = _framing()
        framing.skim_requests(b"GET / HTTP/1.0\r\n\r\n")
        framing.skim_replies(b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nsome body")
        framing.skim_replies(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        self.assertFalse(framing.resting)

    def test_informational_responses_keep_the_exchange_open(self) -> None:
        framing = _framing()
        framing.skim_requests(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        framing.skim_replies(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")
        self.assertFalse(framing.resting)
        framing.skim_replies(b"HTTP/1.1 204 No Content\r\n\r\n")
        self.assertTrue(framing.resting)

    def test_bodies_are_skipped_by_count(self) -> None:
        """A body is not searched: its bytes may look like anything."""
        framing = _framing()
        body = b"\r\n\r\nHTTP/1.1 200 OK\r\n\r\n" * 1000
        request = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body)
        self.assertEqual(framing.skim_requests(request + body[:7]), 0)
        self.assertEqual(framing.skim_requests(body[7:]), 1)
        framing.skim_replies(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        self.assertTrue(framing.resting)

    def test_backend_closing_then_a_new_backend(self) -> None:
        """After the backend's close at rest, the next request goes to a
        new backend connection: its response is cut, even in pieces."""
        framing = _framing()
        framing.skim_requests(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        framing.skim_replies(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        self.assertEqual(framing.replies_ended(), [])
        [request] = framing.feed_requests(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        framing.expect_reply(request)
        self.assertEqual(framing.feed_replies(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\no"), [])
        self.assertEqual(len(framing.feed_replies(b"k")), 1)


def _python_only(framing: SkimmingHttpFraming) -> SkimmingHttpFraming:
    """C{framing} with its followers' fast way (C) turned off."""
    for follower in (framing._skimmed_requests, framing._skimmed_replies):
        follower._skim_whole = lambda data, pos: pos
    return framing


def _outcome(skim, chunk: bytes):
    try:
        return skim(chunk)
    except FramingError as e:
        return f"FramingError: {e}"


def _follower_state(framing: SkimmingHttpFraming) -> tuple:
    followers = (framing._skimmed_requests, framing._skimmed_replies)
    return (framing.resting, list(framing._awaiting),
            [(f._state, f._remaining, f.plain, bytes(f._held)) for f in followers])


class FastWayTests(SynchronousTestCase):
    """The C fast way through plain messages (C{vaurien.protocols.http._skim}), in
    the followers and in the lane's C followers, leaves the following
    exactly as the Python alone does, chunk after chunk, on valid and
    damaged streams alike."""

    def setUp(self) -> None:
        in_use("vaurien.protocols.http._skim")

    def assertSameFollowing(self, up: list[bytes], down: list[bytes]) -> None:
        fast, followed, python = _framing(), _framing(), _python_only(_framing())
        lane = dict(zip(("skim_requests", "skim_replies"), followed.followers()))
        for chunks, name in ((up, "skim_requests"), (down, "skim_replies")):
            for chunk in chunks:
                expected = _outcome(getattr(python, name), chunk)
                self.assertEqual(_outcome(getattr(fast, name), chunk), expected)
                self.assertEqual(_outcome(lane[name], chunk), expected)
                state = _follower_state(python)
                self.assertEqual(_follower_state(fast), state)
                self.assertEqual(_follower_state(followed), state)

    @_SETTINGS
    @given(exchanges(), st.data())
    def test_valid_streams(self, batches, data) -> None:
        for batch in batches:
            self.assertSameFollowing(_cut(b"".join(request for request, _ in batch), data.draw),
                                     _cut(b"".join(response for _, response in batch), data.draw))

    @_SETTINGS
    @given(exchanges(), st.data())
    def test_damaged_streams(self, batches, data) -> None:
        streams = [b"".join(message[side] for batch in batches for message in batch)
                   for side in (0, 1)]
        damaged = data.draw(st.integers(0, 1), label="stream")
        stream = bytearray(streams[damaged])
        for _ in range(data.draw(st.integers(1, 3), label="changes")):
            at = data.draw(st.integers(0, len(stream) - 1))
            stream[at] = data.draw(st.sampled_from(b"\r\n :,\t\x00\x0bAaZz019"), label="byte")
        streams[damaged] = bytes(stream)
        self.assertSameFollowing(_cut(streams[0], data.draw), _cut(streams[1], data.draw))

    def test_the_fast_way_is_taken(self) -> None:
        framing = _framing()
        follower = framing._skimmed_requests
        taken = []
        fast_way = follower._skim_whole
        follower._skim_whole = lambda data, pos: taken.append(pos) or fast_way(data, pos)
        requests = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n" * 3
        self.assertEqual(framing.skim_requests(requests), 3)
        self.assertEqual(taken, [0])

    def test_the_lane_followers_take_whole_messages_themselves(self) -> None:
        """Whole plain messages are followed without a call to the Python
        followers; anything else goes to them."""
        framing = _framing()
        fed = []
        for follower in (framing._skimmed_requests, framing._skimmed_replies):
            follower.feed = lambda data, feed=follower.feed: fed.append(data) or feed(data)
        follow_requests, follow_replies = framing.followers()
        self.assertEqual(follow_requests(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n" * 2), 2)
        follow_replies(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" * 2)
        self.assertEqual((fed, framing.resting), ([], True))
        self.assertEqual(follow_requests(b"GET /b HTTP/1.1\r\nHo"), 0)
        self.assertEqual(follow_requests(b"st: h\r\n\r\n"), 1)
        self.assertEqual(len(fed), 2)

    def test_edge_heads(self) -> None:
        """Heads at the edges of what the fast way takes on."""
        get = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
        for up, down in [
            ([get], [b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"]),
            ([get], [b"HTTP/1.1 200 \r\nContent-Length: 2, 2\r\n\r\nok"]),
            ([get], [b"HTTP/1.1 200 OK\r\nContent-Length: 2,3\r\n\r\nok"]),
            ([get], [b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n"]),
            ([get], [b"HTTP/1.1 200 OK\r\nContent-Length: 02\r\nContent-Length: 2\r\n\r\n"]),
            ([get], [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", b"cde"]),
            ([get], [b"HTTP/1.1 200 OK\r\n\r\nto the close"]),
            ([get], [b"HTTP/1.1 200 OK\r\nX: \x80\xff\r\nContent-Length: 0\r\n\r\n"]),
            ([get], [b"HTTP/1.1 200\r\n\r\n"]),
            ([get], [b"HTTP/1.1 20\r\n\r\n"]),
            ([b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n"], [b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"]),
            ([b"GET / HTTP/1.0\r\n\r\n"], [b"HTTP/1.0 304 Not Modified\r\n\r\n"]),
            ([b"GET / HTTP/1.1\r\n\r\n"], []),
            ([b"GET / HTTP/1.1\r\nHost: a\r\nHOST: b\r\n\r\n"], []),
            ([b"connect h:1 HTTP/1.1\r\nHost: h\r\n\r\n"], []),
            ([b"GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue \r\n\r\n"], []),
            ([b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: x\r\n\r\n"], []),
            ([b"GET / HTTP/1.1\r\nHost: h\r\nX-Y : z\r\n\r\n"], []),
            ([b"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n"], []),
            ([b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n"], []),
            ([b"GET / HTTP/1.1 \r\nHost: h\r\n\r\n"], []),
            ([b"GET /\r\n\r\n"], []),
            ([b"G\r\n\r\n"], []),
            ([b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab", b"cdGET"], []),
        ]:
            with self.subTest(up=up, down=down):
                self.assertSameFollowing(up, down)


class StrictnessTests(SynchronousTestCase):
    """Whatever could put the followers out of step raises FramingError."""

    def assertRequestRaises(self, data: bytes, message: str = "") -> None:
        with self.assertRaises(FramingError) as raised:
            _framing().skim_requests(data)
        self.assertIn(message, str(raised.exception))

    def assertResponseRaises(self, data: bytes, method: bytes = b"GET") -> None:
        framing = _framing()
        framing.skim_requests(method + b" / HTTP/1.1\r\nHost: a\r\n\r\n")
        with self.assertRaises(FramingError):
            framing.skim_replies(data)

    def test_tunnel_requests(self) -> None:
        for head in [b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
                     b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
                     b"GET / HTTP/1.1\r\nHost: a\r\nupgrade: h2c\r\n\r\n",
                     b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 9\r\n\r\n"]:
            self.assertRequestRaises(head, "makes it a tunnel")

    def test_switching_protocols(self) -> None:
        self.assertResponseRaises(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n")

    def test_ambiguous_bodies(self) -> None:
        for fields in [b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
                       b"Content-Length: 3\r\nContent-Length: 4\r\n",
                       b"Content-Length: 3, 4\r\n",
                       b"Content-Length: x\r\n",
                       b"Content-Length: -1\r\n",
                       b"Content-Length: 1e3\r\n",
                       b"Content-Length: 123456789012345678901\r\n",
                       b"Transfer-Encoding: gzip\r\n",
                       b"Transfer-Encoding: gzip, chunked\r\n",
                       b"Transfer-Encoding: chunked, gzip\r\n",
                       b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"]:
            self.assertRequestRaises(b"POST / HTTP/1.1\r\nHost: a\r\n" + fields + b"\r\n")
            self.assertResponseRaises(b"HTTP/1.1 200 OK\r\n" + fields + b"\r\n")

    def test_agreeing_lengths_pass(self) -> None:
        framing = _framing()
        request = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\ncontent-length: 2, 2\r\n\r\nok"
        self.assertEqual(framing.skim_requests(request), 1)

    def test_malformed_heads(self) -> None:
        for head in [b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n folded\r\n\r\n",
                     b"GET / HTTP/1.1\r\nHost: a\r\nX-A : 1\r\n\r\n",
                     b"GET / HTTP/1.1\r\nHost: a\r\nno colon\r\n\r\n",
                     b"GET / HTTP/1.1\r\nHost: a\nX-A: 1\r\n\r\n",
                     b"GET / HTTP/1.1\nHost: a\n\n",
                     b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
                     b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
                     b"GET / http/1.1\r\nHost: a\r\n\r\n",
                     b"GET /\r\n\r\n",
                     b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
                     b"GET / HTTP/1.1\r\n\r\n",
                     b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                     b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"]:
            self.assertRequestRaises(head)

    def test_malformed_status_lines(self) -> None:
        for head in [b"HTTP/1.1 20 OK\r\n\r\n", b"HTTP/2 200 OK\r\n\r\n", b"ICY 200 OK\r\n\r\n",
                     b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\tfolded\r\nContent-Length: 0\r\n\r\n"]:
            self.assertResponseRaises(head)

    def test_malformed_chunks(self) -> None:
        head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        for body in [b"x\r\n", b"3\r\nabcd\r\n", b"3\r\nabc\n0\r\n\r\n", b"-1\r\n",
                     b"0\r\nbad trailer\r\n\r\n", b"1" * 21 + b"\r\n"]:
            self.assertRequestRaises(head + body)

    def test_heads_over_the_limit(self) -> None:
        big = b"GET / HTTP/1.1\r\nHost: a\r\nX-A: " + b"a" * _LIMIT + b"\r\n\r\n"
        self.assertRequestRaises(big, "within")
        framing = _framing()
        with self.assertRaises(FramingError):
            for index in range(0, len(big), 100):
                framing.skim_requests(big[index:index + 100])

    def test_partial_heads_fail_early(self) -> None:
        """A head that cannot end well stops following before it is whole."""
        for chunks in [[b"\x16\x03\x01"], [b"GET / HTTP/1.1\r", b"\nHost: a\r", b"\n\n"]]:
            framing = _framing()
            with self.assertRaises(FramingError):
                for chunk in chunks:
                    framing.skim_requests(chunk)
        framing = _framing()
        framing.skim_requests(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        framing.skim_replies(b"HTT")
        with self.assertRaises(FramingError):
            framing.skim_replies(b"PS/1.1 200")

    def test_response_to_no_request(self) -> None:
        with self.assertRaises(FramingError):
            _framing().skim_replies(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        framing = _framing()
        framing.skim_requests(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        with self.assertRaises(FramingError):
            framing.skim_replies(b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")

    def test_stays_stopped(self) -> None:
        """Once stopped, following never resumes."""
        framing = _framing()
        with self.assertRaises(FramingError):
            framing.skim_requests(b"garbage\r\n\r\n")
        with self.assertRaises(FramingError):
            framing.skim_requests(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
