"""The INI file and the command line, read into Settings: defaults, aliases,
plugin options, overrides, and a clear message for each wrong input."""
from __future__ import annotations

import os
import textwrap

from twisted.python import usage
from twisted.trial.unittest import TestCase

from vaurien.config import Settings, VaurienOptions
from vaurien.config.proxies import DEMO_HANDLERS
from vaurien.handlers import Handler
from vaurien.handlers.delay import Delay
from vaurien.handlers.dummy import Dummy
from vaurien.protocols.tcp import TCP

BACKEND = ["--backend", "127.0.0.1:9"]


def parse(*argv: str) -> Settings:
    """Parse C{argv} as the command does; return the settings."""
    options = VaurienOptions()
    options.parseOptions(list(argv))
    return options.settings


def shares(settings: Settings) -> dict[str, int]:
    return {e.name: e.percent for e in settings.proxies[0].handlers}


def handler_options(settings: Settings, name: str) -> dict:
    entry = next(e for e in settings.proxies[0].handlers if e.name == name)
    return dict(entry.options)


class NotAHandler:
    """Has a name and is callable, but has no C{options}."""

    name = "not-a-handler"

    def __call__(self, client_sock, backend_sock, to_backend):
        return True


class ConfigTestCase(TestCase):
    def write_ini(self, text: str) -> str:
        path = self.mktemp()
        with open(path, "w", encoding="utf-8") as ini:
            ini.write(textwrap.dedent(text))
        return path

    def assertRefused(self, *argv: str) -> str:
        """Parsing C{argv} fails with a UsageError; return its message."""
        error = self.assertRaises(usage.UsageError, parse, *argv)
        return str(error)


class DefaultsTests(ConfigTestCase):
    def test_original_defaults(self):
        proxy = parse(*BACKEND).proxies[0]
        self.assertEqual(proxy.listen, "tcp:8000:interface=localhost")
        self.assertEqual(proxy.backend, "tcp:host=127.0.0.1:port=9")
        self.assertIs(proxy.protocol_class, TCP)
        self.assertEqual(dict(proxy.protocol_options), {"keep_alive": False, "reuse_socket": False, "buffer": 65536})
        self.assertEqual([(e.percent, e.name, e.handler_class) for e in proxy.handlers], [(100, "dummy", Dummy)])
        self.assertEqual(
            (proxy.timeout, proxy.stay_connected, proxy.backlog, proxy.seed, proxy.max_buffer, proxy.threads),
            (30.0, False, 8192, None, 262144, 10),
        )

    def test_logging_defaults(self):
        settings = parse(*BACKEND)
        self.assertEqual((settings.log_level, settings.log_output, settings.demo), ("info", "-", False))

    def test_no_backend_is_the_demo_with_faults(self):
        settings = parse()
        self.assertTrue(settings.demo)
        self.assertEqual(shares(settings), {"delay": 20, "error": 20, "dummy": 60})
        self.assertEqual(DEMO_HANDLERS, "20:delay,20:error")

    def test_demo_flag_keeps_chosen_handlers(self):
        settings = parse("--demo", "--handler", "50:delay", *BACKEND)
        self.assertTrue(settings.demo)
        self.assertEqual(shares(settings), {"delay": 50, "dummy": 50})

    def test_core_values_converted(self):
        proxy = parse(
            *BACKEND, "--timeout", "2.5", "--stay-connected", "--backlog", "10", "--seed", "7",
            "--max-buffer", "1024", "--threads", "3",
        ).proxies[0]
        self.assertEqual(
            (proxy.timeout, proxy.stay_connected, proxy.backlog, proxy.seed, proxy.max_buffer, proxy.threads),
            (2.5, True, 10, 7, 1024, 3),
        )

    def test_log_settings(self):
        settings = parse(*BACKEND, "--log-level", "DEBUG", "--log-output", "vaurien.log")
        self.assertEqual((settings.log_level, settings.log_output), ("debug", "vaurien.log"))


class HandlerSharesTests(ConfigTestCase):
    def test_remainder_goes_to_dummy(self):
        self.assertEqual(
            shares(parse(*BACKEND, "--handler", "20:delay,5:error")),
            {"delay": 20, "error": 5, "dummy": 75},
        )

    def test_remainder_added_to_a_dummy_entry(self):
        self.assertEqual(
            shares(parse(*BACKEND, "--handler", "20:delay,30:dummy")), {"delay": 20, "dummy": 80}
        )

    def test_behavior_is_an_alias(self):
        self.assertEqual(shares(parse(*BACKEND, "--behavior", "10:hang")), {"hang": 10, "dummy": 90})
        self.assertEqual(shares(parse(*BACKEND, "--behavior=10:hang")), {"hang": 10, "dummy": 90})

    def test_options_default_then_command_line(self):
        settings = parse(*BACKEND, "--handler", "20:delay,5:error", "--handler-delay-sleep", "2")
        self.assertEqual(handler_options(settings, "delay"), {"sleep": 2.0, "before": True})
        self.assertEqual(handler_options(settings, "error"), {"inject": False, "warmup": 0})

    def test_behavior_option_alias_and_flags(self):
        settings = parse(
            *BACKEND, "--handler", "5:error,5:delay", "--behavior-delay-sleep", "0.5",
            "--handler-error-inject", "--behavior-error-warmup", "3",
        )
        self.assertEqual(handler_options(settings, "delay")["sleep"], 0.5)
        self.assertEqual(handler_options(settings, "error"), {"inject": True, "warmup": 3})

    def test_dotted_path(self):
        settings = parse(*BACKEND, "--handler", "30:vaurien.handlers.delay.Delay")
        entry = settings.proxies[0].handlers[0]
        self.assertEqual((entry.percent, entry.handler_class), (30, Delay))
        self.assertEqual(dict(entry.options), {"sleep": 1.0, "before": True})

    def test_protocol_options(self):
        proxy = parse(*BACKEND, "--protocol-tcp-keep-alive", "--protocol-tcp-buffer", "512").proxies[0]
        self.assertEqual(dict(proxy.protocol_options), {"keep_alive": True, "reuse_socket": False, "buffer": 512})

    def test_protocol_by_dotted_path(self):
        self.assertIs(parse(*BACKEND, "--protocol", "vaurien.protocols.tcp.TCP").proxies[0].protocol_class, TCP)

    def test_help_lists_plugin_options(self):
        usage_text = str(VaurienOptions())
        self.assertIn("--handler-delay-sleep FLOAT", usage_text)
        self.assertIn("--protocol-tcp-keep-alive", usage_text)


class AddressTests(ConfigTestCase):
    def listen(self, address: str) -> str:
        return parse("--proxy", address, *BACKEND).proxies[0].listen

    def backend(self, address: str) -> str:
        return parse("--backend", address).proxies[0].backend

    def test_host_port(self):
        self.assertEqual(self.listen("127.0.0.1:8001"), "tcp:8001:interface=127.0.0.1")
        self.assertEqual(self.backend("example.com:80"), "tcp:host=example.com:port=80")

    def test_ipv6(self):
        self.assertEqual(self.listen("[::1]:8000"), r"tcp6:8000:interface=\:\:1")
        self.assertEqual(self.backend("[::1]:80"), r"tcp:host=\:\:1:port=80")

    def test_endpoint_strings_pass(self):
        for address in ("tcp:8000:interface=127.0.0.1", "unix:/tmp/vaurien.sock", r"tcp6:0:interface=\:\:1"):
            self.assertEqual(self.listen(address), address)
        for address in ("tcp:host=localhost:port=6379", "unix:/tmp/redis.sock"):
            self.assertEqual(self.backend(address), address)


class IniTests(ConfigTestCase):
    def test_vaurien_section(self):
        path = self.write_ini(
            """
            [vaurien]
            proxy = 127.0.0.1:8001
            backend = 127.0.0.1:8002
            behavior = 20:delay
            timeout = 5
            stay_connected = true
            log-level = warning
            """
        )
        settings = parse("--config", path)
        proxy = settings.proxies[0]
        self.assertEqual((proxy.listen, proxy.backend), ("tcp:8001:interface=127.0.0.1", "tcp:host=127.0.0.1:port=8002"))
        self.assertEqual((proxy.timeout, proxy.stay_connected, settings.log_level), (5.0, True, "warning"))
        self.assertEqual(shares(settings), {"delay": 20, "dummy": 80})
        self.assertFalse(settings.demo)

    def test_handler_and_behavior_sections(self):
        path = self.write_ini(
            """
            [vaurien]
            backend = 127.0.0.1:8002
            handler = 20:delay,10:error
            [handler:delay]
            sleep = 3
            [behavior:error]
            inject = true
            [protocol:tcp]
            buffer = 1024
            """
        )
        settings = parse("--config", path)
        self.assertEqual(handler_options(settings, "delay"), {"sleep": 3.0, "before": True})
        self.assertEqual(handler_options(settings, "error"), {"inject": True, "warmup": 0})
        self.assertEqual(settings.proxies[0].protocol_options["buffer"], 1024)

    def test_callable_makes_a_new_handler(self):
        """The seed's form: C{[handler:foobar] callable = ...} plus options."""
        path = self.write_ini(
            """
            [vaurien]
            backend = 127.0.0.1:8002
            behavior = 20:foobar
            [handler:foobar]
            callable = vaurien.handlers.delay.Delay
            sleep = 0.25
            """
        )
        entry = parse("--config", path).proxies[0].handlers[0]
        self.assertEqual((entry.percent, entry.name, entry.handler_class), (20, "foobar", Delay))
        self.assertEqual(dict(entry.options), {"sleep": 0.25, "before": True})

    def test_command_line_overrides_file(self):
        path = self.write_ini(
            """
            [vaurien]
            proxy = 127.0.0.1:8001
            backend = 127.0.0.1:8002
            handler = 20:delay
            timeout = 5
            [handler:delay]
            sleep = 3
            before = true
            """
        )
        settings = parse(
            "--config", path, "--proxy", "127.0.0.1:9001", "--behavior", "40:delay",
            "--timeout", "0", "--handler-delay-sleep", "0.1",
        )
        proxy = settings.proxies[0]
        self.assertEqual((proxy.listen, proxy.backend), ("tcp:9001:interface=127.0.0.1", "tcp:host=127.0.0.1:port=8002"))
        self.assertEqual((proxy.timeout, shares(settings)), (0.0, {"delay": 40, "dummy": 60}))
        self.assertEqual(handler_options(settings, "delay"), {"sleep": 0.1, "before": True})

    def test_protocol_callable(self):
        path = self.write_ini(
            """
            [vaurien]
            backend = 127.0.0.1:8002
            protocol = lines
            [protocol:lines]
            callable = vaurien.protocols.tcp.TCP
            keep_alive = yes
            """
        )
        proxy = parse("--config", path).proxies[0]
        self.assertIs(proxy.protocol_class, TCP)
        self.assertTrue(proxy.protocol_options["keep_alive"])


class BadInputTests(ConfigTestCase):
    """Each wrong input is refused with a message naming the key, the value
    and what is allowed."""

    def test_unknown_handler_lists_known_ones(self):
        message = self.assertRefused(*BACKEND, "--handler", "20:nosuch")
        self.assertIn("--handler '20:nosuch'", message)
        self.assertIn("'nosuch'", message)
        for known in Handler.names():
            self.assertIn(known, message)

    def test_shares_over_100(self):
        message = self.assertRefused(*BACKEND, "--handler", "60:delay,50:error")
        self.assertIn("--handler '60:delay,50:error'", message)
        self.assertIn("110%", message)
        self.assertIn("100%", message)

    def test_malformed_shares(self):
        for spec in ("20delay", "x:delay", "-5:delay", "20:delay,", "20:"):
            message = self.assertRefused(*BACKEND, "--behavior", spec)
            self.assertIn(f"--handler {spec!r}", message)
            self.assertIn("PERCENT:NAME", message)
            self.assertIn("0 to 100", message)

    def test_handler_named_twice(self):
        message = self.assertRefused(*BACKEND, "--handler", "10:delay,10:delay")
        self.assertIn("'delay' is named twice", message)

    def test_option_of_the_wrong_type(self):
        message = self.assertRefused(*BACKEND, "--handler-delay-sleep", "abc")
        self.assertIn("--handler-delay-sleep 'abc'", message)
        self.assertIn("expected float", message)

    def test_core_option_of_the_wrong_type(self):
        message = self.assertRefused(*BACKEND, "--timeout", "soon")
        self.assertIn("--timeout 'soon'", message)
        self.assertIn("expected float", message)
        self.assertIn("must be at least 0", self.assertRefused(*BACKEND, "--timeout", "-1"))
        message = self.assertRefused(*BACKEND, "--log-level", "loud")
        self.assertIn("--log-level 'loud'", message)
        self.assertIn("debug, info, warning, error, critical", message)

    def test_wrong_type_in_file_names_section_and_file(self):
        path = self.write_ini("[vaurien]\nbackend = 127.0.0.1:9\n[handler:delay]\nsleep = abc\n")
        message = self.assertRefused("--config", path)
        self.assertIn(f"sleep = 'abc' in [handler:delay] of {path}", message)
        self.assertIn("expected float", message)

    def test_unknown_handler_option_in_file(self):
        path = self.write_ini("[vaurien]\nbackend = 127.0.0.1:9\n[behavior:delay]\nslep = 2\n")
        message = self.assertRefused("--config", path)
        self.assertIn(f"slep = '2' in [behavior:delay] of {path}", message)
        self.assertIn("no option 'slep'", message)
        self.assertIn("before, sleep", message)

    def test_section_of_an_unknown_handler(self):
        path = self.write_ini("[vaurien]\nbackend = 127.0.0.1:9\n[handler:nosuch]\nx = 1\n")
        message = self.assertRefused("--config", path)
        self.assertIn("[handler:nosuch]", message)
        self.assertIn("unknown handler 'nosuch'", message)

    def test_missing_file(self):
        message = self.assertRefused("--config", "/nonexistent/vaurien.ini")
        self.assertIn("--config '/nonexistent/vaurien.ini': no such file", message)

    def test_unreadable_file(self):
        path = self.mktemp()
        os.mkdir(path)
        message = self.assertRefused("--config", path)
        self.assertIn(f"--config {path!r}: cannot read the file", message)

    def test_syntax_error_names_file_and_line(self):
        path = self.write_ini("[vaurien]\nbackend = 127.0.0.1:9\nthis line is wrong\n")
        message = self.assertRefused("--config", path)
        self.assertIn(path, message)
        self.assertIn("line 3", message)

    def test_key_before_any_section(self):
        path = self.write_ini("backend = 127.0.0.1:9\n")
        message = self.assertRefused("--config", path)
        self.assertIn(f"{path}, line 1", message)
        self.assertIn("[vaurien]", message)

    def test_unknown_key_in_vaurien_section(self):
        path = self.write_ini("[vaurien]\nbackend = 127.0.0.1:9\nbakend = 127.0.0.1:9\n")
        message = self.assertRefused("--config", path)
        self.assertIn(f"unknown key 'bakend' in [vaurien] of {path}", message)
        self.assertIn("backend", message)

    def test_unknown_section(self):
        path = self.write_ini("[vaurien]\nbackend = 127.0.0.1:9\n[handlers]\n")
        self.assertIn("unknown section [handlers]", self.assertRefused("--config", path))

    def test_handler_and_behavior_both_given(self):
        path = self.write_ini("[vaurien]\nbackend = 127.0.0.1:9\nhandler = 1:delay\nbehavior = 2:delay\n")
        self.assertIn("give one of them", self.assertRefused("--config", path))

    def test_dotted_path_that_does_not_import(self):
        message = self.assertRefused(*BACKEND, "--handler", "20:nosuchpackage.mod.Handler")
        self.assertIn("--handler '20:nosuchpackage.mod.Handler'", message)
        self.assertIn("no module named 'nosuchpackage'", message)
        message = self.assertRefused(*BACKEND, "--handler", "20:vaurien.handlers.delay.Nope")
        self.assertIn("'vaurien.handlers.delay' has no attribute 'Nope'", message)

    def test_callable_that_does_not_import(self):
        path = self.write_ini(
            "[vaurien]\nbackend = 127.0.0.1:9\n[handler:foobar]\ncallable = vaurien.nosuch.Handler\n"
        )
        message = self.assertRefused("--config", path)
        self.assertIn(f"callable = 'vaurien.nosuch.Handler' in [handler:foobar] of {path}", message)
        self.assertIn("vaurien.nosuch", message)

    def test_class_that_is_not_a_handler(self):
        message = self.assertRefused(*BACKEND, "--handler", f"20:{__name__}.NotAHandler")
        self.assertIn("NotAHandler is not a valid handler", message)
        self.assertIn("lacks 'options'", message)

    def test_unparsable_addresses(self):
        for argv, key in (
            (["--proxy", "nowhere", *BACKEND], "--proxy 'nowhere'"),
            (["--proxy", "tcp:abc", *BACKEND], "--proxy 'tcp:abc'"),
            (["--proxy", "localhost:99999", *BACKEND], "--proxy 'localhost:99999'"),
            (["--backend", "tcp:host=x"], "--backend 'tcp:host=x'"),
            (["--backend", ":80"], "--backend ':80'"),
        ):
            message = self.assertRefused(*argv)
            self.assertIn(key, message)
            self.assertIn("host:port", message)

    def test_unknown_option(self):
        self.assertIn("nosuch", self.assertRefused("--nosuch"))
