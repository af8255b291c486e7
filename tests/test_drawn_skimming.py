"""Faults that cost only the calls they land on: with C{--handler 20:error}
on redis (and http, with its C follower), the calls drawn to C{dummy} are skimmed (in the lane where the
fast paths are on) and only the chunks holding a drawn fault are cut, with
the same draws, in the same order, as when every request is cut."""
from __future__ import annotations

import socket
import time

import redis
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.accelerators import fast_paths_on, in_use
from tests.proxying import WAIT, listen, start_proxy
from tests.test_http_proxy import RawHTTPClient, backend_site
from tests.servers import start_redis
from vaurien.config import Settings, VaurienOptions

#: Requests per run: enough for a share near its setting.
COUNT = 400


def parse(*argv: str) -> Settings:
    options = VaurienOptions()
    options.parseOptions(list(argv))
    return options.settings


class DrawnSkimmingTests(TestCase):
    def setUp(self):
        self.redis_port = start_redis(self)

    def start(self, *extra: str):
        """A redis proxy with C{--handler 20:error --seed 7}, as typed."""
        settings = parse(
            "--proxy", "127.0.0.1:0", "--backend", f"127.0.0.1:{self.redis_port}",
            "--protocol", "redis", "--handler", "20:error", "--seed", "7", *extra,
        )
        port, factory = start_proxy(self, settings.proxies[0])
        return port, factory.proxy

    def client(self, port: int) -> redis.Redis:
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=WAIT,
                             single_connection_client=True)
        self.addCleanup(client.close)
        return client

    @staticmethod
    def one_by_one(client: redis.Redis, key: str = "n") -> list[int | None]:
        """INCR COUNT times: the value each got, C{None} for an error."""
        answers = []
        for _ in range(COUNT):
            try:
                answers.append(client.incr(key))
            except redis.ResponseError:
                answers.append(None)
        return answers

    @staticmethod
    def pipelined(client: redis.Redis, key: str, depth: int) -> list[int | None]:
        """The same, C{depth} requests a write."""
        answers = []
        for _ in range(COUNT // depth):
            pipe = client.pipeline(transaction=False)
            for _ in range(depth):
                pipe.incr(key)
            answers += [None if isinstance(a, redis.ResponseError) else a
                        for a in pipe.execute(raise_on_error=False)]
        return answers

    def unread(self, port: int, key: str) -> list[int | None]:
        """INCR COUNT times, a write each, a little apart, reading no reply
        until all are sent: chunks come while replies are owed."""
        sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.addCleanup(sock.close)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request = f"*2\r\n$4\r\nINCR\r\n${len(key)}\r\n{key}\r\n".encode()
        for index in range(COUNT):
            sock.sendall(request)
            if index % 4 == 0:
                time.sleep(0.0005)
        lines = b""
        while lines.count(b"\r\n") < COUNT:
            lines += sock.recv(65536)
        return [int(line[1:]) if line.startswith(b":") else None
                for line in lines.split(b"\r\n")[:COUNT]]

    def faulted(self, answers: list[int | None]) -> list[int]:
        """Where the errors landed; checks that every other call went
        through, in order, to the backend."""
        passed = [a for a in answers if a is not None]
        self.assertEqual(passed, list(range(1, len(passed) + 1)))
        return [i for i, a in enumerate(answers) if a is None]

    async def test_a_fifth_gets_errors_the_rest_passes(self):
        port, proxy = self.start()
        answers = await deferToThread(self.one_by_one, await deferToThread(self.client, port))
        errors = self.faulted(answers)
        self.assertTrue(0.12 * COUNT < len(errors) < 0.28 * COUNT, len(errors))
        self.assertEqual(proxy.calls["error"], len(errors))
        self.assertGreaterEqual(proxy.calls["dummy"], COUNT - len(errors))

    async def test_skimmed_in_the_lane_between_faults(self):
        fast_paths_on()
        port, proxy = self.start()
        client = await deferToThread(self.client, port)
        seen_in_lane = []

        def calls() -> None:
            for _ in range(COUNT // 4):
                try:
                    client.incr("n")
                except redis.ResponseError:
                    pass
                seen_in_lane.append(len(proxy.lane))

        await deferToThread(calls)
        self.assertGreater(sum(seen_in_lane), COUNT // 8)

    async def test_the_same_draws_however_the_requests_come(self):
        """One seed, one sequence of draws: calls one by one through the
        lane, one by one with the fast paths off, pipelined (chunks cut
        whole), and sent while replies are owed (a chunk with a fault
        held until they are in) fault the same requests."""
        positions = []
        for key, flags, depth in (("a", (), 1), ("b", ("--no-fast-path",), 1), ("c", (), 8)):
            port, proxy = self.start(*flags)
            client = await deferToThread(self.client, port)
            if depth == 1:
                answers = await deferToThread(self.one_by_one, client, key)
            else:
                answers = await deferToThread(self.pipelined, client, key, depth)
            positions.append(self.faulted(answers))
        port, proxy = self.start()
        positions.append(self.faulted(await deferToThread(self.unread, port, "d")))
        self.assertEqual(positions[0], positions[1])
        self.assertEqual(positions[0], positions[2])
        self.assertEqual(positions[0], positions[3])


class DrawnSkimmingHttpTests(TestCase):
    def setUp(self):
        in_use("vaurien.protocols.http._skim")
        self.backend = listen(self, backend_site())

    def start(self, *extra: str) -> int:
        settings = parse(
            "--proxy", "127.0.0.1:0", "--backend", f"127.0.0.1:{self.backend}",
            "--protocol", "http", "--handler", "20:error", "--seed", "7", *extra,
        )
        return start_proxy(self, settings.proxies[0])[0]

    def exchanges(self, port: int, paths: list[str]) -> list[tuple[int, bytes]]:
        client = RawHTTPClient(port)
        self.addCleanup(client.close)
        return [client.request("GET", path) for path in paths]

    async def test_a_fifth_gets_errors_the_same_however_it_runs(self):
        """On one keep-alive connection: the requests with no fault get
        what a direct connection gets; the same ones get the error with
        the fast paths on and off."""
        paths = [f"/page/{n}" for n in range(COUNT // 2)]
        direct = await deferToThread(self.exchanges, self.backend, paths)
        faulted = []
        for flags in ((), ("--no-fast-path",)):
            answers = await deferToThread(self.exchanges, self.start(*flags), paths)
            errors = [i for i, (status, _) in enumerate(answers) if status >= 500]
            self.assertEqual([a for i, a in enumerate(answers) if i not in errors],
                             [d for i, d in enumerate(direct) if i not in errors])
            faulted.append(errors)
        self.assertTrue(0.12 * len(paths) < len(faulted[0]) < 0.28 * len(paths), faulted[0])
        self.assertEqual(faulted[0], faulted[1])
