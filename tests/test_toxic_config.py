"""Toxics on the command line (C{--toxic}, C{--toxic-NAME-ATTRIBUTE}), in
the INI file (C{[toxic:NAME]}, C{toxic =} of C{[vaurien]} and
C{[proxy:NAME]}), under C{twistd vaurien}, and every input refused."""
from __future__ import annotations

import os

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase, TestCase

from tests.processes import TWISTD, VAURIEN, run, start
from tests.proxying import Collector, connect, echo_backend
from vaurien.config import VaurienOptions


def parsed(*argv: str):
    options = VaurienOptions()
    options.parseOptions(list(argv))
    return options.settings


def toxics(settings, proxy: int = 0):
    return [
        (t.name, t.type, t.stream, t.toxicity, dict(t.attributes))
        for t in settings.proxies[proxy].toxics
    ]


class ToxicOptionsTests(SynchronousTestCase):
    def ini(self, text: str) -> str:
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write(text)
        return path

    def assertRefused(self, *argv: str, saying: str) -> None:
        error = self.assertRaises(usage.UsageError, parsed, "--backend", "127.0.0.1:9", *argv)
        self.assertIn(saying, str(error))

    def test_toxics_and_their_attributes_on_the_command_line(self):
        settings = parsed(
            "--backend", "127.0.0.1:9", "--toxic", "slow:latency", "--toxic-slow-latency", "100",
            "--toxic", "thin:bandwidth:upstream:0.5", "--toxic-thin-rate=5",
        )
        self.assertEqual(toxics(settings), [
            ("slow", "latency", "downstream", 1.0, {"latency": 100, "jitter": 0}),
            ("thin", "bandwidth", "upstream", 0.5, {"rate": 5}),
        ])

    def test_a_name_and_an_attribute_with_underscores(self):
        settings = parsed("--backend", "127.0.0.1:9", "--toxic", "my_cut:slicer",
                          "--toxic-my-cut-average-size", "10")
        self.assertEqual(toxics(settings)[0][4]["average_size"], 10)

    def test_no_name_gives_type_and_stream(self):
        settings = parsed("--backend", "127.0.0.1:9", "--toxic", ":latency:upstream")
        self.assertEqual(toxics(settings)[0][0], "latency_upstream")

    def test_sections_apply_unless_a_proxy_lists_its_own(self):
        path = self.ini(
            "[vaurien]\nbackend = 127.0.0.1:9\n"
            "[toxic:slow]\ntype = latency\nlatency = 100\n"
            "[toxic:cut]\ntype = slicer\nstream = upstream\ntoxicity = 0.5\naverage_size = 10\n"
        )
        self.assertEqual(toxics(parsed("--config", path)), [
            ("slow", "latency", "downstream", 1.0, {"latency": 100, "jitter": 0}),
            ("cut", "slicer", "upstream", 0.5,
             {"average_size": 10, "size_variation": 0, "delay": 0}),
        ])
        settings = parsed("--config", path, "--toxic", "cut", "--toxic-cut-average-size", "50")
        self.assertEqual([(t[0], t[4]["average_size"]) for t in toxics(settings)], [("cut", 50)])

    def test_toxics_per_proxy(self):
        path = self.ini(
            "[vaurien]\nbackend = 127.0.0.1:9\ntoxic = slow\n"
            "[toxic:slow]\ntype = latency\nlatency = 100\n"
            "[proxy:a]\nproxy = tcp:0\n"
            "[proxy:b]\nproxy = tcp:0\ntoxic = slow, reset:reset_peer:upstream\n"
            "[proxy:c]\nproxy = tcp:0\ntoxic =\n"
        )
        settings = parsed("--config", path)
        self.assertEqual([t[0] for t in toxics(settings, 0)], ["slow"])
        self.assertEqual([t[0] for t in toxics(settings, 1)], ["slow", "reset"])
        self.assertEqual(toxics(settings, 2), [])

    def test_bad_command_line_input(self):
        for argv, saying in [
            (["--toxic", "a:nosuch"], "unknown toxic 'nosuch'"),
            (["--toxic", "a:latency:sideways"], "--toxic 'sideways': the stream is upstream or"),
            (["--toxic", "a:latency:upstream:2"], "toxicity '2' is not a number from 0 to 1"),
            (["--toxic", "a:latency:upstream:-0.5"], "toxicity '-0.5'"),
            (["--toxic", "a:latency", "--toxic-a-latency", "-5"],
             "--toxic-a-latency '-5': attribute 'latency' must not be negative"),
            (["--toxic", "a:latency", "--toxic-a-latency", "soon"],
             "--toxic-a-latency 'soon': attribute 'latency': expected int"),
            (["--toxic", "a:latency", "--toxic-a-speed", "5"],
             "--toxic-a-speed '5': unknown attribute 'speed' of toxic 'latency'"),
            (["--toxic", "a:latency", "--toxic-b-rate", "5"], "--toxic-b-rate: names no toxic"),
            (["--toxic", "a"], "'a' has no type"),
            (["--toxic", "a:latency,a:bandwidth"], "the toxic 'a' is given twice"),
            (["--toxic", "a:latency:upstream:1:more"], "is not NAME:TYPE[:STREAM[:TOXICITY]]"),
            (["--toxic-a-latency"], "--toxic-a-latency needs a value"),
        ]:
            self.assertRefused(*argv, saying=saying)

    def test_bad_ini_input_names_the_key(self):
        for section, saying in [
            ("type = nosuch\n", "type = 'nosuch' in [toxic:t] of"),
            ("latency = 1\n", "[toxic:t]: no type"),
            ("type = latency\nlatency = -1\n", "latency = '-1' in [toxic:t] of"),
            ("type = latency\nspeed = 1\n", "speed = '1' in [toxic:t] of"),
            ("type = latency\nstream = both\n", "stream = 'both' in [toxic:t] of"),
            ("type = latency\ntoxicity = 1.1\n", "toxicity = '1.1' in [toxic:t] of"),
        ]:
            path = self.ini("[toxic:t]\n" + section)
            self.assertRefused("--config", path, saying=saying)


class ToxicCommandTests(TestCase):
    timeout = 60

    async def test_limit_data_through_the_vaurien_command(self):
        process = start(self, [
            *VAURIEN, "--proxy", "tcp:0:interface=127.0.0.1",
            "--backend", f"127.0.0.1:{echo_backend(self)}",
            "--toxic", "cut:limit_data", "--toxic-cut-bytes", "3",
        ])
        port = int((await process.wait_for(r"proxy default: 127\.0\.0\.1:(\d+) ")).group(1))
        client = Collector()
        await connect(port, client)
        client.transport.write(b"hello")
        self.assertEqual(await client.ended, b"hel")

    async def test_the_vaurien_command_refuses_with_status_2(self):
        out, err, status = await run(
            [*VAURIEN, "--backend", "127.0.0.1:9", "--toxic", "a:latency:sideways"])
        self.assertEqual((status, err.count("\n")), (2, 1), err + out)
        self.assertIn("the stream is upstream or downstream", err)

    async def test_twistd_vaurien_refuses_in_one_line(self):
        out, err, status = await run(
            [*TWISTD, "-n", "--pidfile=", "vaurien", "--backend", "127.0.0.1:9",
             "--toxic", "a:latency", "--toxic-a-latency", "-1"])
        self.assertEqual(status, 1, err + out)
        self.assertEqual(err.count("\n"), 1, err)
        self.assertIn("--toxic-a-latency '-1': attribute 'latency' must not be negative", err)
