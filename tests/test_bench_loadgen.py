"""bench's redis-gen (bench/redis_gen.c): every reply counts, errors
included, and a server that closes the connection fails the run."""
from __future__ import annotations

import json
import shutil

from twisted.internet import protocol
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import SkipTest, TestCase

from bench import redis_gen, redis_load, report
from tests.proxying import listen, proxy_settings, start_proxy
from tests.servers import start_redis


class Closer(protocol.Protocol):
    """Closes the connection at the first bytes it reads."""

    def dataReceived(self, data: bytes) -> None:
        self.transport.loseConnection()


class RedisGenTests(TestCase):
    timeout = 60

    def setUp(self) -> None:
        if shutil.which("cc") is None:
            raise SkipTest("no C compiler (Debian package gcc)")
        redis_gen.build()

    async def gen(self, port: int, **options) -> tuple[bytes, bytes, int]:
        options.setdefault("seconds", 20.0)
        options.setdefault("stall", 5.0)
        argv = redis_gen.argv(port, **options)
        return await getProcessOutputAndValue(argv[0], argv[1:])

    async def test_direct_every_reply_counts(self):
        backend = start_redis(self)
        out, err, code = await self.gen(backend, clients=3, pipeline=8, test="mix", count=2400)
        self.assertEqual(code, 0, err)
        st = json.loads(out)
        self.assertEqual((st["ops"], st["errors"], st["stopped"]), (2400, 0, "count"))
        self.assertGreater(st["ops_per_s"], 0)

    async def test_error_replies_count_as_ops_through_vaurien(self):
        backend = start_redis(self)
        port, _ = start_proxy(self, proxy_settings(backend, "100:error", protocol="redis"))
        out, err, code = await self.gen(port, clients=4, pipeline=32, count=1280)
        self.assertEqual(code, 0, err)
        st = json.loads(out)
        self.assertEqual((st["ops"], st["errors"]), (1280, 1280))

    async def test_a_closed_connection_fails_loudly(self):
        port = listen(self, protocol.Factory.forProtocol(Closer))
        out, err, code = await self.gen(port, clients=2, pipeline=4, count=100)
        self.assertEqual(out, b"")
        self.assertNotEqual(code, 0)
        self.assertIn(b"closed by the server", err)

    def test_run_raises_with_the_message(self):
        port = redis_gen.processes.free_port()  # nothing listens there
        with self.assertRaises(RuntimeError) as caught:
            redis_gen.run(port, clients=1, count=1, seconds=5)
        self.assertIn("Connection refused", str(caught.exception))


class RedisGenRowsTests(TestCase):
    """redis-gen's figures land in the redis bench's rows."""

    def test_redis_gen_rows_take_direct_and_the_dummy_baseline(self) -> None:
        gen = redis_load.gen_metrics()
        for mode, value in (("direct", 100.0), ("vaurien", 60.0), ("vaurien@20:error", 33.0),
                            ("old", 50.0), ("old@20:error", 10.0)):
            redis_load.record_gen(gen, mode, 1, value)
        row = gen[(1, "20:error")]
        self.assertEqual(row["rounds"], {"direct": [100.0], "dummy": [60.0], "vaurien": [33.0],
                                         "old": [10.0]})
        self.assertEqual(gen[(1, "dummy")]["rounds"], {"direct": [100.0], "vaurien": [60.0],
                                                       "old": [50.0]})
        s = report.summarize(row)
        self.assertAlmostEqual(s["checked"], 0.55)
        self.assertTrue(s["met"])
        self.assertIn("yes (0.55)", report.table([row]))
