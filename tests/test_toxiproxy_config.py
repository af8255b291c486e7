"""C{--toxiproxy-api} and C{--toxiproxy-config} (and their INI keys): with
the API and no proxy given, Vaurien starts with none, as toxiproxy-server
does; Toxiproxy's JSON config file adds its proxies at start; every wrong
value is refused at start with a message and exit status 2."""
from __future__ import annotations

import json
import os

from twisted.python import usage
from twisted.trial.unittest import TestCase

from tests.processes import VAURIEN, run
from tests.test_config import BACKEND, parse
from tests.test_running import busy_port

API = ["--toxiproxy-api", "127.0.0.1:8474"]


class ToxiproxyApiSettingTests(TestCase):
    def write(self, text: str, name: str = "file") -> str:
        path = self.mktemp() + name
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_off_by_default(self):
        self.assertIsNone(parse(*BACKEND).toxiproxy_api)

    def test_alone_it_starts_with_no_proxy_and_no_demo(self):
        settings = parse(*API)
        self.assertEqual((settings.proxies, settings.demo), ((), False))
        self.assertEqual(settings.toxiproxy_api, "tcp:8474:interface=127.0.0.1")

    def test_with_a_proxy_given_it_is_there_too(self):
        self.assertEqual([p.name for p in parse(*API, *BACKEND).proxies], ["default"])
        self.assertTrue(parse(*API, "--demo").demo)
        self.assertTrue(parse(*API, "--proxy", "127.0.0.1:0").demo)

    def test_the_ini_key(self):
        path = self.write("[vaurien]\ntoxiproxy_api = 127.0.0.1:8474\n", ".ini")
        settings = parse("--config", path)
        self.assertEqual((settings.proxies, settings.toxiproxy_api),
                         ((), "tcp:8474:interface=127.0.0.1"))

    def test_a_bad_address_is_refused(self):
        error = self.assertRaises(usage.UsageError, parse, "--toxiproxy-api", "8474")
        self.assertIn("--toxiproxy-api '8474': not an address", str(error))

    def test_not_with_several_workers(self):
        error = self.assertRaises(usage.UsageError, parse, *API, *BACKEND, "--workers", "2")
        self.assertIn("--toxiproxy-api", str(error))

    def test_the_config_file_adds_its_proxies(self):
        path = self.write(json.dumps([
            {"name": "redis", "listen": "127.0.0.1:26379", "upstream": "127.0.0.1:6379"},
            {"name": "web", "upstream": "localhost:80", "enabled": False},
        ]))
        settings = parse(*API, "--toxiproxy-config", path)
        self.assertEqual(
            [(p.settings.name, p.listen, p.upstream, p.enabled) for p in settings.added_proxies],
            [("redis", "127.0.0.1:26379", "127.0.0.1:6379", True),
             ("web", "127.0.0.1:0", "localhost:80", False)])
        self.assertEqual(settings.added_proxies[0].settings.backend,
                         "tcp:host=127.0.0.1:port=6379")

    def test_config_file_refusals(self):
        cases = [
            ("[", "not JSON"),
            ('{"name": "x"}', "expected a list of proxies"),
            ('[{"name": "x"}]', "proxy 1: missing required field: upstream"),
            ('[{"upstream": "h:1"}]', "proxy 1: missing required field: name"),
            ('[{"name": "x", "upstream": "h:1", "enabled": "yes"}]', "enabled 'yes'"),
            ('[{"name": "x", "upstream": "nowhere"}]', "upstream 'nowhere'"),
            ('[{"name": "x", "upstream": "h:1"}, {"name": "x", "upstream": "h:2"}]',
             "two proxies are named 'x'"),
            ('[{"name": "default", "upstream": "h:1"}]', "configured already"),
        ]
        for text, words in cases:
            path = self.write(text)
            error = self.assertRaises(usage.UsageError, parse, *API, *BACKEND,
                                      "--toxiproxy-config", path)
            self.assertIn(f"--toxiproxy-config {path!r}", str(error))
            self.assertIn(words, str(error))
        error = self.assertRaises(usage.UsageError, parse, "--toxiproxy-config", "/nonexistent")
        self.assertIn("cannot read it", str(error))


class StartRefusalTests(TestCase):
    timeout = 30

    async def assertExits2(self, *argv: str, saying: str) -> None:
        out, err, status = await run([*VAURIEN, *argv])
        self.assertEqual(status, 2, err)
        self.assertIn(saying, err)
        self.assertNotIn("Traceback", err)

    async def test_the_api_port_in_use(self):
        port = busy_port(self)
        await self.assertExits2("--toxiproxy-api", f"127.0.0.1:{port}",
                                saying=f"cannot listen on 127.0.0.1:{port}")

    async def test_a_config_file_proxy_on_a_port_in_use(self):
        port = busy_port(self)
        path = os.path.abspath(self.mktemp())
        with open(path, "w", encoding="utf-8") as f:
            json.dump([{"name": "p", "listen": f"127.0.0.1:{port}", "upstream": "h:1"}], f)
        await self.assertExits2("--toxiproxy-api", "127.0.0.1:0", "--toxiproxy-config", path,
                                saying=f"cannot listen on 127.0.0.1:{port}")
