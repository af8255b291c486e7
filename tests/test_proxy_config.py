"""[proxy:NAME] sections: one proxy each, with the proxy settings of
[vaurien] and the command line as their defaults; two proxies on one
address are refused, naming both."""
from __future__ import annotations

from tests.test_config import ConfigTestCase, parse


class ProxySectionTests(ConfigTestCase):
    def test_each_section_is_a_proxy(self):
        path = self.write_ini(
            """
            [proxy:web]
            proxy = 127.0.0.1:8001
            backend = 127.0.0.1:81
            protocol = http
            behavior = 20:delay
            [proxy:cache]
            proxy = 127.0.0.1:8002
            backend = 127.0.0.1:6379
            protocol = redis
            timeout = 3
            """
        )
        web, cache = parse("--config", path).proxies
        self.assertEqual((web.name, web.listen, web.backend), ("web", "tcp:8001:interface=127.0.0.1", "tcp:host=127.0.0.1:port=81"))
        self.assertEqual(web.protocol_class.name, "http")
        self.assertEqual({e.name: e.percent for e in web.handlers}, {"delay": 20, "dummy": 80})
        self.assertEqual((cache.name, cache.protocol_class.name, cache.timeout), ("cache", "redis", 3.0))
        self.assertEqual([e.name for e in cache.handlers], ["dummy"])

    def test_vaurien_and_command_line_are_defaults(self):
        path = self.write_ini(
            """
            [vaurien]
            backend = 127.0.0.1:9
            handler = 10:error
            timeout = 7
            [proxy:a]
            proxy = 127.0.0.1:8001
            [proxy:b]
            proxy = 127.0.0.1:8002
            backend = 127.0.0.1:10
            timeout = 1
            """
        )
        a, b = parse("--config", path, "--seed", "4").proxies
        self.assertEqual((a.backend, a.timeout, a.seed), ("tcp:host=127.0.0.1:port=9", 7.0, 4))
        self.assertEqual((b.backend, b.timeout, b.seed), ("tcp:host=127.0.0.1:port=10", 1.0, 4))
        self.assertEqual({e.name: e.percent for e in b.handlers}, {"error": 10, "dummy": 90})

    def test_control_settings_stay_in_vaurien(self):
        path = self.write_ini(
            """
            [vaurien]
            http = true
            http_port = 9090
            [proxy:a]
            backend = 127.0.0.1:9
            """
        )
        settings = parse("--config", path)
        self.assertEqual((settings.http, settings.http_port, settings.demo), (True, 9090, False))

    def test_unknown_key_in_a_proxy_section(self):
        path = self.write_ini(
            """
            [proxy:a]
            backend = 127.0.0.1:9
            http_port = 9090
            """
        )
        message = self.assertRefused("--config", path)
        self.assertIn("'http_port' in [proxy:a]", message)
        self.assertIn("backend", message)

    def test_wrong_value_names_the_section(self):
        path = self.write_ini(
            """
            [proxy:a]
            backend = 127.0.0.1:9
            timeout = soon
            """
        )
        self.assertIn("timeout = 'soon' in [proxy:a]", self.assertRefused("--config", path))

    def test_two_proxies_on_one_address(self):
        path = self.write_ini(
            """
            [vaurien]
            backend = 127.0.0.1:9
            [proxy:first]
            proxy = 127.0.0.1:8001
            [proxy:second]
            proxy = 127.0.0.1:8001
            """
        )
        message = self.assertRefused("--config", path)
        self.assertIn("'first'", message)
        self.assertIn("'second'", message)
        self.assertIn("tcp:8001:interface=127.0.0.1", message)

    def test_proxies_on_ports_the_system_chooses(self):
        path = self.write_ini(
            """
            [vaurien]
            backend = 127.0.0.1:9
            proxy = tcp:0:interface=127.0.0.1
            [proxy:a]
            [proxy:b]
            """
        )
        self.assertEqual([p.name for p in parse("--config", path).proxies], ["a", "b"])

    def test_a_proxy_without_backend_when_another_has_one(self):
        path = self.write_ini(
            """
            [proxy:a]
            proxy = 127.0.0.1:8001
            backend = 127.0.0.1:9
            [proxy:b]
            proxy = 127.0.0.1:8002
            """
        )
        self.assertIn("[proxy:b] has no backend", self.assertRefused("--config", path))

    def test_demo_only_without_any_backend(self):
        path = self.write_ini(
            """
            [proxy:a]
            proxy = 127.0.0.1:8001
            [proxy:b]
            proxy = 127.0.0.1:8002
            """
        )
        settings = parse("--config", path)
        self.assertTrue(settings.demo)
        self.assertEqual([p.backend for p in settings.proxies], ["", ""])
