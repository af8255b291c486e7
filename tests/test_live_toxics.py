"""A proxy's toxics through its control surface (L{IProxyControl}):
what is listed, added, changed and removed, and every input refused."""
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from tests.proxying import proxy_settings
from vaurien.errors import ConfigError, Conflict, NotFound
from vaurien.proxy import Proxy


def control():
    clock = Clock()
    proxy = Proxy(proxy_settings(1), MemoryReactorClock(), clock)
    return proxy.control, clock


class ToxicControlTests(SynchronousTestCase):
    def test_added_toxics_are_listed_in_order_with_every_attribute(self):
        live, _ = control()
        shown = live.add_toxic(None, "latency", attributes={"latency": 100})
        self.assertEqual(shown, {
            "name": "latency_downstream", "type": "latency", "stream": "downstream",
            "toxicity": 1.0, "attributes": {"latency": 100, "jitter": 0},
        })
        live.add_toxic("cut", "slicer", "upstream", 0.5)
        self.assertEqual([t["name"] for t in live.toxics()], ["latency_downstream", "cut"])
        self.assertEqual(live.toxics()[1]["attributes"],
                         {"average_size": 0, "size_variation": 0, "delay": 0})
        self.assertEqual(live.toxics()[1]["toxicity"], 0.5)

    def test_update_merges_and_keeps_what_is_left_out(self):
        live, _ = control()
        live.add_toxic("slow", "latency", attributes={"latency": 100, "jitter": 5})
        shown = live.update_toxic("slow", {"jitter": 10})
        self.assertEqual(shown["attributes"], {"latency": 100, "jitter": 10})
        shown = live.update_toxic("slow", toxicity=0.25)
        self.assertEqual((shown["toxicity"], shown["attributes"]["latency"]), (0.25, 100))
        self.assertEqual(live.toxics(), [shown])

    def test_remove_one_or_all(self):
        live, _ = control()
        live.add_toxic("a", "latency")
        live.add_toxic("b", "bandwidth")
        live.remove_toxic("a")
        self.assertEqual([t["name"] for t in live.toxics()], ["b"])
        live.remove_toxics()
        self.assertEqual(live.toxics(), [])

    def test_ttl(self):
        live, clock = control()
        live.add_toxic("a", "latency", ttl=2)
        clock.advance(1.9)
        self.assertEqual(len(live.toxics()), 1)
        clock.advance(0.1)
        self.assertEqual(live.toxics(), [])

    def test_a_duplicate_name_is_a_conflict(self):
        live, _ = control()
        live.add_toxic(None, "latency")
        self.assertRaises(Conflict, live.add_toxic, None, "latency")
        self.assertRaises(Conflict, live.add_toxic, "latency_downstream", "bandwidth")

    def test_unknown_names_are_not_found(self):
        live, _ = control()
        self.assertRaises(NotFound, live.update_toxic, "nope", {"latency": 1})
        self.assertRaises(NotFound, live.remove_toxic, "nope")

    def test_bad_input_is_refused_and_changes_nothing(self):
        live, _ = control()
        live.add_toxic("slow", "latency")
        cases = [
            ((None, "nosuch"), {}, "unknown toxic 'nosuch'"),
            ((None, "latency", "sideways"), {}, "stream 'sideways'"),
            ((None, "latency"), {"toxicity": 1.5}, "toxicity 1.5"),
            ((None, "latency"), {"toxicity": -0.1}, "toxicity -0.1"),
            ((None, "latency"), {"toxicity": "lots"}, "toxicity 'lots'"),
            ((None, "latency"), {"attributes": {"latency": -1}}, "'latency' must not be negative"),
            ((None, "latency"), {"attributes": {"speed": 1}}, "unknown attribute 'speed'"),
            ((None, "latency"), {"attributes": {"latency": "soon"}}, "attribute 'latency'"),
            ((None, "latency"), {"ttl": -1}, "ttl"),
            (("x", ""), {}, "unknown toxic ''"),
            (("x", ["latency"]), {}, "unknown toxic ['latency']"),
        ]
        for args, kwargs, message in cases:
            error = self.assertRaises(ConfigError, live.add_toxic, *args, **kwargs)
            self.assertIn(message, str(error))
        for kwargs, message in [
            ({"attributes": {"jitter": -5}}, "'jitter' must not be negative"),
            ({"attributes": {"rate": 5}}, "unknown attribute 'rate'"),
            ({"toxicity": 2}, "toxicity 2"),
        ]:
            error = self.assertRaises(ConfigError, live.update_toxic, "slow", **kwargs)
            self.assertIn(message, str(error))
        self.assertEqual([t["name"] for t in live.toxics()], ["slow"])
        self.assertEqual(live.toxics()[0]["attributes"], {"latency": 0, "jitter": 0})

    def test_a_whole_number_as_json_gives_it_is_an_int(self):
        live, _ = control()
        shown = live.add_toxic(None, "latency", attributes={"latency": 100.0})
        self.assertEqual(shown["attributes"]["latency"], 100)
        self.assertIsInstance(shown["attributes"]["latency"], int)

    def test_an_update_with_the_same_values_changes_nothing(self):
        live, _ = control()
        shown = live.add_toxic("t", "timeout", toxicity=0.5, attributes={"timeout": 10})
        self.assertEqual(live.update_toxic("t", dict(shown["attributes"]), 0.5), shown)

    def test_a_dotted_path_is_never_imported(self):
        import sys

        live, _ = control()
        error = self.assertRaises(ConfigError, live.add_toxic, None, "tests.never_imported.Toxic")
        self.assertIn("registered toxics", str(error))
        self.assertNotIn("tests.never_imported", sys.modules)

    def test_a_dotted_path_the_proxy_was_started_with_is_chosen(self):
        from vaurien.config import toxic_entry

        path = "vaurien.toxics.latency.Latency"
        proxy = Proxy(proxy_settings(1, toxics=(toxic_entry("a", path),)),
                      MemoryReactorClock(), Clock())
        self.assertEqual(proxy.control.add_toxic("b", path)["type"], "latency")
