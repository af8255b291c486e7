"""The optional C accelerators in tests: a test of one runs only where
the code uses it (built, and C{VAURIEN_NO_EXTENSIONS} not set)."""
from __future__ import annotations

from types import ModuleType

from twisted.trial.unittest import SkipTest

from vaurien.extensions import accelerator


def in_use(name: str) -> ModuleType:
    """The C module of dotted name C{name}.

    @raise SkipTest: the Python twins run instead.
    """
    module = accelerator(name)
    if module is None:
        raise SkipTest(f"{name} is not in use (not built, or VAURIEN_NO_EXTENSIONS set)")
    return module
