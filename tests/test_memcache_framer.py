"""Tests for L{vaurien.protocols.memcache.framing}."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from vaurien.protocols.framing import Frame, FramingError
from vaurien.protocols.memcache.framing import (
    MAX_VALUE, MemcacheReplyFramer, MemcacheRequestFramer,
)

keys = st.text("abcdefghijklmnopqrstuvwxyz0123456789_:", min_size=1,
               max_size=12).map(str.encode)
numbers = st.integers(0, 2**32).map(lambda n: str(n).encode())
data_blocks = st.one_of(
    st.binary(max_size=40),
    st.lists(st.sampled_from([b"a", b"\r\n", b"\r", b"\n", b"END\r\n",
                              b"VALUE k 0 1\r\n", b"\x80"]),
             max_size=8).map(b"".join),
)
noreply = st.booleans()


def _line(*words: bytes) -> bytes:
    return b" ".join(words) + b"\r\n"


@st.composite
def storage(draw):
    word = draw(st.sampled_from([b"set", b"add", b"replace", b"append",
                                 b"prepend", b"cas"]))
    data = draw(data_blocks)
    words = [word, draw(keys), draw(numbers), draw(numbers),
             str(len(data)).encode()]
    if word == b"cas":
        words.append(draw(numbers))
    quiet = draw(noreply)
    if quiet:
        words.append(b"noreply")
    return _line(*words) + data + b"\r\n", word.upper(), not quiet


@st.composite
def simple(draw):
    word, args = draw(st.sampled_from([
        (b"delete", 1), (b"incr", 2), (b"decr", 2), (b"touch", 2),
        (b"flush_all", 0), (b"verbosity", 1)]))
    words = [word] + [draw(keys) for _ in range(args)]
    quiet = draw(noreply)
    if quiet:
        words.append(b"noreply")
    return _line(*words), word.upper(), not quiet


@st.composite
def retrieval(draw):
    word = draw(st.sampled_from([b"get", b"gets", b"gat", b"gats"]))
    words = [word] + ([draw(numbers)] if word.startswith(b"gat") else [])
    words += draw(st.lists(keys, min_size=1, max_size=3))
    return _line(*words), word.upper(), True


#: A meta request in quiet mode: answered or not, so a tunnel.
QUIET = "quiet"


def expected_frame(raw: bytes, command: bytes, expects) -> Frame:
    """The frame a generated request should give."""
    return Frame(raw, command, expects is not False, tunnel=expects == QUIET)


@st.composite
def meta(draw):
    word = draw(st.sampled_from([b"mg", b"ms", b"md", b"ma", b"mn", b"me"]))
    if word == b"mn":
        return _line(word), b"MN", True
    if word == b"me":
        return _line(word, draw(keys)), b"ME", True
    flags = draw(st.lists(st.sampled_from([b"v", b"t", b"k", b"q", b"T30",
                                           b"Oab"]), max_size=3))
    expects = QUIET if b"q" in flags else True
    if word == b"ms":
        data = draw(data_blocks)
        line = _line(word, draw(keys), str(len(data)).encode(), *flags)
        return line + data + b"\r\n", b"MS", expects
    return _line(word, draw(keys), *flags), word.upper(), expects


others = st.sampled_from([
    (b"stats\r\n", b"STATS", True), (b"stats items\r\n", b"STATS", True),
    (b"version\r\n", b"VERSION", True), (b"quit\r\n", b"QUIT", False),
    (b"bogus x y\r\n", b"BOGUS", True), (b"\r\n", b"", True),
])
requests = st.lists(st.one_of(storage(), simple(), retrieval(), meta(),
                              others), min_size=1, max_size=8)


def _item(draw, cas: bool) -> bytes:
    data = draw(data_blocks)
    words = [b"VALUE", draw(keys), draw(numbers), str(len(data)).encode()]
    if cas:
        words.append(draw(numbers))
    return _line(*words) + data + b"\r\n"


@st.composite
def reply_to(draw, command: bytes) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from([b"ERROR\r\n", b"CLIENT_ERROR bad\r\n",
                                     b"SERVER_ERROR out of memory\r\n"]))
    if command in (b"GET", b"GETS", b"GAT", b"GATS"):
        items = [_item(draw, command.endswith(b"S"))
                 for _ in range(draw(st.integers(0, 3)))]
        return b"".join(items) + b"END\r\n"
    if command == b"STATS":
        stats = [_line(b"STAT", draw(keys), draw(numbers))
                 for _ in range(draw(st.integers(0, 3)))]
        return b"".join(stats) + b"END\r\n"
    if command in (b"MG", b"MA") and draw(st.booleans()):
        data = draw(data_blocks)
        return _line(b"VA", str(len(data)).encode(), b"t30") + data + b"\r\n"
    return draw(st.sampled_from([
        b"STORED\r\n", b"NOT_STORED\r\n", b"EXISTS\r\n", b"NOT_FOUND\r\n",
        b"DELETED\r\n", b"TOUCHED\r\n", b"42\r\n", b"OK\r\n",
        b"VERSION 1.6.21\r\n", b"HD\r\n", b"EN\r\n", b"MN\r\n", b"HD t30\r\n",
    ]))


@st.composite
def replies(draw):
    commands = draw(st.lists(st.sampled_from([
        b"GET", b"GETS", b"GAT", b"GATS", b"STATS", b"SET", b"DELETE",
        b"INCR", b"VERSION", b"MG", b"MA", b"MS", b"MN", b"BOGUS"]),
        min_size=1, max_size=8))
    return commands, [draw(reply_to(command)) for command in commands]


def _chunks(draw, data: bytes) -> list[bytes]:
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=10)))
    bounds = [0] + cuts + [len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


def _feed(framer, chunks: list[bytes]) -> list[Frame]:
    frames: list[Frame] = []
    for chunk in chunks:
        frames += framer.feed(chunk)
    return frames


class RequestFramerTests(SynchronousTestCase):
    """L{MemcacheRequestFramer} frames valid requests, rejects others."""

    @settings(max_examples=200, deadline=None)
    @given(requests, st.data())
    def test_requests(self, reqs, data) -> None:
        """Any chunking gives one frame per request, as sent."""
        stream = b"".join(raw for raw, _, _ in reqs)
        frames = _feed(MemcacheRequestFramer(), _chunks(data.draw, stream))
        self.assertEqual(frames, [expected_frame(raw, command, expects)
                                  for raw, command, expects in reqs])
        self.assertEqual(b"".join(f.data for f in frames), stream)

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.binary(max_size=30), max_size=6))
    def test_random_bytes(self, chunks) -> None:
        """Random bytes raise nothing but L{FramingError}."""
        try:
            _feed(MemcacheRequestFramer(), chunks)
        except FramingError:
            pass

    def assertRejected(self, *chunks: bytes) -> None:
        self.assertRaises(FramingError, _feed, MemcacheRequestFramer(),
                          list(chunks))

    def test_binary_magic(self) -> None:
        """The binary protocol's magic byte is rejected at once."""
        self.assertRejected(b"\x80\x00\x00\x05")
        self.assertRejected(b"version\r\n", b"\x80")

    def test_short_data_block(self) -> None:
        """A data block must be followed by C{\\r\\n}."""
        self.assertRejected(b"set k 0 0 5\r\nabc\r\n", b"xx")
        self.assertRejected(b"ms k 2\r\nabcd")

    def test_bad_lengths(self) -> None:
        """Negative, non-numeric and too large lengths are rejected."""
        self.assertRejected(b"set k 0 0 -1\r\n")
        self.assertRejected(b"set k 0 0 x\r\n")
        self.assertRejected(b"ms k 1" + b"0" * 5000 + b"\r\n")
        self.assertRejected(b"append k 0 0 %d\r\n" % (MAX_VALUE + 1))

    def test_bad_storage_line(self) -> None:
        """A storage line with the wrong word count is rejected."""
        self.assertRejected(b"set k 0 0\r\n")
        self.assertRejected(b"cas k 0 0 1\r\n")
        self.assertRejected(b"ms k\r\n")

    def test_long_line(self) -> None:
        """A line over 8192 bytes is rejected, even without its end."""
        self.assertRejected(b"get " + b"k" * 8192)
        self.assertRejected(b"get " + b"k" * 8000, b"k" * 200 + b"\r\n")

    def test_byte_by_byte(self) -> None:
        """A large data block fed byte by byte gives one frame."""
        raw = b"set k 0 0 100000\r\n" + b"\r\n" * 50000 + b"\r\n"
        framer = MemcacheRequestFramer()
        frames = _feed(framer, [raw[i:i + 1] for i in range(len(raw))])
        self.assertEqual(frames, [Frame(raw, b"SET")])
        self.assertEqual(len(framer._buf), 0)


class ReplyFramerTests(SynchronousTestCase):
    """L{MemcacheReplyFramer} frames valid replies, rejects others."""

    @settings(max_examples=200, deadline=None)
    @given(replies(), st.data())
    def test_replies(self, commands_replies, data) -> None:
        """Any chunking gives one frame per reply, as sent."""
        commands, answers = commands_replies
        framer = MemcacheReplyFramer()
        for command in commands:
            framer.expect(command)
        stream = b"".join(answers)
        frames = _feed(framer, _chunks(data.draw, stream))
        self.assertEqual(frames, [Frame(answer) for answer in answers])
        self.assertEqual(framer._expected, type(framer._expected)())

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.sampled_from([b"GET", b"STATS", b"MG", b"SET"]),
                    max_size=5),
           st.lists(st.binary(max_size=30), max_size=6))
    def test_random_bytes(self, commands, chunks) -> None:
        """Random bytes raise nothing but L{FramingError}."""
        framer = MemcacheReplyFramer()
        for command in commands:
            framer.expect(command)
        try:
            _feed(framer, chunks)
        except FramingError:
            pass

    def assertRejected(self, command: bytes, *chunks: bytes) -> None:
        framer = MemcacheReplyFramer()
        framer.expect(command)
        self.assertRaises(FramingError, _feed, framer, list(chunks))

    def test_errors_end_retrieval(self) -> None:
        """An error line ends a get reply in progress."""
        framer = MemcacheReplyFramer()
        framer.expect(b"GET")
        framer.expect(b"SET")
        raw = b"VALUE k 0 1\r\nx\r\nSERVER_ERROR oops\r\n"
        self.assertEqual(framer.feed(raw + b"STORED\r\n"),
                         [Frame(raw), Frame(b"STORED\r\n")])

    def test_unsolicited(self) -> None:
        """A reply to no request is rejected."""
        self.assertRaises(FramingError, MemcacheReplyFramer().feed,
                          b"STORED\r\n")

    def test_bad_retrieval_reply(self) -> None:
        """Retrieval replies hold only VALUE items up to END."""
        self.assertRejected(b"GET", b"STORED\r\n")
        self.assertRejected(b"GET", b"VALUE k 0\r\n")
        self.assertRejected(b"GETS", b"VALUE k 0 3 1\r\nabcEND\r\n")
        self.assertRejected(b"GET", b"VALUE k 0 -3\r\n")

    def test_bad_va(self) -> None:
        """A VA line needs a valid length and its data block."""
        self.assertRejected(b"MG", b"VA\r\n")
        self.assertRejected(b"MG", b"VA x\r\n")
        self.assertRejected(b"MG", b"VA 1\r\nab\r\n")

    def test_long_line(self) -> None:
        """A reply line over 8192 bytes is rejected."""
        self.assertRejected(b"VERSION", b"VERSION " + b"1" * 8192)

    def test_binary_magic(self) -> None:
        """A binary protocol response is rejected."""
        self.assertRejected(b"GET", b"\x81\x00")
