"""The Sphinx documentation builds with warnings as errors, so that the
reference generated from the code and every cross-reference stay valid."""
from __future__ import annotations

import html
import os
import re
import shutil
import sys
import tempfile

from twisted.trial.unittest import TestCase

try:
    from sphinx.cmd.build import build_main
except ImportError:
    build_main = None
try:
    import graphviz
except ImportError:
    graphviz = None

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")


class DocsBuildTests(TestCase):
    if build_main is None or graphviz is None:
        skip = "sphinx or graphviz is not installed: pip install '.[test]' to build the docs"
    elif shutil.which("dot") is None:
        skip = "Graphviz's dot draws the docs' diagrams: apt-get install graphviz"

    def build(self, builder: str) -> tuple[int, str, str]:
        """Build the docs with C{builder} into a temporary directory.

        @return: the exit status, the warnings written, and the output
            directory.
        """
        out = tempfile.mkdtemp(prefix="vaurien-docs-")
        self.addCleanup(_remove_tree, out)
        warnings = os.path.join(out, "warnings.txt")
        path = list(sys.path)
        try:
            status = build_main(
                ["-W", "--keep-going", "-q", "-w", warnings, "-b", builder, DOCS,
                 os.path.join(out, builder)]
            )
        finally:
            sys.path[:] = path  # conf.py puts docs/_ext and the checkout first
        with open(warnings, encoding="utf-8") as f:
            return status, f.read(), os.path.join(out, builder)

    def test_builds_without_warnings(self) -> None:
        """The HTML build passes with warnings as errors."""
        status, warnings, out = self.build("html")
        self.assertEqual(status, 0, f"the docs build failed:\n{warnings}")
        self.assertEqual(warnings, "")
        for page in ("index", "quickstart", "configuration", "handlers", "toxics",
                     "protocols/index", "api", "testing", "extending", "writing-protocols", "running",
                     "architecture"):
            self.assertTrue(os.path.exists(os.path.join(out, page + ".html")), page)

    def test_reference_is_generated_from_the_code(self) -> None:
        """Every core setting, handler and protocol option appears in the
        generated pages, under its command-line and INI spellings."""
        from vaurien.config.core import CORE_SETTINGS as settings
        from vaurien.config.plugins import TARGET_KEYS
        from vaurien.handlers import Handler
        from vaurien.protocols import Protocol
        from vaurien.toxics import Toxic

        status, warnings, out = self.build("html")
        self.assertEqual(status, 0, f"the docs build failed:\n{warnings}")

        def page(name: str) -> str:
            """The text of a built page, tags removed."""
            with open(os.path.join(out, name + ".html"), encoding="utf-8") as f:
                return html.unescape(re.sub(r"<[^>]+>", "", f.read()))

        configuration = page("configuration")
        for setting in settings.values():
            self.assertIn(f"--{setting.option}", configuration)
            self.assertIn(setting.doc.split(":")[0], configuration)
        handlers = page("handlers")
        for kind, registry, text in (
            ("handler", Handler, handlers),
            ("protocol", Protocol, page("protocols/index")),
        ):
            for name in registry.names():
                cls = registry.get(name)
                self.assertIn(f"{cls.__module__}.{cls.__qualname__}", text)
                for option in registry.get(name).options:
                    flag = f"--{kind}-{name}-{option}".replace("_", "-")
                    self.assertIn(flag, text)
        for key in TARGET_KEYS:
            self.assertIn(f"--handler-NAME-{key}", handlers)
        toxics = page("toxics")
        for name in Toxic.names():
            cls = Toxic.get(name)
            self.assertIn(f"{cls.__module__}.{cls.__qualname__}", toxics)
            for attribute in cls.attributes:
                self.assertIn(f"--toxic-NAME-{attribute}".replace("_", "-"), toxics)
        self.assertNotIn("C{", toxics)
        # epytext markup is turned into reStructuredText, never shown.
        self.assertNotIn("C{", handlers)

    def test_connection_diagram_is_drawn_from_the_machine(self) -> None:
        """The architecture page shows the connection's state diagram, drawn
        from the machine at build time, and lists its modes: every mode of
        the machine is in both."""
        from vaurien.proxy import machine

        status, warnings, out = self.build("html")
        self.assertEqual(status, 0, f"the docs build failed:\n{warnings}")
        with open(os.path.join(out, "_images", "connection-machine.svg"), encoding="utf-8") as f:
            diagram = f.read()
        with open(os.path.join(out, "architecture.html"), encoding="utf-8") as f:
            page = f.read()
        self.assertIn("connection-machine.svg", page)
        modes = [value for name, value in vars(machine).items()
                 if name.isupper() and isinstance(value, str)]
        self.assertIn("connecting", modes)
        self.assertIn("closed", modes)
        for mode in modes:
            self.assertIn(f">{mode}</text>", diagram)
            self.assertIn(f'<span class="pre">{mode}</span>', page)


def _remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
