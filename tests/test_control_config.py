"""The control API's and statsd's settings: command line, [vaurien],
[statsd], their defaults and their wrong values."""
from __future__ import annotations

from tests.test_config import BACKEND, ConfigTestCase, parse
from vaurien.config import StatsdSettings


class HttpSettingsTests(ConfigTestCase):
    def test_defaults_keep_the_api_off_and_on_loopback(self):
        settings = parse(*BACKEND)
        self.assertEqual(
            (settings.http, settings.http_host, settings.http_port, settings.http_token),
            (False, "127.0.0.1", 8080, None),
        )

    def test_command_line(self):
        settings = parse(*BACKEND, "--http", "--http-host", "0.0.0.0", "--http-port", "9000", "--http-token", "s3cret")
        self.assertEqual(
            (settings.http, settings.http_host, settings.http_port, settings.http_token),
            (True, "0.0.0.0", 9000, "s3cret"),
        )

    def test_vaurien_section(self):
        path = self.write_ini(
            """
            [vaurien]
            backend = 127.0.0.1:9
            http = yes
            http-port = 9001
            http_token = abc
            """
        )
        settings = parse("--config", path)
        self.assertEqual((settings.http, settings.http_port, settings.http_token), (True, 9001, "abc"))

    def test_port_out_of_range(self):
        self.assertIn("--http-port '70000': must be at most 65535", self.assertRefused(*BACKEND, "--http-port", "70000"))
        self.assertIn("--http-port 'x'", self.assertRefused(*BACKEND, "--http-port", "x"))


class StatsdSettingsTests(ConfigTestCase):
    def test_original_defaults(self):
        self.assertEqual(parse(*BACKEND).statsd, StatsdSettings(False, "localhost", 8125, "vaurien", 1.0))

    def test_section(self):
        path = self.write_ini(
            """
            [vaurien]
            backend = 127.0.0.1:9
            [statsd]
            enabled = true
            host = 127.0.0.1
            port = 9125
            prefix = chaos
            sample_rate = 0.5
            """
        )
        self.assertEqual(parse("--config", path).statsd, StatsdSettings(True, "127.0.0.1", 9125, "chaos", 0.5))

    def test_unknown_key_refused(self):
        path = self.write_ini(
            """
            [statsd]
            enabled = true
            interval = 5
            """
        )
        message = self.assertRefused("--config", path, *BACKEND)
        self.assertIn("unknown key 'interval' in [statsd]", message)
        self.assertIn("sample_rate", message)

    def test_wrong_values(self):
        for key, value, expected in (
            ("port", "0", "must be at least 1"),
            ("sample_rate", "2", "must be at most 1"),
            ("sample_rate", "0", "must be more than 0"),
            ("enabled", "perhaps", "expected true or false"),
        ):
            path = self.write_ini(f"[statsd]\n{key} = {value}\n")
            message = self.assertRefused("--config", path, *BACKEND)
            self.assertIn(f"{key} = {value!r} in [statsd]", message)
            self.assertIn(expected, message)
