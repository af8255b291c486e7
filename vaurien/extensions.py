"""The one switch over the optional C accelerators
(C{vaurien.protocols.redis._skim}, C{vaurien.protocols.http._skim},
C{vaurien.fastpath._pump}): each chooser asks here for its C module by its full
dotted name and falls back on its pure Python twin without one.

C{VAURIEN_NO_EXTENSIONS=1} in the environment forces the Python twins
everywhere, as if no C compiler had been at hand at install.
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType


def pure_python() -> bool:
    """Whether C{VAURIEN_NO_EXTENSIONS} asks for the Python twins."""
    return os.environ.get("VAURIEN_NO_EXTENSIONS", "") not in ("", "0")


def accelerator(name: str) -> ModuleType | None:
    """The C module of dotted name C{name} (e.g.
    C{"vaurien.protocols.redis._skim"}), or C{None} when it was not built
    or the Python twins are asked for."""
    if pure_python():
        return None
    try:
        return importlib.import_module(name)
    except ImportError:  # not built: no C compiler at install
        return None
