"""Changing a running proxy through its control surface."""
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.proxying import proxy_settings
from vaurien.errors import ConfigError
from vaurien.interfaces import IProxyControl
from vaurien.proxy import Proxy


def control(handlers: str = "100:dummy"):
    clock = Clock()
    proxy = Proxy(proxy_settings(1, handlers), MemoryReactorClock(), clock)
    return proxy, proxy.control, clock


class LiveControlTests(SynchronousTestCase):
    def test_provides_the_interface(self):
        verifyObject(IProxyControl, control()[1])

    def test_configured_behavior(self):
        self.assertEqual(control()[1].behavior(), "dummy")
        self.assertEqual(control("20:delay,5:error")[1].behavior(), "20:delay,5:error,75:dummy")

    def test_set_one_handler_with_options(self):
        proxy, live, _ = control()
        live.set_behavior("delay", {"delay": {"sleep": 2}})
        self.assertEqual(live.behavior(), "delay")
        slot = proxy.choose()
        self.assertEqual((slot.name, slot.handler.option("sleep")), ("delay", 2.0))

    def test_set_shares(self):
        _, live, _ = control()
        live.set_behavior("20:delay,5:error")
        self.assertEqual(live.behavior(), "20:delay,5:error,75:dummy")

    def test_unknown_and_dotted_names_are_refused(self):
        _, live, _ = control()
        for spec in ("nosuch", "tests.seed_example.Dummy", "20:os.system"):
            error = self.assertRaises(ConfigError, live.set_behavior, spec)
            self.assertIn("registered handlers", str(error))
        self.assertEqual(live.behavior(), "dummy")

    def test_wrong_option_type_is_refused(self):
        _, live, _ = control()
        error = self.assertRaises(ConfigError, live.set_behavior, "delay", {"delay": {"sleep": "abc"}})
        self.assertIn("delay.sleep", str(error))
        error = self.assertRaises(ConfigError, live.set_behavior, "delay", {"delay": {"nope": 1}})
        self.assertIn("nope", str(error))

    def test_ttl_returns_to_the_configured_handlers(self):
        _, live, clock = control("10:error")
        live.set_behavior("hang", ttl=5)
        clock.advance(4.9)
        self.assertEqual(live.behavior(), "hang")
        clock.advance(0.2)
        self.assertEqual(live.behavior(), "10:error,90:dummy")

    def test_a_new_behavior_cancels_the_ttl(self):
        _, live, clock = control()
        live.set_behavior("hang", ttl=5)
        live.set_behavior("delay")
        clock.advance(10)
        self.assertEqual(live.behavior(), "delay")

    def test_bad_ttl_is_refused(self):
        for ttl in (0, -1, "soon"):
            self.assertRaises(ConfigError, control()[1].set_behavior, "delay", ttl=ttl)

    def test_backend(self):
        proxy, live, _ = control()
        live.set_backend("127.0.0.1:6380")
        self.assertEqual(live.backend(), "tcp:host=127.0.0.1:port=6380")
        self.assertRaises(ConfigError, live.set_backend, "not an address")

    def test_stats(self):
        proxy, live, _ = control("10:error")
        proxy.choose()
        stats = live.stats()
        self.assertEqual(sum(stats["calls"].values()), 1)
        self.assertEqual(stats["connections"], {"open": 0, "total": 0})
        self.assertEqual(set(stats), {
            "behavior", "backend", "protocol", "calls", "connections", "bytes",
            "backend_failures", "fallbacks", "stuck_threads",
        })
