"""The C{vaurien} command line as a user types it: C{-h}, a C{--help} one
reads, repeated C{--handler}, values out of range, a module in the current
directory, and what an unreachable backend answers."""
from __future__ import annotations

import os
import sys

from twisted.internet import reactor
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, readBody

from tests.processes import TWISTD, VAURIEN, environment, run, start
from tests.servers import free_port


class UnreachableBackendTests(TestCase):
    timeout = 60

    async def test_502_says_the_backend_is_unreachable(self):
        process = start(self, [
            *VAURIEN, "--proxy", "tcp:0:interface=127.0.0.1", "--protocol", "http",
            "--backend", f"127.0.0.1:{free_port()}",
        ])
        port = (await process.wait_for(r"proxy default: 127\.0\.0\.1:(\d+) ")).group(1)
        response = await Agent(reactor).request(b"GET", f"http://127.0.0.1:{port}/".encode())
        body = await readBody(response)
        self.assertEqual(response.code, 502)
        self.assertIn(b"The backend is unreachable", body)
        self.assertNotIn(b"Injected", body)


class HelpTests(TestCase):
    timeout = 60

    async def test_dash_h_prints_the_help(self):
        out, err, status = await run([*VAURIEN, "-h"])
        self.assertEqual(status, 0, err)
        self.assertTrue(out.startswith("Usage: "), out)

    async def test_help_groups_plugin_options_and_prints_targeting_once(self):
        out, err, status = await run([*VAURIEN, "--help"])
        self.assertEqual(status, 0, err)
        for heading in ("Options:", "Handlers (", "Targeting:", "Protocols ("):
            self.assertIn("\n" + heading, out)
        self.assertIn("  delay:\n    --handler-delay-sleep FLOAT", out)
        self.assertEqual(out.count("--handler-NAME-commands LIST"), 1)
        self.assertNotIn("--handler-delay-commands", out)
        self.assertIn("NAME: any handler: abort, blackout, delay,", out)
        self.assertEqual([line for line in out.splitlines() if len(line) > 79], [])


class RefusedValuesTests(TestCase):
    timeout = 60

    async def assertRefused(self, *argv: str, saying: str) -> None:
        out, err, status = await run([*VAURIEN, "--backend", "127.0.0.1:9", *argv])
        self.assertEqual((status, err.count("\n")), (2, 1), err + out)
        self.assertIn(saying, err)

    async def test_negative_handler_duration(self):
        await self.assertRefused(
            "--handler-delay-sleep", "-1", saying="--handler-delay-sleep '-1': expected a number"
        )

    async def test_nan_handler_duration(self):
        await self.assertRefused("--handler-delay-sleep", "nan", saying="--handler-delay-sleep")

    async def test_negative_count_in_the_ini(self):
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as ini:
            ini.write("[handler:error]\nwarmup = -3\n")
        await self.assertRefused("--config", path, saying="warmup = '-3' in [handler:error]")

    async def test_negative_timeout(self):
        await self.assertRefused("--timeout", "-5", saying="--timeout '-5': must be at least 0")

    async def test_repeated_handler_naming_one_handler_twice(self):
        await self.assertRefused(
            "--handler", "20:delay", "--handler", "30:delay", saying="'delay' is named twice"
        )

    async def test_repeated_handler_over_100(self):
        await self.assertRefused(
            "--handler", "80:delay", "--behavior", "30:error", saying="add up to 110%"
        )


class RepeatedHandlerTests(TestCase):
    timeout = 60

    async def test_repeated_handler_adds_up(self):
        process = start(self, [
            *VAURIEN, "--proxy", "tcp:0:interface=127.0.0.1", "--backend", "127.0.0.1:9",
            "--handler", "20:delay", "--behavior", "30:error",
        ])
        await process.wait_for(r"proxy default: .*\n")
        self.assertRegex(process.output, r"handlers 20:delay\(.*\),30:error\(.*\),50:dummy\n")


class ModuleHereTests(TestCase):
    """The C{vaurien} console script, run where the handler module is."""

    timeout = 60

    async def test_module_in_the_current_directory_gets_a_hint(self):
        here = os.path.abspath(self.mktemp())
        os.makedirs(here)
        with open(os.path.join(here, "myfaults.py"), "w") as module:
            module.write("class Slow:\n    pass\n")
        script = os.path.join(os.path.dirname(sys.executable), "vaurien")
        out, err, status = await getProcessOutputAndValue(
            script, ["--backend", "127.0.0.1:9", "--handler", "20:myfaults.Slow"],
            env=environment(), path=here,
        )
        err = err.decode()
        self.assertEqual(status, 2, err)
        self.assertIn("no module named 'myfaults'; the current directory (myfaults.py is"
                      " there) is not on Python's path: run with PYTHONPATH=.", err)


class TwistdRefusalTests(TestCase):
    """C{twistd vaurien} ends with twistd's status and a short message."""

    timeout = 60

    async def test_config_error_is_one_paragraph(self):
        out, err, status = await run(
            [*TWISTD, "-n", "--pidfile=", "vaurien", "--backend", "127.0.0.1:9",
             "--handler-delay-sleep", "-1"]
        )
        self.assertEqual(status, 1, err + out)
        self.assertEqual(out, "")
        self.assertEqual(err.count("\n"), 1, err)
        self.assertTrue(
            err.startswith("twistd vaurien: error: --handler-delay-sleep '-1'"), err
        )

    async def test_busy_port_is_one_line(self):
        busy = reactor.listenTCP(0, Factory.forProtocol(Protocol), interface="127.0.0.1")
        self.addCleanup(busy.stopListening)
        out, err, status = await run(
            [*TWISTD, "-n", "--pidfile=", "vaurien", "--backend", "127.0.0.1:9",
             "--proxy", f"127.0.0.1:{busy.getHost().port}"]
        )
        self.assertEqual(status, 1, err + out)
        self.assertNotIn("Traceback", out + err)
        self.assertEqual(err.count("\n"), 1, err)
        self.assertIn(f"cannot listen on 127.0.0.1:{busy.getHost().port}", err)
