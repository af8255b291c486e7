"""run_proxy: a proxy in the test's reactor on a free loopback port,
options checked as on the command line, gone after the test."""
from __future__ import annotations

from twisted.internet.error import ConnectionRefusedError
from twisted.python import usage
from twisted.trial.unittest import TestCase

from tests.proxying import Collector, connect, echo_backend
from tests.test_service import echoed
from vaurien.testing import command_line
from vaurien.testing.trial import run_proxy


class Cleanups:
    """Keeps the cleanups a test case would run."""

    def __init__(self) -> None:
        self.calls: list = []

    def addCleanup(self, function, *args, **kwargs) -> None:
        self.calls.append(lambda: function(*args, **kwargs))


class RunProxyTests(TestCase):
    async def test_proxies_to_the_backend_and_counts(self):
        proxy = run_proxy(self, f"127.0.0.1:{echo_backend(self)}", timeout=5)
        self.assertEqual((proxy.host, proxy.proxy.settings.timeout), ("127.0.0.1", 5.0))
        self.assertEqual(await echoed(proxy.port, b"in process"), b"in process")
        self.assertEqual(proxy.control.stats()["calls"], {"dummy": 1})

    def test_handler_options(self):
        proxy = run_proxy(self, "127.0.0.1:9", handler="30:delay", handler_delay_sleep=0.25)
        delay = next(e for e in proxy.proxy.settings.handlers if e.name == "delay")
        self.assertEqual((delay.percent, delay.options["sleep"]), (30, 0.25))
        self.assertEqual(proxy.control.behavior(), "30:delay,70:dummy")

    def test_wrong_option_named(self):
        error = self.assertRaises(usage.UsageError, run_proxy, self, "127.0.0.1:9", timeout="soon")
        self.assertIn("--timeout 'soon'", str(error))

    async def test_stops_with_the_test(self):
        cleanups = Cleanups()
        proxy = run_proxy(cleanups, "127.0.0.1:9")
        for cleanup in reversed(cleanups.calls):
            await cleanup()
        with self.assertRaises(ConnectionRefusedError):
            await connect(proxy.port, Collector())


class CommandLineTests(TestCase):
    def test_flags_values_and_left_out(self):
        self.assertEqual(
            command_line({"stay_connected": True, "handler_delay_sleep": 2, "seed": None, "demo": False}),
            ["--stay-connected", "--handler-delay-sleep", "2"],
        )
