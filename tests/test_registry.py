"""Finding and checking plugins: names, dotted paths, broken classes."""
from twisted.trial.unittest import SynchronousTestCase

from vaurien.errors import PluginError
from vaurien.handlers import Handler
from vaurien.handlers.base import BaseHandler
from vaurien.protocols import Protocol


class NoCall:
    name = "nocall"
    options: dict = {}


class BadOption(BaseHandler):
    name = "badoption"
    options = {"sleep": ("no type here", 1.0)}


class RegistryTests(SynchronousTestCase):
    def test_class_without_call_is_refused_naming_it(self):
        error = self.assertRaises(PluginError, Handler.register, NoCall)
        self.assertIn("lacks '__call__'", str(error))

    def test_option_without_a_type_is_refused(self):
        error = self.assertRaises(PluginError, Handler.register, BadOption)
        self.assertIn("option 'sleep'", str(error))

    def test_unknown_name_lists_the_known_ones(self):
        error = self.assertRaises(PluginError, Handler.get, "nosuch")
        self.assertIn("dummy", str(error))
        self.assertIn("delay", str(error))

    def test_dotted_path_says_which_part_failed(self):
        error = self.assertRaises(PluginError, Handler.resolve, "tests.seed_example.Nope")
        self.assertIn("'tests.seed_example' has no attribute 'Nope'", str(error))
        error = self.assertRaises(PluginError, Handler.resolve, "nosuchpackage.mod.Cls")
        self.assertIn("no module named 'nosuchpackage'", str(error))

    def test_dotted_path_loads_a_third_party_class(self):
        cls = Handler.resolve("tests.seed_example.Dummy")
        self.assertEqual(cls.__module__, "tests.seed_example")

    def test_a_built_in_name_is_not_taken_over(self):
        """The seed's example calls itself C{dummy}: registering it is
        refused with a message saying how to use it; by dotted path it
        loads, while the name C{dummy} keeps the built-in."""
        from tests.seed_example import Dummy as SeedDummy
        builtin = Handler.get("dummy")
        error = self.assertRaises(PluginError, Handler.register, SeedDummy)
        self.assertIn("'dummy' is taken by vaurien.handlers.dummy.Dummy", str(error))
        self.assertIn("dotted path (tests.seed_example.Dummy)", str(error))
        self.assertIs(Handler.resolve("tests.seed_example.Dummy"), SeedDummy)
        self.assertIs(Handler.get("dummy"), builtin)
        self.assertIs(Handler.register(builtin), builtin)  # again: no harm

    def test_the_rest_of_a_dotted_dummy_share_goes_to_the_built_in(self):
        """C{--handler 50:tests.seed_example.Dummy}: the other half goes to
        the built-in C{dummy}, and each is counted under its own name."""
        from vaurien.config import VaurienOptions
        options = VaurienOptions()
        options.parseOptions(
            ["--backend", "127.0.0.1:1", "--handler", "50:tests.seed_example.Dummy"]
        )
        entries = {entry.name: entry for entry in options.settings.proxies[0].handlers}
        self.assertEqual(entries["dummy"].handler_class, Handler.get("dummy"))
        self.assertEqual(entries["tests.seed_example.Dummy"].handler_class.__module__,
                         "tests.seed_example")

    def test_builtin_protocol_is_found(self):
        self.assertEqual(Protocol.get("tcp").name, "tcp")
