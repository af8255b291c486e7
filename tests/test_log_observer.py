"""The command's log observer: level filter and output file."""
from __future__ import annotations

from twisted.logger import Logger
from twisted.trial.unittest import TestCase

from vaurien.errors import ConfigError
from vaurien.log_observer import log_observer


class LogObserverTests(TestCase):
    def test_writes_events_from_the_level_up(self):
        path = self.mktemp()
        observer = log_observer("warning", path)
        log = Logger(namespace="vaurien.test", observer=observer)
        log.info("not this one")
        log.warn("this {what}", what="one")
        with open(path, encoding="utf-8") as written:
            text = written.read()
        self.assertNotIn("not this one", text)
        self.assertIn("[vaurien.test#warn] this one", text)

    def test_unwritable_file_is_a_config_error(self):
        error = self.assertRaises(ConfigError, log_observer, "info", "/nonexistent/dir/v.log")
        self.assertIn("--log-output '/nonexistent/dir/v.log'", str(error))
