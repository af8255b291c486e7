"""Tests for skimming Redis traffic: L{vaurien.protocols.redis.skim}'s skimmers
(in Python and in C) and L{vaurien.protocols.redis.RedisFraming}'s
L{vaurien.interfaces.ISkimming} side."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.accelerators import in_use
from tests.test_resp_framer import _array, _reply, _requests, _split
from vaurien.interfaces import ISkimming
from vaurien.protocols.redis import skim as redis_skim
from vaurien.protocols.framing import FramingError
from vaurien.protocols.redis import RedisFraming

_SETTINGS = settings(max_examples=150, deadline=None)
_LIMITS = (1024 * 1024, 512 * 1024 * 1024, 32)

#: Streams the skimmers take whole or stop in: valid requests and
#: replies, near misses, and the watched commands in any case.
_near = st.sampled_from([
    b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", b"*1\r\n$6\r\nclient\r\n", b"*1\r\n$7\r\nMonitor\r\n",
    b"*1\r\n$9\r\nSUBSCRIBE\r\n", b"*0\r\n", b"*-1\r\n", b"*2\r\n$3\r\nGET\r\n",
    b"$3\r\nabc\r\n", b"$-1\r\n", b"$3\r\nabcd\r\n", b"+OK\r\n", b"-ERR x\r\n", b":12\r\n",
    b"$01\r\nx\r\n", b"*01\r\n$1\r\nx\r\n", b"$99999999999999999999\r\n", b"\r\n", b"PING\r\n",
    b" set a\tb \n", b"monitor\r\n", b"Client list\n", b" \t\r\n", b"x" * 40 + b"\n",
])
_streams = st.lists(st.one_of(_near, st.binary(max_size=12)), max_size=12).map(b"".join)


def _c_skimmers():
    return in_use("vaurien.protocols.redis._skim")


class SkimmerTests(SynchronousTestCase):
    """The skimmers follow exactly the frames the framers would cut."""

    @_SETTINGS
    @given(_streams)
    def test_c_and_python_agree(self, data: bytes) -> None:
        """The C skimmers give the Python skimmers' answers on any bytes."""
        skim = _c_skimmers()
        self.assertEqual(skim.skim_commands(data, *_LIMITS),
                         redis_skim.py_skim_commands(data, *_LIMITS))
        self.assertEqual(skim.skim_plain_replies(data, _LIMITS[1], _LIMITS[2]),
                         redis_skim.py_skim_plain_replies(data, _LIMITS[1], _LIMITS[2]))

    def test_c_is_used_when_built(self) -> None:
        self.assertIs(redis_skim.skim_commands, _c_skimmers().skim_commands)

    @_SETTINGS
    @given(st.lists(st.lists(st.binary(max_size=20), min_size=1, max_size=4), max_size=8))
    def test_commands_are_followed_whole(self, commands: list[list[bytes]]) -> None:
        """Plain arrays of bulk strings are followed to the end unless a
        watched command stops the skimmer before it."""
        data = b"".join(_array(args) for args in commands)
        end, count = redis_skim.py_skim_commands(data, *_LIMITS)
        watched = [n for n, args in enumerate(commands) if args[0].upper() in redis_skim.WATCHED]
        stop = watched[0] if watched else len(commands)
        self.assertEqual(count, stop)
        self.assertEqual(end, len(b"".join(_array(args) for args in commands[:stop])))

    def test_line_limit(self) -> None:
        """A status line longer than the limit is left to the parser."""
        self.assertEqual(redis_skim.skim_plain_replies(b"+" + b"a" * 20 + b"\r\n", 100, 10), (0, 0))


class _FollowingTests:
    """L{RedisFraming} follows a connection it does not cut: the tests
    that hold for both ways of showing it the chunks."""

    def requests_of(self, framing: RedisFraming):
        """What follows C{framing}'s requests in these tests."""
        return framing.skim_requests

    def replies_of(self, framing: RedisFraming):
        """What follows C{framing}'s replies in these tests."""
        return framing.skim_replies

    def test_rests_between_exchanges(self) -> None:
        framing = RedisFraming()
        self.requests_of(framing)(_array([b"GET", b"k"]) + _array([b"SET", b"k", b"v"])[:9])
        self.assertFalse(framing.resting)
        self.requests_of(framing)(_array([b"SET", b"k", b"v"])[9:])
        self.replies_of(framing)(b"$1\r\nv\r\n+O")
        self.assertFalse(framing.resting)
        self.replies_of(framing)(b"K\r\n")
        self.assertTrue(framing.resting)
        # Cutting frames takes over from there.
        self.assertEqual([f.command for f in framing.feed_requests(_array([b"GET", b"k"]))],
                         [b"GET"])

    def test_client_reply_off(self) -> None:
        """Requests silenced by CLIENT REPLY OFF/SKIP await no reply."""
        framing = RedisFraming()
        stream = (_array([b"CLIENT", b"REPLY", b"OFF"]) + _array([b"SET", b"a", b"1"])
                  + _array([b"client", b"reply", b"on"]) + _array([b"CLIENT", b"REPLY", b"SKIP"])
                  + _array([b"INCR", b"n"]) + _array([b"GET", b"a"]))
        self.assertEqual(self.requests_of(framing)(stream), 6)
        self.replies_of(framing)(b"+OK\r\n")  # CLIENT REPLY ON
        self.assertFalse(framing.resting)
        self.replies_of(framing)(b"$1\r\n1\r\n")  # GET a
        self.assertTrue(framing.resting)

    def test_client_reply_off_across_chunks(self) -> None:
        """A silenced request in a later chunk than CLIENT REPLY OFF awaits
        no reply either."""
        framing = RedisFraming()
        chunks = [_array([b"CLIENT", b"REPLY", b"OFF"]), _array([b"SET", b"a", b"1"]),
                  _array([b"CLIENT", b"REPLY", b"ON"]), _array([b"GET", b"a"])]
        self.assertEqual(sum(map(self.requests_of(framing), chunks)), 4)
        self.replies_of(framing)(b"+OK\r\n")  # CLIENT REPLY ON
        self.assertFalse(framing.resting)
        self.replies_of(framing)(b"$1\r\n1\r\n")  # GET a
        self.assertTrue(framing.resting)

    def test_payloads_that_look_like_frames(self) -> None:
        """A chunk inside a frame in progress is not taken for frames of
        its own, however it looks."""
        framing = RedisFraming()
        chunks = [b"*1\r\n$6\r\n", b"PING\r\n", b"\r\n", b"*1\r\n$4\r\nPING\r\n"]
        self.assertEqual(sum(map(self.requests_of(framing), chunks)), 2)
        for chunk in (b"$7\r\n", b"$1\r\nx\r\n", b"\r\n"):
            self.replies_of(framing)(chunk)
        self.assertFalse(framing.resting)
        self.replies_of(framing)(b"+PONG\r\n")
        self.assertTrue(framing.resting)

    def test_pushes_answer_nothing(self) -> None:
        framing = RedisFraming()
        self.requests_of(framing)(_array([b"GET", b"k"]))
        self.replies_of(framing)(b">2\r\n$4\r\ninfo\r\n$1\r\nx\r\n")
        self.assertFalse(framing.resting)
        self.replies_of(framing)(b"_\r\n")
        self.assertTrue(framing.resting)

    def test_tunnel_commands_stop_skimming(self) -> None:
        for command in (b"subscribe", b"PSUBSCRIBE", b"SSubscribe"):
            with self.assertRaises(FramingError):
                self.requests_of(RedisFraming())(_array([command, b"c"]))
        with self.assertRaises(FramingError):
            self.requests_of(RedisFraming())(b"MONITOR\r\n")

    def test_requests_before_a_tunnel_command_are_counted(self) -> None:
        """The chunk's earlier requests count; following stops at the next
        chunk, either way, and the framing does not rest till then."""
        for after in ("requests", "replies"):
            framing = RedisFraming()
            chunk = _array([b"GET", b"k"]) + b"PING\r\n" + _array([b"SUBSCRIBE", b"c"])
            self.assertEqual(self.requests_of(framing)(chunk), 2)
            self.assertFalse(framing.resting)
            with self.assertRaises(FramingError):
                if after == "requests":
                    self.requests_of(framing)(b"PING\r\n")
                else:
                    self.replies_of(framing)(b"$-1\r\n+PONG\r\n")

    def test_reply_to_no_request(self) -> None:
        with self.assertRaises(FramingError):
            self.replies_of(RedisFraming())(b"+OK\r\n")

    def test_malformed(self) -> None:
        with self.assertRaises(FramingError):
            self.requests_of(RedisFraming())(b"*abc\r\n")



def _both_ways():
    """Two new framings, each with what follows it: its own methods, and
    its followers."""
    framing, followed = RedisFraming(), RedisFraming()
    return [(framing, (framing.skim_requests, framing.skim_replies)),
            (followed, followed.followers())]


class RedisSkimmingTests(_FollowingTests, SynchronousTestCase):
    """Through L{RedisFraming.skim_requests} and L{RedisFraming.skim_replies}."""

    def test_interface(self) -> None:
        verifyObject(ISkimming, RedisFraming())

    @_SETTINGS
    @given(_requests, st.lists(_reply, max_size=8), st.data())
    def test_any_split(self, requests, replies, data) -> None:
        """However the streams are cut, every request is counted, and the
        framing rests once each answer is in, and not before: through its
        own methods and through its followers."""
        # Watched commands change the stream: they have tests of their own.
        requests = [r for r, command in requests if command not in redis_skim.WATCHED]
        requests = requests or [_array([b"PING"])]
        answers = [r for r, push in replies if not push]
        answers = (answers * len(requests))[: len(requests)] or [b"+OK\r\n"] * len(requests)
        up, down = b"".join(requests), b"".join(answers)
        up_cut = data.draw(st.lists(st.integers(0, len(up)), max_size=6))
        down_cut = data.draw(st.lists(st.integers(0, len(down)), max_size=6))
        for framing, (follow_requests, follow_replies) in _both_ways():
            self.assertEqual(sum(map(follow_requests, _split(up, up_cut))), len(requests))
            self.assertFalse(framing.resting)
            consumed = 0
            for chunk in _split(down, down_cut):
                follow_replies(chunk)
                consumed += len(chunk)
                self.assertEqual(framing.resting, consumed == len(down))


class RedisFollowerTests(_FollowingTests, SynchronousTestCase):
    """Through the followers the lane calls (C when built)."""

    def requests_of(self, framing: RedisFraming):
        return framing.followers()[0]

    def replies_of(self, framing: RedisFraming):
        return framing.followers()[1]

    def test_c_is_used_when_built(self) -> None:
        follow_requests, follow_replies = RedisFraming().followers()
        self.assertIsInstance(follow_requests.__self__, _c_skimmers().Follower)

    @_SETTINGS
    @given(st.lists(st.tuples(st.booleans(), _streams), max_size=10))
    def test_same_answers_as_the_framing(self, chunks) -> None:
        """On any chunks either way, the followers count, raise and leave
        the framing as L{RedisFraming.skim_requests} and
        L{RedisFraming.skim_replies} do."""
        followed, skimmed = RedisFraming(), RedisFraming()
        ways = [followed.followers(), (skimmed.skim_requests, skimmed.skim_replies)]
        for from_client, chunk in chunks:
            outcomes = []
            for follow_requests, follow_replies in ways:
                try:
                    outcomes.append((follow_requests if from_client else follow_replies)(chunk))
                except FramingError as e:
                    outcomes.append(str(e))
            self.assertEqual(outcomes[0], outcomes[1])
            self.assertEqual((followed.resting, followed.pending, followed._tally.expected),
                             (skimmed.resting, skimmed.pending, skimmed._tally.expected))
            if isinstance(outcomes[0], str):
                return
