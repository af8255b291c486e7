"""Tests for L{vaurien.protocols.redis.framing}."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from vaurien.protocols.framing import Frame, FramingError
from vaurien.protocols.redis.framing import RespReplyFramer, RespRequestFramer

_SETTINGS = settings(max_examples=150, deadline=None)


def _bulk(kind: bytes, data: bytes) -> bytes:
    return kind + b"%d\r\n" % len(data) + data + b"\r\n"


def _array(args: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(_bulk(b"$", a) for a in args)


_word = st.text("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789_", min_size=1, max_size=8)
_array_request = st.lists(st.binary(max_size=20), min_size=1, max_size=5).map(
    lambda args: (_array(args), args[0].upper())
)
_inline_request = st.lists(_word, min_size=1, max_size=4).map(
    lambda words: (" ".join(words).encode() + b"\r\n", words[0].encode().upper())
)
_requests = st.lists(st.one_of(_array_request, _inline_request), max_size=8)

_line = st.text("abc XYZ:019.-", max_size=10).map(str.encode)
_leaf = st.one_of(
    _line.map(lambda s: b"+" + s + b"\r\n"),
    _line.map(lambda s: b"-ERR " + s + b"\r\n"),
    st.integers().map(lambda i: b":%d\r\n" % i),
    st.just(b"$-1\r\n"),
    st.just(b"*-1\r\n"),
    st.just(b"_\r\n"),
    st.just(b",3.14\r\n"),
    st.sampled_from([b"#t\r\n", b"#f\r\n"]),
    st.integers().map(lambda i: b"(%d\r\n" % i),
    st.binary(max_size=30).map(lambda b: _bulk(b"$", b)),
    st.binary(max_size=30).map(lambda b: _bulk(b"!", b)),
    st.binary(max_size=30).map(lambda b: _bulk(b"=", b"txt:" + b)),
).map(lambda data: (data, False))


def _aggregate(kind: bytes, values: list[tuple[bytes, bool]]) -> bytes:
    return kind + b"%d\r\n" % len(values) + b"".join(v for v, _ in values)


def _map(kind: bytes, pairs: list[tuple[tuple[bytes, bool], tuple[bytes, bool]]]) -> bytes:
    body = b"".join(k + v for (k, _), (v, _) in pairs)
    return kind + b"%d\r\n" % len(pairs) + body


def _extend(children: st.SearchStrategy) -> st.SearchStrategy:
    values = st.lists(children, max_size=4)
    pairs = st.lists(st.tuples(children, children), max_size=3)
    return st.one_of(
        st.tuples(st.sampled_from([b"*", b"~"]), values).map(lambda t: (_aggregate(*t), False)),
        values.map(lambda v: (_aggregate(b">", v), True)),
        pairs.map(lambda p: (_map(b"%", p), False)),
        st.tuples(pairs, children).map(lambda t: (_map(b"|", t[0]) + t[1][0], t[1][1])),
    )


_reply = st.recursive(_leaf, _extend, max_leaves=12)
_replies = st.lists(_reply, max_size=6)


def _feed(framer: RespRequestFramer | RespReplyFramer, chunks: list[bytes]) -> list[Frame]:
    frames = []
    for chunk in chunks:
        frames.extend(framer.feed(chunk))
    return frames


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


class RequestFramerTests(SynchronousTestCase):
    """Tests for L{RespRequestFramer}."""

    @_SETTINGS
    @given(_requests, st.data())
    def test_anySplit(self, requests: list[tuple[bytes, bytes]], data: st.DataObject) -> None:
        """Any split of a valid stream gives one frame per request."""
        stream = b"".join(r for r, _ in requests)
        cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
        framer = RespRequestFramer()
        frames = _feed(framer, _split(stream, cuts))
        self.assertEqual(frames, _feed(RespRequestFramer(), [stream]))
        self.assertEqual([f.data for f in frames], [r for r, _ in requests])
        self.assertEqual([f.command for f in frames], [c for _, c in requests])
        self.assertEqual(framer.pending, 0)

    @_SETTINGS
    @given(st.lists(st.binary(max_size=40), max_size=5))
    def test_randomBytes(self, chunks: list[bytes]) -> None:
        """Random bytes give frames or L{FramingError}, nothing else."""
        try:
            _feed(RespRequestFramer(), chunks)
        except FramingError:
            pass

    def test_inline(self) -> None:
        """Inline commands are framed by line, command upper-cased."""
        frames = RespRequestFramer().feed(b"ping\r\nset a  b\nINFO\r\n\r\n")
        self.assertEqual(
            frames,
            [
                Frame(b"ping\r\n", b"PING"),
                Frame(b"set a  b\n", b"SET"),
                Frame(b"INFO\r\n", b"INFO"),
                Frame(b"\r\n", None, expects_reply=False),
            ],
        )

    def test_multiExec(self) -> None:
        """MULTI and EXEC are ordinary commands."""
        stream = _array([b"MULTI"]) + _array([b"incr", b"x"]) + _array([b"exec"])
        commands = [f.command for f in RespRequestFramer().feed(stream)]
        self.assertEqual(commands, [b"MULTI", b"INCR", b"EXEC"])

    def test_tunnel(self) -> None:
        """SUBSCRIBE and friends are tunnel frames; others are not."""
        stream = _array([b"subscribe", b"ch"]) + b"MONITOR\r\n" + _array([b"GET", b"k"])
        stream += _array([b"psubscribe", b"c*"]) + _array([b"SSUBSCRIBE", b"s"])
        tunnels = [f.tunnel for f in RespRequestFramer().feed(stream)]
        self.assertEqual(tunnels, [True, True, False, True, True])

    def test_emptyArray(self) -> None:
        """C{*0} and C{*-1} are frames that get no reply."""
        frames = RespRequestFramer().feed(b"*0\r\n*-1\r\n")
        self.assertEqual(frames, [Frame(b"*0\r\n", None, False), Frame(b"*-1\r\n", None, False)])

    def test_bigBulkByteByByte(self) -> None:
        """A big bulk string fed a byte at a time is framed in linear time."""
        stream = _array([b"SET", b"k", b"x" * (256 * 1024)])
        framer = RespRequestFramer()
        frames = _feed(framer, [stream[i : i + 1] for i in range(len(stream) - 1)])
        self.assertEqual((frames, framer.pending), ([], len(stream) - 1))
        self.assertEqual(framer.feed(stream[-1:]), [Frame(stream, b"SET")])
        self.assertEqual(framer.pending, 0)

    def test_errors(self) -> None:
        """Malformed requests raise L{FramingError}."""
        bad = [
            b"*1\r\n+PING\r\n",  # element not a bulk string
            b"*1\r\n$-1\r\n",  # null bulk in a request
            b"*-2\r\n",  # negative count
            b"*1\r\n$-5\r\n",  # negative length
            b"*x\r\n",  # non-numeric count
            b"*1\r\n$1x\r\n",  # non-numeric length
            b"*1\r\n$4\r\nPINGxx",  # missing CRLF after payload
        ]
        for data in bad:
            self.assertRaises(FramingError, RespRequestFramer().feed, data)
        self.assertRaises(FramingError, RespRequestFramer(max_bulk=10).feed, b"*1\r\n$11\r\n")
        self.assertRaises(FramingError, RespRequestFramer(max_elements=2).feed, b"*3\r\n")
        self.assertRaises(FramingError, RespRequestFramer(max_inline=8).feed, b"PING" * 3)
        self.assertRaises(FramingError, RespRequestFramer(max_inline=8).feed, b"*" + b"1" * 9)


class ReplyFramerTests(SynchronousTestCase):
    """Tests for L{RespReplyFramer}."""

    @_SETTINGS
    @given(_replies, st.data())
    def test_anySplit(self, replies: list[tuple[bytes, bool]], data: st.DataObject) -> None:
        """Any split of a valid stream gives one frame per reply."""
        stream = b"".join(r for r, _ in replies)
        cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
        framer = RespReplyFramer()
        frames = _feed(framer, _split(stream, cuts))
        self.assertEqual(frames, _feed(RespReplyFramer(), [stream]))
        self.assertEqual([f.data for f in frames], [r for r, _ in replies])
        expected = [b">" if push else None for _, push in replies]
        self.assertEqual([f.command for f in frames], expected)
        self.assertEqual(framer.pending, 0)

    @_SETTINGS
    @given(st.lists(st.binary(max_size=40), max_size=5))
    def test_randomBytes(self, chunks: list[bytes]) -> None:
        """Random bytes give frames or L{FramingError}, nothing else."""
        try:
            _feed(RespReplyFramer(), chunks)
        except FramingError:
            pass

    @_SETTINGS
    @given(_reply, st.data())
    def test_corrupted(self, reply: tuple[bytes, bool], data: st.DataObject) -> None:
        """A valid reply with one byte changed raises only L{FramingError}."""
        stream = bytearray(reply[0])
        stream[data.draw(st.integers(0, len(stream) - 1))] = data.draw(st.integers(0, 255))
        try:
            RespReplyFramer().feed(bytes(stream))
        except FramingError:
            pass

    def test_nested(self) -> None:
        """Aggregates, maps and attributes nest; an attribute and its reply
        are one frame; a push frame has C{command=b">"}."""
        attr = b"|1\r\n+ttl\r\n:3\r\n"
        stream = b"%1\r\n+a\r\n*2\r\n:1\r\n~1\r\n_\r\n" + attr + b"$1\r\nx\r\n"
        stream += attr + b">2\r\n+message\r\n$-1\r\n"
        frames = RespReplyFramer().feed(stream)
        self.assertEqual([f.command for f in frames], [None, None, b">"])
        self.assertEqual(b"".join(f.data for f in frames), stream)

    def test_bigBulkByteByByte(self) -> None:
        """A big bulk string fed a byte at a time is framed in linear time."""
        stream = _bulk(b"$", b"y" * (256 * 1024))
        framer = RespReplyFramer()
        frames = _feed(framer, [stream[i : i + 1] for i in range(len(stream) - 1)])
        self.assertEqual((frames, framer.pending), ([], len(stream) - 1))
        self.assertEqual(framer.feed(stream[-1:]), [Frame(stream)])

    def test_errors(self) -> None:
        """Malformed replies raise L{FramingError}."""
        bad = [
            b"?oops\r\n",  # bad type byte
            b"\r\n",  # empty line
            b"$-2\r\n",  # negative length
            b"!-1\r\n",  # null only for $ and *
            b"*-3\r\n",  # negative count
            b"$abc\r\n",  # non-numeric length
            b"%1x\r\n",  # non-numeric count
            b"$3\r\nabcd\r\n",  # missing CRLF after payload
            b"$" + b"9" * 30 + b"\r\n",  # absurd length
        ]
        for data in bad:
            self.assertRaises(FramingError, RespReplyFramer().feed, data)
        self.assertRaises(FramingError, RespReplyFramer(max_bulk=4).feed, b"$5\r\n")
        self.assertRaises(FramingError, RespReplyFramer(max_elements=4).feed, b"%5\r\n")
        self.assertRaises(FramingError, RespReplyFramer(max_inline=8).feed, b"+" + b"a" * 9)


class NestedAttributeTests(SynchronousTestCase):
    """A reply annotated by several attributes keeps its own type."""

    def test_push_after_two_attributes(self) -> None:
        stream = b"|0\r\n|1\r\n+k\r\n:1\r\n>1\r\n+msg\r\n"
        (frame,) = RespReplyFramer().feed(stream)
        self.assertEqual((frame.data, frame.command), (stream, b">"))

    def test_push_inside_an_attribute_value_is_not_the_reply(self) -> None:
        stream = b"|1\r\n+k\r\n>1\r\n+v\r\n:5\r\n"
        (frame,) = RespReplyFramer().feed(stream)
        self.assertEqual((frame.data, frame.command), (stream, None))
