"""What an install ships: every package of the source tree is listed in
setup.cfg, so the installed C{vaurien} command imports what the tests
import from the tree."""
from __future__ import annotations

import configparser
import os

from twisted.trial.unittest import TestCase

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class PackagesTests(TestCase):
    def test_every_package_is_listed(self):
        config = configparser.ConfigParser()
        config.read(os.path.join(ROOT, "setup.cfg"))
        listed = set(config["options"]["packages"].split())
        found = {
            os.path.relpath(directory, ROOT).replace(os.sep, ".")
            for directory, _, files in os.walk(os.path.join(ROOT, "vaurien"))
            if "__init__.py" in files
        }
        self.assertEqual(found - listed, set())
