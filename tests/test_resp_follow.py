"""RESP framers following bytes passed on already (L{_Reader.follow}):
the same requests and replies as cutting them, with none of their bytes
kept, however the stream is split."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import TestCase

from vaurien.protocols.redis.framing import _WORD, RespReplyFramer, RespRequestFramer
from vaurien.protocols.redis.protocol import RedisFraming, _words

#: The most a following framer may hold: a header line not yet whole, or
#: a short request word still arriving.
HELD = 96

_word = st.one_of(
    st.sampled_from([b"GET", b"SET", b"CLIENT", b"REPLY", b"OFF", b"SKIP", b"ON", b"PING"]),
    st.binary(max_size=300),
    st.integers(min_value=_WORD + 1, max_value=400).map(lambda n: b"x" * n),
)
_requests = st.lists(st.lists(_word, min_size=1, max_size=4), min_size=1, max_size=6).map(
    lambda commands: b"".join(
        b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in words)
        for words in commands))


def _value(depth: int = 0) -> st.SearchStrategy[bytes]:
    leaves = st.sampled_from([b"+OK\r\n", b":12\r\n", b"_\r\n", b"$-1\r\n"]) | st.binary(
        max_size=300).map(lambda v: b"$%d\r\n%s\r\n" % (len(v), v))
    if depth > 3:
        return leaves
    inner = st.deferred(lambda: _value(depth + 1))
    return leaves | st.tuples(
        st.sampled_from([b"*", b">", b"%", b"|"]), st.lists(inner, max_size=3), inner,
    ).map(lambda t: _aggregate(*t))


def _aggregate(kind: bytes, items: list[bytes], annotated: bytes) -> bytes:
    if kind in b"%|":
        items = items + items  # pairs
    head = kind + b"%d\r\n" % (len(items) // (2 if kind in b"%|" else 1))
    return head + b"".join(items) + (annotated if kind == b"|" else b"")


_replies = st.lists(_value(), min_size=1, max_size=4).map(b"".join)


def _pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in zip(points, points[1:])]


def _short(word: bytes | None) -> bytes | None:
    """A word as the framing looks at it: longer than L{_WORD}, it is
    none of the commands it looks for."""
    return b"" if word is not None and len(word) > _WORD else word


def _summary(frames) -> list[tuple]:
    return [(_short(f.command), f.expects_reply, f.tunnel) for f in frames]


def _looked_at(frame) -> list[bytes]:
    """The first words of a request, as C{RedisFraming} reads them."""
    return [_short(word) for word in frame.meta or _words(frame.data, 3)]


class FollowingTests(TestCase):
    def follow(self, framer: type, data: bytes, cuts: list[int]) -> tuple[list, list]:
        """Follow C{data} cut at C{cuts}, checking what is held; the
        frames followed, and those cut from the whole, as the same."""
        followed, got = framer(), []
        expected = framer().feed(data)
        for piece in _pieces(data, cuts):
            got += followed.follow(piece)
            self.assertLessEqual(len(followed.held()), HELD)
        self.assertEqual(_summary(got), _summary(expected))
        self.assertTrue(followed.idle)
        return got, expected

    @settings(derandomize=True, max_examples=300, deadline=None)
    @given(_requests, st.lists(st.integers(min_value=0), max_size=8))
    def test_requests_followed_as_cut_and_none_kept(self, data, cuts):
        got, expected = self.follow(RespRequestFramer, data, cuts)
        self.assertEqual([_looked_at(f) for f in got], [_looked_at(f) for f in expected])

    @settings(derandomize=True, max_examples=300, deadline=None)
    @given(_replies, st.lists(st.integers(min_value=0), max_size=8))
    def test_replies_followed_as_cut_and_none_kept(self, data, cuts):
        self.follow(RespReplyFramer, data, cuts)

    @settings(derandomize=True, max_examples=200, deadline=None)
    @given(_requests, st.lists(st.integers(min_value=0), max_size=8))
    def test_a_skimming_framing_counts_as_a_cutting_one(self, data, cuts):
        """C{CLIENT REPLY} modes included: the requests owed a reply are
        the same, and the framing rests once a request is whole."""
        cutting, skimming = RedisFraming(), RedisFraming()
        owed = sum(f.expects_reply for f in cutting.feed_requests(data))
        count = sum(skimming.skim_requests(piece) for piece in _pieces(data, cuts))
        self.assertEqual(count, len(RespRequestFramer().feed(data)))
        self.assertEqual(skimming._tally.expected, owed)
        self.assertEqual(skimming.requests.idle, True)

    def test_a_value_midway_is_not_resting(self):
        framing = RedisFraming()
        framing.skim_requests(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000\r\n" + b"v" * 500)
        self.assertFalse(framing.resting)
        self.assertEqual(framing.requests.held(), b"")
        framing.skim_requests(b"v" * 500 + b"\r\n")
        framing.skim_replies(b"+OK\r\n")
        self.assertTrue(framing.resting)
