"""pymemcache through the proxy to a real memcached, with faults on a
share of the calls."""
from __future__ import annotations

from pymemcache.client.base import Client
from pymemcache.exceptions import MemcacheServerError
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.proxying import proxy_settings, start_proxy
from tests.servers import start_memcached


class MemcacheThroughProxyTests(TestCase):
    """Errors land on the chosen calls only; values are never corrupted."""

    def client(self, handlers: str, **options) -> tuple[Client, Client, object]:
        backend = start_memcached(self)
        port, factory = start_proxy(
            self, proxy_settings(backend, handlers, protocol="memcache", seed=11, **options)
        )
        proxied = Client(("127.0.0.1", port), timeout=10, default_noreply=False)
        direct = Client(("127.0.0.1", backend), timeout=10, default_noreply=False)
        self.addCleanup(proxied.close)
        self.addCleanup(direct.close)
        return proxied, direct, factory.proxy

    async def test_calls_with_errors(self):
        proxied, direct, proxy = self.client("30:error")

        def run():
            outcomes = []
            for n in range(300):
                try:
                    if n % 5 == 0:
                        outcomes.append(proxied.set_many({f"k{n}a": b"a" * n, f"k{n}b": b"b"}))
                    elif n % 5 == 1:
                        outcomes.append(proxied.get_many([f"k{n - 1}a", f"k{n - 1}b"]))
                    elif n % 5 == 2:
                        outcomes.append(proxied.incr("counter", 1))
                    elif n % 5 == 3:
                        value, cas = proxied.gets(f"k{n - 3}b")
                        outcomes.append(value if cas is None else proxied.cas(f"k{n - 3}b", b"c", cas))
                    else:
                        outcomes.append(proxied.set(f"quiet{n}", b"q", noreply=True))
                except MemcacheServerError as e:
                    outcomes.append(e)
            return outcomes

        direct.set("counter", b"0")
        outcomes = await deferToThread(run)
        errors = [o for o in outcomes if isinstance(o, MemcacheServerError)]
        self.assertTrue(errors)
        for error in errors:
            self.assertIn("Vaurien injected error", str(error))
        for n, outcome in enumerate(outcomes):
            if n % 5 == 1 and not isinstance(outcome, MemcacheServerError):
                for key, value in outcome.items():
                    self.assertIn(value, (b"a" * (n - 1), b"b"))

        def check_values():
            for n in range(0, 300, 5):
                got = direct.get_many([f"k{n}a", f"k{n}b"])
                for key, value in got.items():
                    self.assertIn(value, (b"a" * n, b"b", b"c"))

        await deferToThread(check_values)
        self.assertGreaterEqual(proxy.calls["error"], len(errors))

    async def test_noreply_and_every_reply_in_order_with_delays(self):
        proxied, direct, _ = self.client("50:delay", handler_options={"delay": {"sleep": 0.0}})

        def run():
            proxied.set_many({f"n{n}": str(n).encode() for n in range(100)}, noreply=True)
            got = proxied.get_many([f"n{n}" for n in range(100)])
            proxied.set("c", b"10")
            return got, proxied.incr("c", 5), proxied.decr("c", 3), proxied.touch("c", 100)

        got, incr, decr, touched = await deferToThread(run)
        self.assertEqual(got, {f"n{n}": str(n).encode() for n in range(100)})
        self.assertEqual((incr, decr, touched), (15, 12, True))
