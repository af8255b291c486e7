"""The seed's INI example as written, through the C{vaurien} command: a
C{callable =} handler gets the keys it does not declare as strings in its
C{settings}, with one warning line; everything else stays checked."""
from __future__ import annotations

import json
import os

from twisted.trial.unittest import TestCase

from tests.processes import VAURIEN, run, start
from tests.proxying import Collector, connect, echo_backend
from vaurien.handlers.base import BaseHandler


class SettingsAnswer(BaseHandler):
    """Answers the client with its own settings, as JSON, and closes."""

    name = "settings-answer"
    options = {"sleep": ("A declared option", float, 1.0)}
    blocking = False

    def __call__(self, client_sock, backend_sock, to_backend):
        client_sock.sendall(json.dumps(self.settings, sort_keys=True).encode())
        return False


class SeedIniTests(TestCase):
    timeout = 60

    def write_ini(self, text: str) -> str:
        path = os.path.abspath(self.mktemp() + ".ini")
        with open(path, "w") as ini:
            ini.write(text)
        return path

    async def test_undeclared_keys_reach_the_handler_as_strings(self):
        backend = echo_backend(self)
        path = self.write_ini(
            "[vaurien]\nproxy = tcp:0:interface=127.0.0.1\n"
            f"backend = 127.0.0.1:{backend}\nbehavior = 100:foobar\n\n"
            "[handler:foobar]\ncallable = tests.test_seed_ini.SettingsAnswer\n"
            "foo=bar\nsleep = 0.5\n"
        )
        process = start(self, [*VAURIEN, "--config", path])
        port = int((await process.wait_for(r"proxy default: 127\.0\.0\.1:(\d+) ")).group(1))
        client = Collector()
        (await connect(port, client)).transport.write(b"hello")
        self.assertEqual(
            json.loads(await client.ended), {"foo": "bar", "sleep": 0.5}
        )
        warnings = [line for line in process.output.splitlines() if "#warn]" in line]
        self.assertEqual(len(warnings), 1, process.output)
        self.assertIn(
            f"[handler:foobar] of {path}: key foo not among the options"
            " tests.test_seed_ini.SettingsAnswer declares (sleep)", warnings[0]
        )
        self.assertIn("handlers 100:foobar(sleep=0.5,foo=bar)", process.output)

    async def assertRefused(self, ini: str, saying: str) -> None:
        out, err, status = await run([*VAURIEN, "--config", self.write_ini(ini)])
        self.assertEqual(status, 2, err + out)
        self.assertIn(saying, err)

    async def test_declared_keys_stay_typed(self):
        await self.assertRefused(
            "[vaurien]\nbackend = 127.0.0.1:9\nhandler = 10:foobar\n[handler:foobar]\n"
            "callable = tests.test_seed_ini.SettingsAnswer\nsleep = soon\n",
            saying="sleep = 'soon' in [handler:foobar]",
        )

    async def test_unknown_key_of_a_built_in_handler_is_refused(self):
        await self.assertRefused(
            "[vaurien]\nbackend = 127.0.0.1:9\n[handler:delay]\nslep = 2\n",
            saying="'delay' has no option 'slep'",
        )

    async def test_unknown_key_of_vaurien_is_refused(self):
        await self.assertRefused(
            "[vaurien]\nbackend = 127.0.0.1:9\nfoo = bar\n", saying="unknown key 'foo'"
        )
