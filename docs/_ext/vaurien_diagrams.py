"""The connection's state machine in the docs, drawn from the code at
each build, so that it cannot drift.

The machine (L{vaurien.proxy.machine.draw}, Automat's own drawing) is
rendered to C{_generated/connection-machine.svg} under the docs (a
directory git ignores), which C{architecture.rst} shows.

C{.. vaurien-connection-modes::}
    The modes, one line each, as the C{Modes::} block of
    L{vaurien.proxy.machine}'s docstring describes them.

Drawing needs the C{graphviz} Python package (the C{test} extra) and
Graphviz's C{dot} command (Debian's C{graphviz} package, which
C{run-tests.sh} installs); without them the build warns, so that a build
with C{-W} fails.
"""
from __future__ import annotations

import os
import re
from typing import Any

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

#: Where the diagram goes, from the docs' source directory.
CONNECTION_MACHINE = os.path.join("_generated", "connection-machine.svg")


def connection_machine_svg() -> bytes:
    """The connection's state machine, as SVG."""
    from vaurien.proxy.machine import draw

    return draw().pipe(format="svg")


def write_if_changed(path: str, content: bytes) -> None:
    """Write C{content} to C{path} unless it holds it already: an
    unchanged file keeps its time, and its page is not rebuilt for it."""
    try:
        with open(path, "rb") as f:
            if f.read() == content:
                return
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(content)


def draw_diagrams(app: Any) -> None:
    try:
        svg = connection_machine_svg()
    except Exception as e:  # graphviz missing, dot missing, dot failing
        logger.warning(
            "the connection's state diagram cannot be drawn (%s: %s): it needs the"
            " graphviz Python package (pip install '.[test]') and Graphviz's dot"
            " command (apt-get install graphviz)", type(e).__name__, e,
        )
        return
    write_if_changed(os.path.join(app.srcdir, CONNECTION_MACHINE), svg)


#: A mode's first line in the docstring: its name, two spaces or more, what it is.
_MODE = re.compile(r"^(\w+)\s{2,}(.*)$")


def modes(docstring: str) -> list[tuple[str, str]]:
    """The modes the C{Modes::} block of C{docstring} lists, each with its
    description (its continuation lines joined)."""
    block = []
    for line in docstring.partition("Modes::")[2].splitlines()[1:]:
        if line.strip() and not line[:1].isspace():
            break  # the first line back at the margin ends the block
        block.append(line)
    margin = min((len(l) - len(l.lstrip()) for l in block if l.strip()), default=0)
    found: list[tuple[str, str]] = []
    for line in block:
        start = _MODE.match(line[margin:])
        if start:
            found.append(start.groups())
        elif line.strip() and found:
            found[-1] = (found[-1][0], f"{found[-1][1]} {line.strip()}")
    return found


class ModesDirective(SphinxDirective):
    """The connection's modes, as a definition list."""

    def run(self) -> list:
        from vaurien.proxy import machine

        self.env.note_dependency(machine.__file__)
        listed = nodes.definition_list()
        for name, description in modes(machine.__doc__ or ""):
            term = nodes.term("", "", nodes.literal(name, name))
            text = nodes.definition("", nodes.paragraph(description, description))
            listed += nodes.definition_list_item("", term, text)
        if not listed.children:
            logger.warning("vaurien.proxy.machine's docstring lists no modes",
                           location=self.get_location())
        return [listed]


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", draw_diagrams)
    app.add_directive("vaurien-connection-modes", ModesDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
