"""Transparency, proven by a differential test: where no fault lands, a
client of a framed protocol (http, redis, memcache) sees through the proxy
exactly what a direct connection gives it: the same bytes in the same
order, and the same end (close, half-close, reset, or still open).

Each test draws a conversation (what the client sends, in which writes and
rounds, and what a scripted server answers and how it ends), plays it once
directly against the scripted server and once through an in-process proxy
in front of it, and compares what the client saw, what the server got,
whether the server saw the client leave, and that the proxy opened no
other backend connection. Three proxies: one framing every request (a
fault that is configured but targets a command no request has), one
skimming (C{100:dummy}, the fast path), and one calling a handler that
changes nothing (C{delay} of 0 s) on every request and reply.

The smallest cases these tests found, and what issue 15 saw, are tests of
their own below.
"""
from __future__ import annotations

from typing import Any

import attr
from hypothesis import HealthCheck, given, settings
from twisted.internet.threads import deferToThread
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import TestCase

from tests.conversations import every_failure, scripts
from tests.http_conversations import http_conversations
from tests.memcache_conversations import memcache_conversations
from tests.peer_scripts import Exchange, Round, Script, assert_alike
from tests.proxying import listen, proxy_settings, start_proxy
from tests.resp_conversations import resp_conversations
from tests.scripted_peers import GET, ScriptedServer, pipelined_answers, run
from tests.test_http_proxy import backend_site
from vaurien.config import ProxySettings, Targets

#: A command, method or path no generated request has.
NOWHERE = Targets(commands=frozenset({b"NO-SUCH-COMMAND"}))

#: The proxies of each protocol: framing every request, skimming, and
#: framing with a handler called on every request that changes nothing.
FRAMED = "framed"
SKIMMING = "skimming"
HANDLED = "handled"

DIFFERENTIAL = settings(
    max_examples=50, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _transparent_settings(backend: int, protocol: str, path: str) -> ProxySettings:
    """A proxy in front of C{backend} where no fault lands.

    @param path: L{FRAMED}: C{100:delay}, but targeting no request, so
        that every request is framed and goes to C{dummy}; L{SKIMMING}:
        C{100:dummy}; L{HANDLED}: C{100:delay} with no delay, so that
        every request and reply goes through a handler call.
    """
    if path == SKIMMING:
        return proxy_settings(backend, "100:dummy", protocol=protocol, seed=1)
    sleep = 0.0 if path == HANDLED else 0.05
    proxied = proxy_settings(backend, "100:delay", protocol=protocol, seed=1,
                             handler_options={"delay": {"sleep": sleep}})
    if path == HANDLED:
        return proxied
    return attr.evolve(proxied, handlers=tuple(
        attr.evolve(entry, targets=NOWHERE) for entry in proxied.handlers))


def transparent_proxy(test: TestCase, backend: int, protocol: str, path: str) -> int:
    """Run a proxy where no fault lands (L{_transparent_settings}); its port."""
    port, _ = start_proxy(test, _transparent_settings(backend, protocol, path))
    return port


class DifferentialTests(TestCase):
    """Direct and proxied runs of drawn conversations are alike."""

    #: Shrinking a failure replays many conversations, some waiting their
    #: bounded time for what does not come: more than trial's default.
    timeout = 600

    def differential(self, protocol: str, path: str, conversations: Any):
        server = ScriptedServer()
        self.addCleanup(server.stop)
        port = transparent_proxy(self, server.port, protocol, path)

        @DIFFERENTIAL
        @given(scripts(conversations))
        def alike(script):
            direct = run(script, server, server.port)
            proxied = run(script, server, port, reference=direct)
            assert_alike(script, direct, proxied)

        return deferToThread(every_failure, alike)

    def test_http_framed_as_direct(self):
        return self.differential("http", FRAMED, http_conversations())

    def test_http_skimmed_as_direct(self):
        return self.differential("http", SKIMMING, http_conversations())

    def test_redis_framed_as_direct(self):
        return self.differential("redis", FRAMED, resp_conversations())

    def test_redis_skimmed_as_direct(self):
        return self.differential("redis", SKIMMING, resp_conversations())

    def test_memcache_framed_as_direct(self):
        return self.differential("memcache", FRAMED, memcache_conversations())

    def test_memcache_skimmed_as_direct(self):
        return self.differential("memcache", SKIMMING, memcache_conversations())

    def test_http_through_handler_calls_as_direct(self):
        return self.differential("http", HANDLED, http_conversations())

    def test_redis_through_handler_calls_as_direct(self):
        return self.differential("redis", HANDLED, resp_conversations())

    def test_memcache_through_handler_calls_as_direct(self):
        return self.differential("memcache", HANDLED, memcache_conversations())


class SeenInTheIssueTests(TestCase):
    """What issue 15 saw, each as its own regression test."""

    def setUp(self):
        self.server = ScriptedServer()
        self.addCleanup(self.server.stop)

    def alike(self, handlers: str, script: Script):
        port, _ = start_proxy(self, proxy_settings(
            self.server.port, handlers, protocol="http", seed=1,
            handler_options={"delay": {"sleep": 0.05}}))

        def both():
            direct = run(script, self.server, self.server.port)
            proxied = run(script, self.server, port, reference=direct)
            assert_alike(script, direct, proxied)

        return deferToThread(both)

    def test_answer_ended_by_close_under_a_rare_delay(self):
        """C{1:delay}, an HTTP/1.1 answer with no length and C{Connection:
        close}, ended by the server closing: the client gets it and sees
        the close at once."""
        answer = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nthe body, until the close"
        script = Script((Round((Exchange(GET % 1, answer, end="close"),)),))
        return self.alike("1:delay", script)

    def test_close_after_a_length_under_a_rare_delay(self):
        """C{1:delay}, an answer with C{Content-Length} and C{Connection:
        close}: the client sees the close at once, not at the idle
        timeout."""
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody"
        script = Script((Round((Exchange(GET % 1, answer, end="close"),)),))
        return self.alike("1:delay", script)

    def test_three_pipelined_gets_under_delay(self):
        """Three GETs in one write, every call delayed: three answers, in
        order."""
        answers = [b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n%d" % n for n in range(3)]
        script = Script((Round(tuple(Exchange(GET % n, answers[n]) for n in range(3))),))
        return self.alike("100:delay", script)

    def test_three_pipelined_gets_then_half_close_under_delay(self):
        """The same, the client shutting its side right after the three
        requests (as C{nc} does): three answers, then the end."""
        answers = [b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n%d" % n for n in range(3)]
        script = Script((Round(tuple(Exchange(GET % n, answers[n]) for n in range(3))),),
                        half_close=True)
        return self.alike("100:delay", script)

    async def test_three_pipelined_gets_to_twisted_web_under_delay(self):
        """The same against twisted.web."""
        backend = listen(self, backend_site())
        port, _ = start_proxy(self, proxy_settings(
            backend, "100:delay", protocol="http", seed=1,
            handler_options={"delay": {"sleep": 0.05}}))
        direct = await deferToThread(pipelined_answers, backend, 3)
        proxied = await deferToThread(pipelined_answers, port, 3)
        self.assertEqual(direct[1], 3)
        self.assertEqual(proxied, direct)


def _one(request: bytes, reply: bytes, end: str | None = None, **script: Any) -> Script:
    """A script of one exchange."""
    return Script((Round((Exchange(request, reply, end=end),)),), **script)


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
REDIS_GET = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"


class SmallestCasesTests(TestCase):
    """The smallest conversations the differential tests found to differ,
    each on its own, direct against proxied."""

    def alike(self, protocol: str, path: str, script: Script, times: int = 1):
        """Direct and proxied runs of C{script} are alike, C{times} times
        over (a race in the proxy shows only now and then)."""
        return self.alike_through(
            lambda backend: _transparent_settings(backend, protocol, path), script, times)

    def alike_through(self, settings: Any, script: Script, times: int = 1):
        """The same through a proxy of C{settings(backend_port)}."""
        server = ScriptedServer()
        self.addCleanup(server.stop)
        port, _ = start_proxy(self, settings(server.port))

        def both():
            for _ in range(times):
                direct = run(script, server, server.port)
                assert_alike(script, direct, run(script, server, port, reference=direct))

        return deferToThread(both)

    def test_http_reset_after_an_answer_framed(self):
        return self.alike("http", FRAMED, _one(GET % 1, OK, "reset"))

    def test_http_reset_after_an_answer_skimming(self):
        return self.alike("http", SKIMMING, _one(GET % 1, OK, "reset"))

    def test_redis_reset_before_a_reply_framed(self):
        return self.alike("redis", FRAMED, _one(REDIS_GET, b"", "reset"))

    def test_memcache_reset_after_a_reply_skimming(self):
        return self.alike("memcache", SKIMMING, _one(b"get k\r\n", b"END\r\n", "reset"))

    def test_memcache_long_reply_cut_short_by_a_half_close_framed(self):
        """More than the client's write buffer takes, cut short, then the
        server's half-close: the client gets every byte, then the end of
        stream (Twisted resumed the paused producer instead of ending it)."""
        reply = b"VALUE k 0 70000\r\n" + b"\x00" * 65520
        return self.alike("memcache", FRAMED, _one(b"get k\r\n", reply, "half_close"))

    def test_tcp_long_answer_then_a_half_close(self):
        return self.alike("tcp", FRAMED, _one(b"go", b"x" * 300_000, "half_close"))

    def test_redis_reply_cut_short_by_a_close_framed(self):
        """The server closes in the middle of a reply: the client gets the
        part that was sent, then the close."""
        return self.alike("redis", FRAMED, _one(REDIS_GET, b"$5\r\nhel", "close"))

    def test_http_answer_cut_short_by_a_close_framed(self):
        return self.alike("http", FRAMED, _one(GET % 1, OK[:-1], "close"))

    def test_memcache_reply_cut_short_by_a_close_framed(self):
        return self.alike("memcache", FRAMED, _one(b"get k\r\n", b"VALUE k 0 2\r\no", "close"))

    def test_redis_half_close_by_the_server_framed(self):
        """The server shuts its side after a reply and goes on reading: the
        client's next command still reaches it."""
        script = Script((Round((Exchange(REDIS_GET, b"+OK\r\n", end="half_close"),)),
                         Round((Exchange(REDIS_GET, b""),))))
        return self.alike("redis", FRAMED, script)

    def test_http_half_close_by_the_server_framed(self):
        answer = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the close"
        script = Script((Round((Exchange(GET % 1, answer, end="half_close"),)),
                         Round((Exchange(b"more bytes", b""),))))
        return self.alike("http", FRAMED, script)

    def test_http_unknown_version_then_more_bytes_framed(self):
        """After a request line of HTTP/2.0 (the rest passes as tcp), what
        the client sends next still reaches the server."""
        script = Script((
            Round((Exchange(b"GET / HTTP/2.0\r\nHost: example.test\r\n\r\n",
                            b"HTTP/1.1 505 Not Supported\r\nContent-Length: 0\r\n\r\n"),)),
            Round((Exchange(b"!", b"\x00"),)),
        ))
        return self.alike("http", FRAMED, script)

    async def fall_back_logged_once(self, path: str):
        """An unknown HTTP version passes as tcp with one log line."""
        server = ScriptedServer()
        self.addCleanup(server.stop)
        port, factory = start_proxy(self, _transparent_settings(server.port, "http", path))
        script = Script((
            Round((Exchange(b"GET / HTTP/2.0\r\nHost: example.test\r\n\r\n", b"\x00\x01"),)),
            Round((Exchange(b"\x02", b"\x03"),)),
        ))
        direct = await deferToThread(run, script, server, server.port)
        with capturedLogs() as events:
            proxied = await deferToThread(run, script, server, port, direct)
        assert_alike(script, direct, proxied)
        lines = [formatEvent(event) for event in events if "tcp" in formatEvent(event)]
        self.assertEqual((factory.proxy.fallbacks, len(lines)), (1, 1), lines)

    def test_http_unknown_version_logged_once_framed(self):
        return self.fall_back_logged_once(FRAMED)

    def test_http_unknown_version_logged_once_skimming(self):
        return self.fall_back_logged_once(SKIMMING)

    def test_http_garbage_line_framed(self):
        """A line of garbage is passed on at once, as a direct server gets
        it (and answers it), not held for a whole head."""
        return self.alike("http", FRAMED, _one(b"!\r\n", b"\x00"))

    def test_redis_push_after_a_reply_stays_after_it_framed(self):
        """HELLO 3's reply, then a push and the next reply, in one write:
        the push reaches the client after the reply before it."""
        push = b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"
        reply = b"%1\r\n$5\r\nproto\r\n:3\r\n" + push + b"$-1\r\n"
        return self.alike("redis", FRAMED, _one(b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n" + REDIS_GET,
                                                reply))

    def test_redis_pipeline_then_half_close_framed(self):
        """Three commands in one write, then the client shuts its side:
        three replies, then the end (a race: some runs lose replies)."""
        script = Script((Round(tuple(Exchange(REDIS_GET, b"$1\r\n%d\r\n" % n)
                                     for n in range(3))),), half_close=True)
        return self.alike("redis", FRAMED, script, times=50)

    def test_memcache_pipeline_then_half_close_framed(self):
        script = Script((Round(tuple(Exchange(b"get k\r\n", b"END\r\n") for n in range(3))),),
                        half_close=True)
        return self.alike("memcache", FRAMED, script, times=50)

    def test_redis_pipeline_then_half_close_skimming(self):
        script = Script((Round((
            Exchange(REDIS_GET, b"$1\r\n0\r\n"),
            Exchange(b"*1\r\n$7\r\nMONITOR\r\n", b"+OK\r\n"),
        )),), half_close=True)
        return self.alike("redis", SKIMMING, script, times=50)

    def test_redis_one_command_then_half_close_framed(self):
        """One command, then the client shuts its side; the server writes
        its reply in two pieces: the reply, then the end."""
        script = Script((Round((Exchange(REDIS_GET, b"+\r\n", cuts=(1,)),)),), half_close=True)
        return self.alike("redis", FRAMED, script, times=50)

    def test_memcache_one_command_then_half_close_framed(self):
        script = Script((Round((Exchange(b"version\r\n", b"VERSION 1.6.21\r\n", cuts=(3,)),)),),
                        half_close=True)
        return self.alike("memcache", FRAMED, script, times=50)

    def test_memcache_noreply_then_half_close_framed(self):
        """A command that gets no reply, then the client shuts its side:
        the command still reaches the server."""
        script = _one(b"incr k 5 noreply\r\n", b"", half_close=True)
        return self.alike("memcache", FRAMED, script, times=50)

    def test_http_server_speaks_first_framed(self):
        """A backend that sends bytes before any request (not HTTP: the
        rest passes as tcp): the client gets them."""
        return self.alike("http", FRAMED, _one(b"", b"220 hello\r\n"))

    # Not held to a direct connection, on purpose: a client that ends its
    # stream having sent nothing while the backend connection is still
    # being made is taken as gone, and the connect is given up at once (a
    # FIN cannot tell a half-close from a close; a flood of clients that
    # connect and close must not hold a pending connect each). So a
    # backend that speaks first (a banner) does not reach a client that
    # half-closed at once: tests/test_bounded_waits.py holds that side.

    def test_http_server_closes_first_then_client_sends_framed(self):
        """A backend that shuts its side at once, and goes on reading: what
        the client sends still reaches it."""
        script = Script((Round((Exchange(b"", b"", end="close"), Exchange(b"bytes", b""))),),
                        half_close=True)
        return self.alike("http", FRAMED, script, times=10)

    def test_redis_subscribe_through_the_seed_handler(self):
        """The seed's Dummy (by dotted path, keep_alive, in a worker
        thread): a SUBSCRIBE whose confirmation and first message come in
        two writes, then the server closes: the client gets both."""
        confirmation = b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
        message = b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"
        script = Script((Round((Exchange(
            b"*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n", confirmation + message,
            cuts=(len(confirmation) + 5,), end="close"),)),))
        return self.alike_through(lambda backend: proxy_settings(
            backend, "100:tests.seed_example.Dummy", protocol="redis",
            handler_options={"dummy": {"keep_alive": True}}), script, times=400)
