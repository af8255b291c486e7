"""Controlling Vaurien from your code: start_proxy, stop_proxy and the
control API's client, in a unittest suite."""
import unittest

from echo_backend import EchoBackend, ping
from vaurien.client import Client
from vaurien.testing import free_port
from vaurien.util import start_proxy, stop_proxy


class ThroughVaurienTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = EchoBackend()
        cls.port, api_port = free_port(), free_port()
        cls.pid = start_proxy(
            proxy_host="127.0.0.1", proxy_port=cls.port,
            backend_host="127.0.0.1", backend_port=cls.backend.port,
            http_host="127.0.0.1", http_port=api_port,
            options=["--handler", "100:delay", "--handler-delay-sleep", "0.1"],
        )
        cls.client = Client("127.0.0.1", api_port)

    @classmethod
    def tearDownClass(cls):
        stop_proxy(cls.pid)
        cls.backend.stop()

    def test_the_configured_delay(self):
        self.assertEqual(self.client.get_behavior(), "delay")
        self.assertEqual(self.client.get_behavior_options()["delay"]["sleep"], 0.1)
        self.assertEqual(ping(self.port), b"ping")

    def test_a_blackout_for_a_while(self):
        with self.client.with_behavior("blackout"):
            self.assertEqual(ping(self.port), b"")
        # Back to the delay, with its 0.1 s.
        self.assertEqual(self.client.get_behavior_options(),
                         {"delay": {"sleep": 0.1, "before": True}})
        self.assertEqual(ping(self.port), b"ping")

    def test_back_to_the_configuration(self):
        self.client.set_behavior("error", ttl=60)
        self.client.reset_behavior()
        self.assertEqual(self.client.get_behavior(), "delay")
        self.assertEqual(ping(self.port), b"ping")
