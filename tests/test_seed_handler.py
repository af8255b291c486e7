"""The seed page's full C{Dummy} example, loaded by dotted path, on every
protocol: with C{keep_alive} true (one connection, many requests) and
false (one exchange, then the connection ends, as the seed wrote it),
against backends that keep connections alive and backends that close.

Each client gets exactly what a direct connection to the same backend
gives it."""
from __future__ import annotations

import socket

import attr
from twisted.internet import protocol
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.proxying import listen, proxy_settings, read_reply, start_proxy
from tests.servers import start_memcached, start_redis
from vaurien.config import Targets
from vaurien.handlers.base import NonBlockingHandler

SEED = "100:tests.seed_example.Dummy"

HTTP_BODY = b"seed body\n"
HTTP_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(HTTP_BODY), HTTP_BODY)
CLOSING_ANSWER = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + HTTP_BODY


class KeepAliveHTTP(protocol.Protocol):
    """Answers each request head with a fixed answer; keeps the connection."""

    answer = HTTP_ANSWER

    def connectionMade(self) -> None:
        self.buffer = b""

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            _, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            self.answered()

    def answered(self) -> None:
        self.transport.write(self.answer)


class ClosingHTTP(KeepAliveHTTP):
    """Answers with no length, the end of the answer told by closing."""

    answer = CLOSING_ANSWER

    def answered(self) -> None:
        self.transport.write(self.answer)
        self.transport.loseConnection()


REQUESTS = {
    "http": [b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n", b"GET /b HTTP/1.1\r\nHost: t\r\n\r\n"],
    "redis": [b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n", b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
              b"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n", b"PING\r\n"],
    "memcache": [b"set k 0 0 5\r\nvalue\r\n", b"get k\r\n", b"set q 0 0 1 noreply\r\nx\r\n",
                 b"get q\r\n", b"mn\r\n"],
}


def exchange(port: int, requests: list[bytes], expected: list[bytes],
             one_connection: bool) -> list[tuple[bytes, bool]]:
    """Send each request, read as many bytes as its expected answer; with
    C{one_connection} false, one connection per request, and whether the
    proxy then ended it.

    @return: for each request, the bytes read and whether the connection
        was ended by the other side right after them.
    """
    seen = []
    sock = None
    for request, answer in zip(requests, expected):
        if sock is None:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(request)
        data = read_reply(sock, answer)
        ended = False
        if not one_connection:
            ended = sock.recv(1) == b""
            sock.close()
            sock = None
        seen.append((data, ended))
    if sock is not None:
        sock.close()
    return seen


def direct_answers(port: int, requests: list[bytes]) -> list[bytes]:
    """What a direct connection answers to each request in turn, read
    until the backend has been quiet for a moment."""
    answers = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for request in requests:
            sock.sendall(request)
            sock.settimeout(0.3 if b"noreply" in request else 10)
            data = b""
            try:
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                    sock.settimeout(0.3)
            except TimeoutError:
                pass
            answers.append(data)
    return answers


class SeedDummyTests(TestCase):
    """The seed's C{Dummy} runs unchanged on tcp, http, redis, memcache."""

    def backend(self, protocol_name: str) -> int:
        if protocol_name == "redis":
            return start_redis(self)
        if protocol_name == "memcache":
            return start_memcached(self)
        return listen(self, protocol.Factory.forProtocol(KeepAliveHTTP))

    async def run_seed(self, protocol_name: str, keep_alive: bool) -> None:
        backend = self.backend(protocol_name)
        requests = REQUESTS[protocol_name]
        port, factory = start_proxy(self, proxy_settings(
            backend, SEED, protocol=protocol_name,
            handler_options={"dummy": {"keep_alive": keep_alive}},
        ))
        expected = await deferToThread(direct_answers, backend, requests)
        if protocol_name == "redis":
            expected[2] = b":2\r\n"  # the direct run counted once already
        seen = await deferToThread(exchange, port, requests, expected, keep_alive)
        self.assertEqual([data for data, _ in seen], expected)
        # keep_alive false: the seed returns False after each exchange.
        self.assertEqual([ended for _, ended in seen], [not keep_alive] * len(requests))
        self.assertEqual(factory.proxy.calls["dummy"], len(requests))

    def test_http_keep_alive(self):
        return self.run_seed("http", True)

    def test_http_one_exchange_per_connection(self):
        return self.run_seed("http", False)

    def test_redis_keep_alive(self):
        return self.run_seed("redis", True)

    def test_redis_one_exchange_per_connection(self):
        return self.run_seed("redis", False)

    def test_memcache_keep_alive(self):
        return self.run_seed("memcache", True)

    def test_memcache_one_exchange_per_connection(self):
        return self.run_seed("memcache", False)

    async def test_http_backend_that_closes(self):
        """An answer whose end is the backend's close reaches the client,
        and so does the close, with C{keep_alive} either way."""
        backend = listen(self, protocol.Factory.forProtocol(ClosingHTTP))
        for keep_alive in (True, False):
            port, _ = start_proxy(self, proxy_settings(
                backend, SEED, protocol="http",
                handler_options={"dummy": {"keep_alive": keep_alive}},
            ))
            seen = await deferToThread(
                exchange, port, REQUESTS["http"][:1], [CLOSING_ANSWER], False
            )
            self.assertEqual(seen, [(CLOSING_ANSWER, True)], keep_alive)

    async def test_redis_quit_closes_as_direct(self):
        """C{QUIT}: the server answers and closes; the client sees both."""
        backend = start_redis(self)
        port, _ = start_proxy(self, proxy_settings(
            backend, SEED, protocol="redis",
            handler_options={"dummy": {"keep_alive": True}},
        ))
        seen = await deferToThread(exchange, port, [b"QUIT\r\n"], [b"+OK\r\n"], False)
        self.assertEqual(seen, [(b"+OK\r\n", True)])

    async def test_tcp_keep_alive(self):
        """On tcp a call is what arrived; with keep_alive the connection
        carries many exchanges."""
        backend = start_redis(self)
        port, _ = start_proxy(self, proxy_settings(
            backend, SEED, handler_options={"dummy": {"keep_alive": True}},
        ))
        requests = [b"PING\r\n", b"ECHO hello\r\n"]
        seen = await deferToThread(exchange, port, requests, [b"+PONG\r\n", b"$5\r\nhello\r\n"], True)
        self.assertEqual(seen, [(b"+PONG\r\n", False), (b"$5\r\nhello\r\n", False)])

    async def test_tcp_backend_that_closes(self):
        """On tcp without keep_alive the seed reads the answer until the
        backend closes, then ends the connection."""
        backend = listen(self, protocol.Factory.forProtocol(ClosingHTTP))
        port, _ = start_proxy(self, proxy_settings(backend, SEED))
        seen = await deferToThread(
            exchange, port, REQUESTS["http"][:1], [CLOSING_ANSWER], False
        )
        self.assertEqual(seen, [(CLOSING_ANSWER, True)])


class AnswersAndEnds(NonBlockingHandler):
    """Answers the request itself, then ends the connection."""

    name = "answers-and-ends"

    def __call__(self, client_sock, backend_sock, to_backend):
        client_sock.recv(1024)
        client_sock.sendall(b"+ENDED\r\n")
        return False


class ReturningFalseTests(TestCase):
    """A handler returning False closes the client once its answer is
    delivered, after the answers owed before it, not at once."""

    async def test_answers_before_it_are_delivered_first(self):
        backend = start_redis(self)
        settings = proxy_settings(backend, "100:tests.test_seed_handler.AnswersAndEnds",
                                  protocol="redis")
        (ends,) = settings.handlers  # PING only: ECHO passes to the backend
        settings = attr.evolve(settings, handlers=(
            attr.evolve(ends, targets=Targets(commands=frozenset({b"PING"}))),))
        port, _ = start_proxy(self, settings)
        requests = [b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n", b"PING\r\n", b"PING\r\n"]
        answers = [b"$2\r\nhi\r\n+ENDED\r\n"]

        def talk():
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(b"".join(requests))
                data = read_reply(sock, answers[0])
                return data, sock.recv(10)

        self.assertEqual(await deferToThread(talk), (answers[0], b""))
