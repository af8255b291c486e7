"""The house rules of docs/architecture.rst ("The house"), held over the
source tree: short modules, imports that run one way, and no module
reading another's private attributes.

The sources are parsed with L{ast}, never imported, so a rule holds for a
package the moment its first file appears (C{toxics/}, C{fastpath/},
C{config/} are named here before they exist).
"""
from __future__ import annotations

import ast
import functools
import os
from dataclasses import dataclass
from typing import Iterator

from twisted.trial.unittest import TestCase

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: The longest a module of the package may be, in lines.
MAX_LINES = 400
#: The modules that only assemble: nothing imports them.
ASSEMBLERS = ("vaurien.script", "twisted.plugins.vaurien_plugin")
#: C{python -m vaurien} is the C{vaurien} command: it runs the script.
COMMAND_ENTRY = "vaurien.__main__"
#: The plugin rooms: they meet each other only through the interfaces.
ROOMS = ("vaurien.handlers", "vaurien.toxics", "vaurien.protocols")
#: What the plugin rooms never import, besides each other.
ABOVE_ROOMS = ("vaurien.proxy", "vaurien.fastpath", "vaurien.control",
               "vaurien.service", "vaurien.script")

#: The socket wrappers' C{_closed}: the seed's, public by the handler contract.
SEED_CLOSED = "_closed"
#: The only package that may read Twisted's private attributes: the fast paths.
FAST_PATH = "vaurien/fastpath/"
#: Twisted's private attributes read today, and where: only vaurien/fastpath/
#: may (L{HouseRulesTests.test_only_the_fast_path_reads_twisted_privates}).
TWISTED_PRIVATES = {
    # send_now: a direct send only when the transport holds no write back;
    # unsent_bytes: what a transport still holds, before a splice or the lane.
    ("vaurien/fastpath/sending.py", "_tempDataLen"),
    # _take_unsent: those held bytes, moved from the transport to the pipe.
    ("vaurien/fastpath/splice.py", "_tempDataLen"),
    ("vaurien/fastpath/splice.py", "_tempDataBuffer"),
    # _epoll_fd: the epoll reactor's own set, which the pump waits on.
    ("vaurien/fastpath/lane.py", "_poller"),
    # connect: a tcp endpoint's address, connected to without its wrapping.
    ("vaurien/fastpath/connecting.py", "_reactor"),
    ("vaurien/fastpath/connecting.py", "_host"),
    ("vaurien/fastpath/connecting.py", "_port"),
    ("vaurien/fastpath/connecting.py", "_timeout"),
    ("vaurien/fastpath/connecting.py", "_bindAddress"),
}


@dataclass(frozen=True)
class Module:
    """One source file: its dotted name, its path from the checkout's
    root, its text and its syntax tree."""

    name: str
    path: str
    text: str
    tree: ast.Module

    @classmethod
    def parse(cls, path: str, text: str) -> Module:
        """The module at C{path} (from the checkout's root), holding C{text}."""
        name = path[:-3].replace("/", ".").removesuffix(".__init__")
        return cls(name, path, text, ast.parse(text, path))

    @property
    def package(self) -> str:
        """The package its relative imports start from."""
        return self.name if self.path.endswith("__init__.py") else self.name.rpartition(".")[0]


@functools.lru_cache(maxsize=None)
def modules(top: str = "vaurien") -> tuple[Module, ...]:
    """Every C{.py} file under C{top} (a directory of the checkout)."""
    found = []
    for directory, subdirectories, files in os.walk(os.path.join(ROOT, top)):
        subdirectories.sort()
        for filename in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(directory, filename)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            found.append(Module.parse(os.path.relpath(path, ROOT).replace(os.sep, "/"), text))
    return tuple(found)


def all_modules() -> tuple[Module, ...]:
    """The package's modules and the twistd plugin."""
    return modules() + tuple(m for m in modules("twisted") if m.name in ASSEMBLERS)


def within(name: str, packages: tuple[str, ...]) -> bool:
    """Whether module C{name} is one of C{packages} or inside one."""
    return any(name == p or name.startswith(p + ".") for p in packages)


def long_modules() -> list[str]:
    """The package's modules over L{MAX_LINES} lines."""
    return [
        f"{m.path}: {len(m.text.splitlines())} lines"
        for m in modules()
        if len(m.text.splitlines()) > MAX_LINES
    ]


# Imports run one way.


@dataclass(frozen=True)
class ImportRule:
    """Modules inside C{importers} (and not inside C{exempt}) never import
    anything inside C{forbidden}."""

    importers: tuple[str, ...]
    forbidden: tuple[str, ...]
    words: str
    exempt: tuple[str, ...] = ()

    def binds(self, module: str) -> bool:
        return within(module, self.importers) and not within(module, self.exempt)


IMPORT_RULES = [
    ImportRule(("vaurien.interfaces",), ("vaurien",),
               "interfaces.py imports nothing of the package"),
    *(
        ImportRule((room,), tuple(r for r in ROOMS if r != room) + ABOVE_ROOMS,
                   f"{room} meets the others only through the interfaces")
        for room in ROOMS
    ),
    ImportRule(("vaurien", "twisted"), ("vaurien.fastpath",),
               "only vaurien/proxy/ imports vaurien.fastpath",
               exempt=("vaurien.proxy", "vaurien.fastpath")),
    ImportRule(("vaurien.proxy",), ("vaurien.control",),
               "vaurien/proxy/ never imports vaurien.control"),
    ImportRule(("vaurien.config",), ("vaurien.proxy",),
               "vaurien/config/ never imports vaurien.proxy"),
    ImportRule(("vaurien", "twisted"), ASSEMBLERS,
               "nothing imports the script or the twistd plugin: they only assemble",
               exempt=ASSEMBLERS + (COMMAND_ENTRY,)),
]


def imports(module: Module) -> Iterator[tuple[int, str]]:
    """Each module C{module} imports, anywhere in it (functions included),
    absolute: C{(line, dotted name)}. C{from a import b} counts as
    importing C{a.b}, since C{b} may be a module (and C{a.b} is inside
    C{a} for the rules)."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = absolute(module, node)
            for alias in node.names:
                yield node.lineno, base if alias.name == "*" else f"{base}.{alias.name}"


def absolute(module: Module, node: ast.ImportFrom) -> str:
    """The module a C{from ... import} statement reads from, absolute."""
    if not node.level:
        return node.module or ""
    package = module.package.split(".")
    base = ".".join(package[: len(package) - node.level + 1])
    return f"{base}.{node.module}" if node.module else base


def import_violations(sources: tuple[Module, ...] | None = None) -> list[str]:
    """Every import in C{sources} (the whole tree by default) that breaks
    one of L{IMPORT_RULES}."""
    found = {}
    for module in all_modules() if sources is None else sources:
        rules = [rule for rule in IMPORT_RULES if rule.binds(module.name)]
        for line, target in imports(module):
            for rule in rules:
                if within(target, rule.forbidden):
                    message = f"{module.path}:{line}: imports {target}: {rule.words}"
                    found.setdefault((module.path, line, rule.words), message)
    return list(found.values())


# No module reads another's private attributes.


def private(name: str) -> bool:
    """A private name: a leading underscore, and not a C{__dunder__}."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@dataclass(frozen=True)
class Use:
    """An access to private attribute C{name} of C{owner}, at C{line},
    in the class named C{inside} (C{""} outside any)."""

    line: int
    owner: ast.expr
    name: str
    reads: bool
    inside: str


class _Privates(ast.NodeVisitor):
    """One module's private names: which class defines each (C{""} for
    the module itself), and every access to one."""

    def __init__(self) -> None:
        self.definers: dict[str, set[str]] = {}
        self.classes: set[str] = set()
        self.uses: list[Use] = []
        self.imported: list[tuple[int, str, str]] = []
        self._inside = [""]

    def define(self, name: str) -> None:
        if private(name):
            self.definers.setdefault(name, set()).add(self._inside[-1])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.define(node.name)
        self.classes.add(node.name)
        self._inside.append(node.name)
        for statement in node.body:
            for name in class_level_names(statement):
                self.define(name)
        self.generic_visit(node)
        self._inside.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.define(node.name)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if private(node.attr):
            reads = isinstance(node.ctx, ast.Load)
            self.uses.append(Use(node.lineno, node.value, node.attr, reads, self._inside[-1]))
            if not reads and is_self(node.value):
                self.define(node.attr)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        """C{getattr(owner, "_name")} and its kin are accesses too."""
        kin = ("getattr", "hasattr", "setattr", "delattr")
        if isinstance(node.func, ast.Name) and node.func.id in kin and len(node.args) > 1:
            name = getattr(node.args[1], "value", None)
            if isinstance(name, str) and private(name):
                reads = node.func.id in kin[:2]
                self.uses.append(Use(node.lineno, node.args[0], name, reads, self._inside[-1]))
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        """C{from other import _name} reads another module's private name."""
        for alias in node.names:
            if private(alias.name):
                source = "." * node.level + (node.module or "")
                self.imported.append((node.lineno, source, alias.name))


def class_level_names(statement: ast.stmt) -> Iterator[str]:
    """The names a statement of a class body assigns, and the names its
    C{__slots__} lists."""
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
        targets = [statement.target]
    else:
        return
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                yield node.id
                if node.id == "__slots__" and statement.value is not None:
                    for slot in ast.walk(statement.value):
                        if isinstance(slot, ast.Constant) and isinstance(slot.value, str):
                            yield slot.value


def is_self(owner: ast.expr) -> bool:
    return isinstance(owner, ast.Name) and owner.id in ("self", "cls")


def is_super(owner: ast.expr) -> bool:
    return (isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name)
            and owner.func.id == "super")


def own(use: Use, found: _Privates) -> bool:
    """Whether C{use} reads what its own module defines: on C{self},
    C{cls} or a class of the module; through C{super()} only when another
    class of the module defines it (a base elsewhere is another's)."""
    definers = found.definers.get(use.name, set())
    if is_self(use.owner) or (isinstance(use.owner, ast.Name) and use.owner.id in found.classes):
        return bool(definers)
    if is_super(use.owner):
        return bool(definers - {use.inside})
    return False


def private_violations(sources: tuple[Module, ...] | None = None) -> list[str]:
    """Every access, in C{sources} (the package by default), to another
    module's private names."""
    found = []
    for module in modules() if sources is None else sources:
        privates = _Privates()
        privates.visit(module.tree)
        for use in privates.uses:
            seed = use.name == SEED_CLOSED and use.reads
            if not (own(use, privates) or seed or (module.path, use.name) in TWISTED_PRIVATES):
                found.append(f"{module.path}:{use.line}: {ast.unparse(use.owner)}.{use.name}")
        for line, source, name in privates.imported:
            found.append(f"{module.path}:{line}: from {source} import {name}")
    return found


class HouseRulesTests(TestCase):
    """The house rules hold over the package's sources."""

    def assertClean(self, violations: list[str], rule: str) -> None:
        if violations:
            self.fail(f"{len(violations)} breaches of '{rule}':\n" + "\n".join(violations))

    def test_modules_are_short(self) -> None:
        """No module of the package is over 400 lines."""
        self.assertClean(long_modules(), f"modules of at most {MAX_LINES} lines")

    def test_imports_run_one_way(self) -> None:
        """Each room imports only what the house lets it."""
        self.assertClean(import_violations(), "imports run one way")

    def test_only_the_fast_path_reads_twisted_privates(self) -> None:
        """Every module let read Twisted's private attributes is in
        vaurien/fastpath/."""
        self.assertEqual([path for path, _ in TWISTED_PRIVATES if not path.startswith(FAST_PATH)], [])

    def test_no_module_reads_anothers_privates(self) -> None:
        """A private name is read only in the module that defines it (the
        seed's C{_closed} is public); Twisted's, by the fast path only."""
        self.assertClean(private_violations(), "no module reads another's private attributes")


def parsed(path: str, text: str) -> tuple[Module, ...]:
    return (Module.parse(path, text),)


class CheckerTests(TestCase):
    """The checkers find what they are meant to, in made-up sources."""

    def test_imports(self) -> None:
        """Relative imports, C{from} imports and imports inside functions
        all count, and a rule binds packages that do not exist yet; the
        proxy may import the fast path, and a package its own modules."""
        sources = parsed("vaurien/toxics/slow.py", (
            "from ..handlers import base\n"
            "def later():\n"
            "    import vaurien.fastpath.pump\n"
        ))
        sources += parsed("vaurien/proxy/relay.py", "from vaurien.fastpath import lane\n")
        sources += parsed("vaurien/fastpath/__init__.py", "from .lane import Lane\n")
        self.assertEqual(import_violations(sources), [
            "vaurien/toxics/slow.py:1: imports vaurien.handlers.base:"
            " vaurien.toxics meets the others only through the interfaces",
            "vaurien/toxics/slow.py:3: imports vaurien.fastpath.pump:"
            " vaurien.toxics meets the others only through the interfaces",
            "vaurien/toxics/slow.py:3: imports vaurien.fastpath.pump:"
            " only vaurien/proxy/ imports vaurien.fastpath",
        ])

    def test_private_owned(self) -> None:
        """What the module defines, read on self, cls, its classes or
        through super() to another of its classes, is its own."""
        self.assertEqual(private_violations(parsed("vaurien/x.py", (
            "class _Base:\n"
            "    __slots__ = ('_slot',)\n"
            "    _level = 1\n"
            "    def _step(self): return self._slot + self._level + _Base._level\n"
            "class Reader(_Base):\n"
            "    def __init__(self): self._n = 0\n"
            "    def _step(self): return super()._step() + self._n + self.__dict__\n"
            "    make = classmethod(lambda cls: cls._level)\n"
            "def close(sock): return sock._closed\n"
        ))), [])

    def test_private_of_another(self) -> None:
        """Another's private names, however read, are reported by module,
        line and attribute."""
        self.assertEqual(private_violations(parsed("vaurien/x.py", (
            "from vaurien.y import _helper\n"
            "class Mixin:\n"
            "    def go(self, other):\n"
            "        return self._elsewhere, other._x, getattr(other, '_y')\n"
            "    def _gather(self):\n"
            "        return super()._gather()\n"
            "def shut(sock): sock._closed = True\n"
        ))), [
            "vaurien/x.py:4: self._elsewhere",
            "vaurien/x.py:4: other._x",
            "vaurien/x.py:4: other._y",
            "vaurien/x.py:6: super()._gather",
            "vaurien/x.py:7: sock._closed",
            "vaurien/x.py:1: from vaurien.y import _helper",
        ])
