"""The optional C accelerators in tests: a test of one runs only where
the code uses it (built, and C{VAURIEN_NO_EXTENSIONS} not set). And the
fast paths: a test of the lane or splice through a proxy runs only where
they are on (C{VAURIEN_NO_FAST_PATH} not set)."""
from __future__ import annotations

from types import ModuleType

from twisted.trial.unittest import SkipTest

from vaurien.extensions import accelerator
from vaurien.fastpath import ENVIRONMENT, asked_off


def in_use(name: str) -> ModuleType:
    """The C module of dotted name C{name}.

    @raise SkipTest: the Python twins run instead.
    """
    module = accelerator(name)
    if module is None:
        raise SkipTest(f"{name} is not in use (not built, or VAURIEN_NO_EXTENSIONS set)")
    return module


def fast_paths_on() -> None:
    """Go on only where a proxy takes the fast paths.

    @raise SkipTest: C{VAURIEN_NO_FAST_PATH} turns them off.
    """
    if asked_off():
        raise SkipTest(f"the fast paths are off ({ENVIRONMENT} is set): this tests the lane"
                       " or splice through a proxy")
