"""The control API takes back what it shows: proxies configured from an INI
file (a C{callable} handler, a dotted path, options), driven over loopback
HTTP by both clients and C{vaurienctl}."""
from __future__ import annotations

import io
import sys
import textwrap
from contextlib import redirect_stdout
from urllib.parse import urlsplit

from twisted.internet import task
from twisted.internet.testing import MemoryReactorClock
from twisted.internet.threads import deferToThread

from tests.control_site import HTTP, serve
from tests.test_control_api import ControlAPITestCase
from tests.test_original_client import OriginalClient
from vaurien.client import Client
from vaurien.config import VaurienOptions
from vaurien.control.channel import obey, reset_command
from vaurien.control.ctl import main
from vaurien.handlers.delay import Delay
from vaurien.proxy import Proxy

#: Two proxies: C{first} with a callable handler, a dotted path and a
#: built-in with options from the file and the command line; C{second}
#: with targets.
INI = """
[vaurien]
backend = 127.0.0.1:9
[proxy:first]
proxy = 127.0.0.1:0
handler = 20:foobar,10:tests.seed_example.Dummy,10:delay
[proxy:second]
proxy = 127.0.0.1:0
handler = 30:error
[handler:foobar]
callable = vaurien.handlers.delay.Delay
sleep = 0.25
[handler:error]
commands = GET,SET
"""

FIRST = "20:foobar,10:tests.seed_example.Dummy,10:delay,60:dummy"


class ConfiguredTestCase(ControlAPITestCase):
    """The proxies of L{INI} (with C{--handler-delay-sleep 0.1}) and their
    API on loopback."""

    def setUp(self) -> None:
        path = self.mktemp()
        with open(path, "w", encoding="utf-8") as ini:
            ini.write(textwrap.dedent(INI))
        options = VaurienOptions()
        options.parseOptions(["--config", path, "--handler-delay-sleep", "0.1"])
        self.proxies = {
            settings.name: Proxy(settings, reactor=MemoryReactorClock(), clock=task.Clock())
            for settings in options.settings.proxies
        }
        self.http = HTTP(self, serve(self, self.proxies))
        self.port = urlsplit(self.http.root).port

    def assertConfigured(self, name: str) -> None:
        """Proxy C{name} has its configured handlers in force, options and
        targets included."""
        proxy = self.proxies[name]
        self.assertEqual(proxy.handler_entries, proxy.settings.handlers)


class TakesBackWhatItShowsTests(ConfiguredTestCase):
    async def test_shown_names_are_listed_and_put_back_as_configured(self):
        self.assertEqual(await self.json("GET", "/behavior"), {"behavior": FIRST})
        names = (await self.json("GET", "/behaviors"))["behaviors"]
        self.assertTrue({"foobar", "tests.seed_example.Dummy", "delay", "hang"} <= set(names))
        await self.json("PUT", "/behavior", {"name": "hang"})
        await self.json("PUT", "/behavior", {"name": FIRST})
        self.assertEqual(await self.json("GET", "/behavior"), {"behavior": FIRST})
        self.assertConfigured("first")

    async def test_a_configured_name_keeps_its_options_under_those_given(self):
        await self.json("PUT", "/behavior", {"name": "foobar"})
        slot = self.proxies["first"].choose()
        self.assertIsInstance(slot.handler, Delay)
        self.assertEqual(slot.handler.option("sleep"), 0.25)
        await self.json("PUT", "/behavior", {"name": "50:delay", "delay": {"before": False}})
        self.assertEqual(dict(self.proxies["first"].handler_entries[0].options),
                         {"sleep": 0.1, "before": False})

    async def test_options_show_declared_values_and_targets(self):
        self.assertEqual((await self.json("GET", "/behavior/options"))["options"], {
            "foobar": {"sleep": 0.25, "before": True},
            "tests.seed_example.Dummy": {"keep_alive": False, "reuse_socket": False},
            "delay": {"sleep": 0.1, "before": True},
            "dummy": {},
        })
        self.assertEqual(await self.json("GET", "/proxies/second/handler/options"),
                         {"options": {"error": {"inject": False, "warmup": 0,
                                                "commands": "GET,SET"}, "dummy": {}}})

    async def test_a_path_not_configured_is_refused_and_never_imported(self):
        for name in ("tests.never_imported.Handler", "vaurien.handlers.delay.Delay"):
            error = await self.refused(400, "PUT", "/behavior", {"name": name})
            self.assertEqual(error["name"], "name")
            self.assertIn("configured with", error["description"])
        self.assertNotIn("tests.never_imported", sys.modules)
        error = await self.refused(400, "PUT", "/behavior", {"name": "foobar", "sleep": "x"})
        self.assertEqual((error["name"], error["description"][:16]), ("sleep", "foobar.sleep 'x'"))

    async def test_delete_returns_one_proxy_to_its_configuration(self):
        await self.json("PUT", "/behavior", {"name": "hang", "ttl": 30})
        await self.json("PUT", "/proxies/second/behavior", {"name": "delay", "sleep": 3})
        self.assertEqual(await self.json("DELETE", "/proxies/second/behavior"), {"status": "ok"})
        self.assertConfigured("second")
        self.assertEqual(await self.json("GET", "/behavior"), {"behavior": "hang"})
        self.assertEqual(await self.json("DELETE", "/handler"), {"status": "ok"})
        self.assertConfigured("first")
        self.assertEqual(self.proxies["first"].clock.getDelayedCalls(), [])

    def test_a_worker_resets_on_command(self):
        control = self.proxies["second"].control
        control.set_behavior("hang")
        obey({"second": control}, reset_command("second"))
        self.assertConfigured("second")


class ClientsRestoreTests(ConfiguredTestCase):
    async def test_with_behavior_restores_names_and_options(self):
        client = Client("127.0.0.1", self.port)
        await deferToThread(client.set_behavior, "20:foobar,10:delay",
                            foobar={"sleep": 2}, delay={"commands": "GET"})
        changed = self.proxies["first"].handler_entries

        def use() -> str:
            with client.with_behavior("error"):
                return client.get_behavior()

        self.assertEqual(await deferToThread(use), "error")
        self.assertEqual(self.proxies["first"].handler_entries, changed)
        await deferToThread(client.reset_behavior)
        self.assertConfigured("first")

    async def test_the_original_client_restores_the_configuration(self):
        client = OriginalClient("127.0.0.1", self.port)

        def use() -> str:
            with client.with_behavior("delay", sleep=5):
                return client.get_behavior()

        self.assertEqual(await deferToThread(use), "delay")
        self.assertConfigured("first")

    async def test_vaurienctl_reset_and_options(self):
        def ctl(*argv: str) -> str:
            out = io.StringIO()
            with redirect_stdout(out):
                main(["--url", self.http.root, "--proxy", "second", *argv])
            return out.getvalue()

        self.assertEqual(await deferToThread(ctl, "set", "hang"), "hang\n")
        self.assertEqual(await deferToThread(ctl, "reset"), "30:error,70:dummy\n")
        self.assertConfigured("second")
        self.assertIn('"commands": "GET,SET"', await deferToThread(ctl, "get", "--options"))
