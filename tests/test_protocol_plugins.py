"""Tests for the protocol plugins L{vaurien.protocols.redis},
L{vaurien.protocols.memcache}, L{vaurien.protocols.mysql} and
L{vaurien.protocols.smtp}, alone and against real servers."""
from __future__ import annotations

import socket
from typing import Any

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.servers import start_memcached, start_redis
from vaurien.interfaces import IFraming, IProtocol
from vaurien.protocols import Protocol
from vaurien.protocols.framing import Frame, FramingError
from vaurien.protocols.memcache import Memcache
from vaurien.protocols.mysql import MySQL
from vaurien.protocols.redis import Redis
from vaurien.protocols.smtp import SMTP


def _command(*args: bytes) -> bytes:
    """A RESP array request."""
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def _fed_by_byte(feed: Any, data: bytes) -> list[Frame]:
    """The frames C{feed} gives when C{data} comes one byte at a time."""
    return [frame for i in range(len(data)) for frame in feed(data[i : i + 1])]


class PluginTests(SynchronousTestCase):
    """Every plugin provides its interfaces and is registered."""

    def test_protocols_provide_IProtocol(self) -> None:
        for cls in (Redis, Memcache, MySQL, SMTP):
            self.assertTrue(verifyObject(IProtocol, cls()))
            self.assertIs(Protocol.get(cls.name), cls)

    def test_framings_provide_IFraming(self) -> None:
        for cls in (Redis, Memcache):
            self.assertTrue(cls.per_call)
            self.assertTrue(verifyObject(IFraming, cls().framing()))


class RedisTests(SynchronousTestCase):
    """L{Redis} and its framing."""

    setup = [
        _command(b"HELLO", b"3"),
        _command(b"AUTH", b"user", b"secret"),
        b"select 1\r\n",
        _command(b"client", b"setname", b"app"),
        _command(b"CLIENT", b"SETINFO", b"LIB-NAME", b"redis-py"),
    ]

    def test_setup_is_not_faultable(self) -> None:
        frames = Redis().framing().feed_requests(b"".join(self.setup))
        self.assertEqual([f.data for f in frames], self.setup)
        self.assertEqual([f.faultable for f in frames], [False] * 5)

    def test_fault_setup_makes_setup_faultable(self) -> None:
        frames = Redis({"fault_setup": True}).framing().feed_requests(b"".join(self.setup))
        self.assertEqual([f.faultable for f in frames], [True] * 5)

    def test_commands_are_faultable(self) -> None:
        requests = [_command(b"SET", b"k", b"v"), b"GET k\r\n", _command(b"CLIENT", b"LIST"),
                    _command(b"SUBSCRIBE", b"ch")]
        frames = Redis().framing().feed_requests(b"".join(requests))
        self.assertEqual([(f.command, f.faultable, f.tunnel) for f in frames],
                         [(b"SET", True, False), (b"GET", True, False),
                          (b"CLIENT", True, False), (b"SUBSCRIBE", True, True)])

    @given(st.lists(st.sampled_from([b"*2\r\n$6\r\nCLIENT\r\n", b"$5\r\nREPLY\r\n", b"CLIENT",
                                     b" REPLY ", b"SKIP", b"\r\n", b"\n", b"*", b"$", b"1"]))
           .map(b"".join))
    @settings(max_examples=200, deadline=None)
    def test_any_request_bytes_frame_or_raise_FramingError(self, data: bytes) -> None:
        framing = Redis().framing()
        try:
            frames = framing.feed_requests(data)
        except FramingError:
            return
        self.assertEqual(b"".join(f.data for f in frames) + framing.unframed()[0], data)

    def test_pipeline_pairs_replies_around_a_push(self) -> None:
        framing = Redis().framing()
        requests = [_command(b"SET", b"k", b"v"), _command(b"GET", b"k"), _command(b"HGETALL", b"h")]
        frames = _fed_by_byte(framing.feed_requests, b"".join(requests))
        self.assertEqual([f.data for f in frames], requests)
        self.assertEqual(framing.pending, 0)
        for frame in frames:
            framing.expect_reply(frame)
        push = b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"
        replies = [b"+OK\r\n", push, b"$1\r\nv\r\n", b"%1\r\n+f\r\n:1\r\n"]
        got = _fed_by_byte(framing.feed_replies, b"".join(replies))
        self.assertEqual([(f.data, f.command) for f in got],
                         [(r, b">" if r is push else None) for r in replies])
        self.assertEqual(framing.pending, 0)

    def test_reply_to_no_request_is_a_framing_error_that_keeps_its_bytes(self) -> None:
        framing = Redis().framing()
        self.assertEqual(framing.feed_replies(b">1\r\n+x\r\n")[0].command, b">")
        framing.feed_requests(b"GET k\r\nGET")
        self.assertRaises(FramingError, framing.feed_replies, b"+OK\r\n$1")
        self.assertEqual(framing.unframed(), (b"GET", b"+OK\r\n$1"))
        self.assertEqual(framing.pending, len(b"GET+OK\r\n$1"))

    def test_client_reply_off_and_skip_silence_requests(self) -> None:
        requests = [b"CLIENT REPLY SKIP\r\n", b"SET a 1\r\n", b"GET a\r\n",
                    _command(b"CLIENT", b"REPLY", b"OFF"), b"GET a\r\n",
                    _command(b"CLIENT", b"REPLY", b"ON"), b"GET a\r\n"]
        frames = Redis().framing().feed_requests(b"".join(requests))
        self.assertEqual([f.expects_reply for f in frames],
                         [False, False, True, False, False, True, True])

    def test_pending_counts_partial_frames(self) -> None:
        framing = Redis().framing()
        framing.feed_requests(b"*2\r\n$3\r\nGET")
        framing.feed_replies(b"$5\r\nab")
        self.assertEqual(framing.pending, 17)

    def test_requests_go_unchanged_and_replies_never_end_with_the_stream(self) -> None:
        framing = Redis().framing()
        [frame] = framing.feed_requests(b"PING\r\n")
        self.assertEqual(framing.rewrite_request(frame), b"PING\r\n")
        self.assertEqual(framing.replies_ended(), [])

    def test_error_response(self) -> None:
        self.assertEqual(Redis().error_response(b"GET k\r\n"), b"-ERR Vaurien injected error\r\n")
        redis = Redis({"error_prefix": "LOADING", "error_message": "Redis is loading\r\nthe dataset"})
        self.assertEqual(redis.error_response(None), b"-LOADING Redis is loading the dataset\r\n")


class MemcacheTests(SynchronousTestCase):
    """L{Memcache} and its framing."""

    def _pair(self, requests: bytes, replies: bytes) -> tuple[list[Frame], list[Frame]]:
        framing = Memcache().framing()
        frames = _fed_by_byte(framing.feed_requests, requests)
        for frame in frames:
            if frame.expects_reply:
                framing.expect_reply(frame)
        got = _fed_by_byte(framing.feed_replies, replies)
        self.assertEqual(framing.pending, 0)
        return frames, got

    def test_get_many_is_one_reply(self) -> None:
        reply = b"VALUE a 0 1\r\n1\r\nVALUE c 5 3\r\nEND\r\nEND\r\n"
        _, got = self._pair(b"get a b c\r\nversion\r\n", reply + b"VERSION 1.6\r\n")
        self.assertEqual([f.data for f in got], [reply, b"VERSION 1.6\r\n"])

    def test_noreply_requests_are_not_paired(self) -> None:
        frames, got = self._pair(b"set k 0 0 1 noreply\r\nx\r\ndelete k noreply\r\nget k\r\n",
                                 b"END\r\n")
        self.assertEqual([(f.command, f.expects_reply) for f in frames],
                         [(b"SET", False), (b"DELETE", False), (b"GET", True)])
        self.assertEqual([f.data for f in got], [b"END\r\n"])

    def test_cas(self) -> None:
        frames, got = self._pair(b"gets k\r\ncas k 0 0 2 7\r\nab\r\n",
                                 b"VALUE k 0 1 7\r\nx\r\nEND\r\nSTORED\r\n")
        self.assertEqual([f.command for f in frames], [b"GETS", b"CAS"])
        self.assertEqual([f.data for f in got], [b"VALUE k 0 1 7\r\nx\r\nEND\r\n", b"STORED\r\n"])

    def test_unframed_gives_back_the_held_bytes(self) -> None:
        framing = Memcache().framing()
        framing.feed_requests(b"get a\r\nset k 0 0 5\r\nab")
        self.assertEqual(framing.unframed(), (b"set k 0 0 5\r\nab", b""))
        self.assertEqual(framing.pending, 15)

    def test_error_response(self) -> None:
        self.assertEqual(Memcache().error_response(b"get k\r\n"),
                         b"SERVER_ERROR Vaurien injected error\r\n")
        self.assertEqual(Memcache({"error_message": "out of memory"}).error_response(None),
                         b"SERVER_ERROR out of memory\r\n")


class KeepAliveTests(SynchronousTestCase):
    """L{MySQL} and L{SMTP} are tcp with keep-alive forced."""

    def test_keep_alive_is_forced(self) -> None:
        for cls in (MySQL, SMTP):
            self.assertNotIn("keep_alive", cls.options)
            self.assertFalse(cls.per_call)
            protocol = cls({"keep_alive": False, "buffer": 10})
            self.assertEqual(protocol.settings, {"keep_alive": True, "buffer": 10})
            protocol.settings = {"keep_alive": False}
            self.assertIs(protocol.settings["keep_alive"], True)
            self.assertEqual(len(protocol.error_response(None)), 1000)


def _exchange(port: int, framing: Any, requests: bytes) -> tuple[bytes, list[Frame], int]:
    """Send C{requests} to a real server and frame its replies until each
    request that expects one is answered.

    @return: the bytes received, the reply frames, the requests answered.
    """
    expected = 0
    for frame in framing.feed_requests(requests):
        if frame.expects_reply:
            framing.expect_reply(frame)
            expected += 1
    received = b""
    replies: list[Frame] = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as server:
        server.sendall(requests)
        while sum(f.command != b">" for f in replies) < expected:
            data = server.recv(65536)
            if not data:
                break
            received += data
            replies += framing.feed_replies(data)
    return received, replies, expected


class LiveRedisTests(SynchronousTestCase):
    """The redis framing cuts a real redis-server's replies exactly."""

    commands = [
        _command(b"SET", b"k", b"v"),
        _command(b"GET", b"k"),
        b"PING\r\n",
        _command(b"GET", b"missing"),
        _command(b"INCR", b"k"),
        _command(b"RPUSH", b"l", b"a", b"b", b"c"),
        _command(b"LRANGE", b"l", b"0", b"-1"),
        _command(b"HSET", b"h", b"f", b"1", b"g", b"2"),
        _command(b"HGETALL", b"h"),
        _command(b"SADD", b"s", b"x"),
        _command(b"SMEMBERS", b"s"),
        _command(b"ZADD", b"z", b"1.5", b"m"),
        _command(b"ZSCORE", b"z", b"m"),
        _command(b"SET", b"big", b"x" * 300_000),
        _command(b"GET", b"big"),
        _command(b"MULTI"),
        _command(b"SET", b"a", b"1"),
        _command(b"INCR", b"a"),
        _command(b"LRANGE", b"l", b"0", b"1"),
        _command(b"EXEC"),
        _command(b"CLIENT", b"REPLY", b"SKIP"),
        _command(b"SET", b"skipped", b"1"),
        _command(b"CLIENT", b"REPLY", b"OFF"),
        _command(b"GET", b"k"),
        _command(b"CLIENT", b"REPLY", b"ON"),
        _command(b"CONFIG", b"GET", b"maxmemory*"),
        _command(b"DEL", b"k", b"l", b"h", b"s", b"z", b"big", b"a", b"skipped"),
    ]

    def setUp(self) -> None:
        self.port = start_redis(self)

    def _check(self, requests: bytes) -> list[Frame]:
        framing = Redis().framing()
        received, replies, expected = _exchange(self.port, framing, requests)
        self.assertEqual(b"".join(f.data for f in replies), received)
        self.assertEqual(sum(f.command != b">" for f in replies), expected)
        self.assertEqual(framing.pending, 0)
        return replies

    def test_resp2_pipeline(self) -> None:
        replies = self._check(b"".join(self.commands))
        self.assertEqual(len(replies), len(self.commands) - 4)
        self.assertEqual(replies[-1].data, b":8\r\n")

    def test_resp3_pipeline_with_pushes(self) -> None:
        tracking = [_command(b"CLIENT", b"TRACKING", b"ON"), _command(b"GET", b"k"),
                    _command(b"SET", b"k", b"w")]
        replies = self._check(b"".join([_command(b"HELLO", b"3"), *tracking, *self.commands]))
        self.assertTrue(replies[0].data.startswith(b"%"))
        self.assertIn(b">", [f.command for f in replies])


class LiveMemcachedTests(SynchronousTestCase):
    """The memcache framing cuts a real memcached's replies exactly."""

    def test_pipeline(self) -> None:
        port = start_memcached(self)
        requests = [
            b"set a 0 0 1\r\n1\r\n", b"set b 3 0 5\r\nhello\r\n", b"set c 0 0 2 noreply\r\nhi\r\n",
            b"get a b c missing\r\n", b"gets a\r\n", b"cas a 0 0 1 1\r\nx\r\n",
            b"cas nope 0 0 1 1\r\nx\r\n", b"incr a 5\r\n", b"decr a 1 noreply\r\n",
            b"touch b 10\r\n", b"gat 0 a b\r\n", b"delete c\r\n", b"stats\r\n",
            b"version\r\n", b"ms m 2\r\nhi\r\n", b"mg m v\r\n", b"mn\r\n",
            b"bogus\r\n", b"flush_all\r\n", b"get a\r\n",
        ]
        framing = Memcache().framing()
        received, replies, expected = _exchange(port, framing, b"".join(requests))
        self.assertEqual(b"".join(f.data for f in replies), received)
        self.assertEqual(len(replies), expected)
        self.assertEqual(expected, len(requests) - 2)
        self.assertTrue(replies[2].data.startswith(b"VALUE a 0 1\r\n1\r\nVALUE b 3 5\r\nhello\r\n"))
        self.assertTrue(replies[-1].data == b"END\r\n")
        self.assertEqual(framing.pending, 0)
