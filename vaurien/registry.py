"""Finding plugins (handlers, protocols, toxics) by name, dotted path or
entry point.

A L{PluginRegistry} holds the classes registered under one interface;
registration checks each class with C{verifyClass} (and the shape of its
C{options}) so that a broken plugin is refused at start with a message for
a person. L{convert} reads a value as the type an option declares, for the
plugins' own C{option()} and for the configuration alike.
"""
from __future__ import annotations

import importlib
import os
import sys
from importlib.metadata import entry_points
from typing import Any

from zope.interface import Interface
from zope.interface.exceptions import Invalid
from zope.interface.verify import verifyClass

from vaurien.errors import PluginError


class PluginRegistry:
    """The classes known under one interface, by name.

    @ivar kind: the word used in messages (C{"handler"}, C{"protocol"}).
    """

    def __init__(self, interface: type[Interface], kind: str, group: str,
                 options: str = "options", set_later: tuple[str, ...] = ("settings", "proxy")):
        """
        @param interface: the interface every plugin class must provide.
        @param kind: the word used in messages.
        @param group: the entry-point group third-party plugins use.
        @param options: the class attribute declaring the plugin's options
            (toxics call them C{attributes}).
        @param set_later: attributes of the interface that instances get
            once made, not looked for on the class.
        """
        self.interface = interface
        self.kind = kind
        self.group = group
        self.options = options
        self.set_later = set_later
        self._classes: dict[str, type] = {}
        self._entry_points_loaded = False

    def register(self, cls: type) -> type:
        """Check C{cls} against the interface and make it known by its name.

        Usable as a class decorator. A name already taken by another class
        (a built-in's, say) is refused: nothing replaces a plugin silently.
        Such a class can still be used by its dotted path.

        @raise PluginError: when the class does not provide the interface,
            or its name is taken.
        """
        self.check(cls)
        taken = self._classes.get(cls.name)
        if taken is not None and _where(taken) != _where(cls):
            raise PluginError(
                f"{_where(cls)}: the {self.kind} name {cls.name!r} is taken by"
                f" {_where(taken)}; give the class another name, or use it by"
                f" its dotted path ({_where(cls)})."
            )
        self._classes[cls.name] = cls
        return cls

    def check(self, cls: type) -> None:
        """Refuse a class that does not provide the interface, saying why."""
        where = _where(cls)
        if not isinstance(cls, type):
            raise PluginError(
                f"{where} is not a class; a {self.kind} must be a class"
                f" providing {self.interface.__name__}."
            )
        missing = [
            attribute
            for attribute in self.interface.names()
            if attribute not in self.set_later
            and not self.interface[attribute].queryTaggedValue("optional")
            and not _defines(cls, attribute)
        ]
        if missing:
            raise PluginError(
                f"{where} is not a valid {self.kind}: it lacks"
                f" {', '.join(repr(m) for m in missing)}"
                f" (required by {self.interface.__name__})."
            )
        try:
            verifyClass(self.interface, cls, tentative=True)
        except Invalid as e:
            raise PluginError(f"{where} is not a valid {self.kind}: {e}") from None
        _check_options(cls, where, self.kind, self.options)

    def names(self) -> list[str]:
        """The names of every known plugin, sorted."""
        self._load_entry_points()
        return sorted(self._classes)

    def get(self, name: str) -> type:
        """The class registered as C{name}.

        @raise PluginError: listing the known names when there is none.
        """
        self._load_entry_points()
        try:
            return self._classes[name]
        except KeyError:
            raise PluginError(
                f"unknown {self.kind} {name!r}; known {self.kind}s:"
                f" {', '.join(self.names())} (or a dotted path to a class)"
            ) from None

    def resolve(self, spec: str) -> type:
        """The class named C{spec}: a registered name or a dotted path.

        A class found by dotted path is checked and registered under its
        own C{name} so that its options can be found too, unless that name
        is taken (the seed's example calls itself C{dummy}): then it is
        known by its dotted path only, and the name keeps its class.
        """
        if "." not in spec:
            return self.get(spec)
        cls = import_dotted(spec, self.kind)
        self.check(cls)
        self._classes.setdefault(cls.name, cls)
        return cls

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for entry_point in entry_points(group=self.group):
            try:
                cls = entry_point.load()
            except Exception as e:
                raise PluginError(
                    f"{self.kind} entry point {entry_point.name!r}"
                    f" ({entry_point.value}) does not load: {e}"
                ) from None
            self.check(cls)
            self._classes.setdefault(cls.name, cls)


def import_dotted(path: str, kind: str) -> object:
    """Import C{pkg.mod.Attr}, saying which part failed when it does not.

    @raise PluginError: when no module prefix imports or the attribute is
        missing.
    """
    parts = path.split(".")
    if not all(p.isidentifier() for p in parts):
        raise PluginError(f"{kind} {path!r} is not a name or a dotted path")
    for cut in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            obj = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name and module_name.startswith(e.name):
                continue
            raise PluginError(
                f"{kind} {path!r}: importing module {module_name!r} failed: {e}"
            ) from None
        except Exception as e:
            raise PluginError(
                f"{kind} {path!r}: importing module {module_name!r} failed:"
                f" {type(e).__name__}: {e}"
            ) from None
        for depth, attribute in enumerate(parts[cut:], start=cut):
            try:
                obj = getattr(obj, attribute)
            except AttributeError:
                raise PluginError(
                    f"{kind} {path!r}: {'.'.join(parts[:depth])!r} has no"
                    f" attribute {attribute!r}"
                ) from None
        return obj
    raise PluginError(f"{kind} {path!r}: no module named {parts[0]!r}{_path_hint(parts[0])}")


def _path_hint(module: str) -> str:
    """Where Python looked for C{module}, and how to add the current
    directory when it is not on the path (the C{vaurien} command's own
    directory is, not the one it runs in)."""
    if "" in sys.path or os.getcwd() in sys.path:
        return " (is it installed, or on PYTHONPATH?)"
    here = [f for f in (f"{module}.py", module) if os.path.exists(f)]
    found = f" ({here[0]} is there)" if here else ""
    return (
        f"; the current directory{found} is not on Python's path: run with"
        f" PYTHONPATH=. (e.g. PYTHONPATH=. vaurien ...), or install the module."
    )


def _where(cls: object) -> str:
    """The dotted path of a class, for messages."""
    return f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', cls)}"


def _defines(cls: type, attribute: str) -> bool:
    """C{True} when C{cls} or a base of its own (not C{object}) defines
    C{attribute}: every class answers C{hasattr(cls, "__call__")}."""
    return any(attribute in vars(base) for base in cls.__mro__ if base is not object)


def _check_options(cls: type, where: str, kind: str, attribute: str) -> None:
    options = getattr(cls, attribute, None)
    if not isinstance(options, dict):
        raise PluginError(f"{where} is not a valid {kind}: {attribute!r} must be a dict")
    for option, spec in options.items():
        if not (isinstance(spec, tuple) and len(spec) in (3, 4) and isinstance(spec[1], type)):
            raise PluginError(
                f"{where} is not a valid {kind}: {attribute[:-1]} {option!r} must be"
                " (description, type, default[, choices])"
            )


_TRUE = frozenset(("1", "true", "yes", "on", "y"))
_FALSE = frozenset(("0", "false", "no", "off", "n", ""))


def convert(value: Any, type_: type) -> Any:
    """Return C{value} as C{type_}.

    Strings are parsed (C{"true"}/C{"false"} and friends for booleans);
    values already of the right type pass as they are.

    @raise ValueError: with a short reason when the value does not fit.
    """
    if type_ is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(f"expected true or false, got {value!r}")
    if isinstance(value, type_) and not isinstance(value, bool):
        return value
    if type_ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and type_ in (int, float):
        try:
            return type_(value.strip())
        except ValueError:
            raise ValueError(f"expected {type_.__name__}, got {value!r}") from None
    if type_ is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected {type_.__name__}, got {value!r}")
