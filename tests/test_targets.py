"""Limiting a handler entry to some commands, methods or paths."""
import re

from twisted.trial.unittest import SynchronousTestCase
from twisted.python import usage

from vaurien.config import Targets, VaurienOptions
from vaurien.protocols.framing import Frame


def parse(*argv: str):
    options = VaurienOptions()
    options.parseOptions(["--backend", "127.0.0.1:1", *argv])
    return {entry.name: entry for entry in options.settings.proxies[0].handlers}


class TargetsTests(SynchronousTestCase):
    def test_empty_targets_match_everything(self):
        self.assertTrue(Targets().matches(Frame(b"x", command=b"GET")))

    def test_commands(self):
        targets = Targets(commands=frozenset({b"GET", b"MGET"}))
        self.assertTrue(targets.matches(Frame(b"", command=b"MGET")))
        self.assertFalse(targets.matches(Frame(b"", command=b"SET")))

    def test_methods_and_paths(self):
        targets = Targets(methods=frozenset({b"POST"}), paths=re.compile(b"^/api/"))
        self.assertTrue(targets.matches(Frame(b"", command=b"POST", target=b"/api/x")))
        self.assertFalse(targets.matches(Frame(b"", command=b"POST", target=b"/web")))
        self.assertFalse(targets.matches(Frame(b"", command=b"GET", target=b"/api/x")))


class TargetsConfigTests(SynchronousTestCase):
    def test_command_line_targets(self):
        entries = parse(
            "--handler", "20:delay", "--handler-delay-commands", "get, mget",
            "--behavior-delay-paths", "^/api/",
        )
        self.assertEqual(entries["delay"].targets.commands, {b"GET", b"MGET"})
        self.assertEqual(entries["delay"].targets.paths.pattern, b"^/api/")
        self.assertEqual(entries["dummy"].targets, Targets())

    def test_ini_targets(self):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("[vaurien]\nhandler = 5:error\n[handler:error]\nmethods = post\n")
        self.assertEqual(parse("--config", path)["error"].targets.methods, {b"POST"})

    def test_bad_path_expression_is_refused_naming_the_key(self):
        error = self.assertRaises(
            usage.UsageError, parse, "--handler", "20:delay", "--handler-delay-paths", "(",
        )
        self.assertIn("--handler-delay-paths", str(error))
        self.assertIn("regular expression", str(error))


class NegatedFlagTests(SynchronousTestCase):
    """A boolean option that is on by default can be turned off."""

    def test_no_handler_flag(self):
        for flag in ("--no-handler-delay-before", "--no-behavior-delay-before"):
            entries = parse("--handler", "100:delay", flag)
            self.assertIs(entries["delay"].options["before"], False)

    def test_default_stays_on(self):
        self.assertIs(parse("--handler", "100:delay")["delay"].options["before"], True)
