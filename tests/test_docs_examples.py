"""The examples of docs/testing.rst, each a file under docs/examples/,
run as a user runs them (pytest with the fixture, trial) against a real
echo backend; and the page shows every one of them."""
from __future__ import annotations

import os
import re
import sys

from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase

from tests.processes import SOURCE_TREE, environment

EXAMPLES = os.path.join(SOURCE_TREE, "docs", "examples")


class DocsExamplesTests(TestCase):
    timeout = 120

    async def run_examples(self, *arguments: str) -> str:
        """Run C{python ARGUMENTS} in docs/examples; its output, once it
        exited 0."""
        env = {**environment(), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        out, err, status = await getProcessOutputAndValue(
            sys.executable, arguments, env=env, path=EXAMPLES)
        output = (out + err).decode(errors="replace")
        self.assertEqual(status, 0, output)
        return output

    async def test_the_pytest_and_unittest_examples_pass_under_pytest(self):
        output = await self.run_examples(
            "-m", "pytest", "-p", "vaurien.testing.pytest_plugin", "-p", "no:cacheprovider",
            "-q", "test_start_proxy.py", "test_pytest_fixture.py")
        self.assertIn("5 passed", output)

    async def test_the_trial_example_passes_under_trial(self):
        temporary = os.path.abspath(self.mktemp())
        output = await self.run_examples(
            "-m", "twisted.trial", "--temp-directory", temporary, "test_trial_helper")
        self.assertIn("PASSED (successes=1)", output)

    def test_the_page_includes_every_example(self):
        with open(os.path.join(SOURCE_TREE, "docs", "testing.rst"), encoding="utf-8") as page:
            included = set(re.findall(r"literalinclude:: examples/(\S+)", page.read()))
        self.assertEqual(included, {name for name in os.listdir(EXAMPLES) if name.endswith(".py")})
