"""Reference text generated from Vaurien's code, so that it cannot drift.

Directives:

C{.. vaurien-options::}
    Every core setting (C{CORE_SETTINGS} of L{vaurien.config.core}): the
    command-line option, the C{[vaurien]} key, type, default, description.
C{.. vaurien-handlers::}
    Every registered handler: docstring, options, and the targeting keys.
C{.. vaurien-protocols::}
    Every registered protocol: docstring, framing, options.
C{.. vaurien-toxics::}
    Every registered toxic: docstring, attributes with their units.

Each directive writes reStructuredText lines and parses them in place; the
page is re-read when the modules it was generated from change.
"""
from __future__ import annotations

import inspect
import re
import sys
from dataclasses import dataclass
from typing import Any, Iterable

from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

#: Characters that mean something in inline reStructuredText.
_SPECIAL = re.compile(r"([\\`*|_<>\[\]])")
#: Epytext inline markup: C{code}, L{link}, I{italic}, B{bold}, U{url}.
_EPYTEXT = re.compile(r"([CLIBMU])\{([^{}]*)\}")
#: An epytext field starting a line: @param, @ivar, @return...
_FIELD = re.compile(r"^\s*@\w+")


def escape(text: str) -> str:
    """C{text} as plain inline reStructuredText."""
    return _SPECIAL.sub(r"\\\1", text)


def literal(text: str) -> str:
    """C{text} as an inline literal."""
    return f"``{text}``" if text.strip() else '``""``'


def _guarded(before: str, markup: str, after: str) -> str:
    """C{markup} that stays markup between the characters around it: an
    inline literal next to a letter needs an escaped space to be one."""
    head = "\\ " if before and not before.isspace() and before not in "([{'\"/-" else ""
    tail = "\\ " if after and (after.isalnum() or after in "_") else ""
    return head + markup + tail


def inline(text: str) -> str:
    """One line of epytext-flavoured prose as inline reStructuredText:
    C{...} and L{...} become literals, I{...} emphasis, B{...} strong."""
    out = []
    pos = 0
    for match in _EPYTEXT.finditer(text):
        out.append(escape(text[pos:match.start()]))
        kind, content = match.groups()
        if kind in "CLM":
            markup = literal(content)
        elif kind == "I":
            markup = f"*{escape(content)}*"
        elif kind == "B":
            markup = f"**{escape(content)}**"
        else:
            markup = escape(content)
        before = text[match.start() - 1] if match.start() else ""
        after = text[match.end()] if match.end() < len(text) else ""
        out.append(_guarded(before, markup, after))
        pos = match.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def docstring_lines(obj: Any) -> list[str]:
    """The docstring of C{obj}, cleaned: dedented, epytext fields dropped,
    inline markup turned into reStructuredText."""
    doc = inspect.cleandoc(obj.__doc__ or "")
    lines = []
    in_field = False
    for line in doc.splitlines():
        if _FIELD.match(line):
            in_field = True
            continue
        if in_field and (not line.strip() or line[:1].isspace()):
            if not line.strip():
                in_field = False
            continue
        in_field = False
        lines.append(inline(line))
    # Epytext markup may span lines: join each paragraph into one line so
    # that C{...} broken over two lines is still found.
    paragraphs = "\n".join(lines).split("\n\n")
    return [p.replace("\n", " ").strip() for p in paragraphs if p.strip()]


def default_text(value: Any, type_: type) -> str:
    """A default as a user would write it in the INI file."""
    if value is None:
        return "*none*"
    if type_ is bool:
        return literal("true" if value else "false")
    return literal(str(value))


def list_table(header: list[str], rows: Iterable[list[str]], widths: str) -> list[str]:
    """The lines of a C{list-table} directive."""
    lines = [".. list-table::", "   :header-rows: 1", f"   :widths: {widths}", ""]
    for row in [header, *rows]:
        for i, cell in enumerate(row):
            lines.append(f"   {'*' if i == 0 else ' '} - {cell or ' '}")
    lines.append("")
    return lines


def title(text: str, underline: str) -> list[str]:
    return [text, underline * len(text), ""]


class _Generated(SphinxDirective):
    """A directive whose content is generated reStructuredText."""

    has_content = False
    required_arguments = 0
    optional_arguments = 0

    def lines(self) -> list[str]:
        raise NotImplementedError

    def depend_on(self, *objects: Any) -> None:
        """Re-read this page when the source of C{objects} changes."""
        for obj in objects:
            module = obj if inspect.ismodule(obj) else sys.modules.get(obj.__module__)
            path = getattr(module, "__file__", None)
            if path:
                self.env.note_dependency(path)

    def run(self) -> list:
        source = self.get_source_info()[0] or "<vaurien_reference>"
        content = StringList()
        for number, line in enumerate(self.lines()):
            content.append(line, f"{source}:<{self.name}>", number)
        holder = _section_holder(self.state.document)
        nested_parse_with_titles(self.state, content, holder)
        return holder.children


def _section_holder(document: Any) -> Any:
    from docutils import nodes

    holder = nodes.section()
    holder.document = document
    return holder


def core_settings() -> tuple[Any, dict, dict, tuple]:
    """The core settings table: the module (to depend on), name to
    setting, alias to name, and the names a C{[proxy:NAME]} section may
    hold."""
    from vaurien.config import core as module

    return module, module.CORE_SETTINGS, module.ALIASES, module.PROXY_SETTINGS


class OptionsDirective(_Generated):
    """C{.. vaurien-options::}: the core settings."""

    def lines(self) -> list[str]:
        module, settings, alias_table, per_proxy = core_settings()
        self.depend_on(module)
        aliases: dict[str, list[str]] = {}
        for alias, name in alias_table.items():
            aliases.setdefault(name, []).append(alias)
        rows = []
        for setting in settings.values():
            flag = f"--{setting.option}"
            command_line = literal(flag if setting.type is bool else f"{flag} VALUE")
            keys = literal(setting.name)
            for alias in aliases.get(setting.name, ()):
                command_line += f" (alias {literal('--' + alias.replace('_', '-'))})"
                keys += f" (alias {literal(alias)})"
            description = inline(setting.doc)
            minimum = getattr(setting, "minimum", None)
            maximum = getattr(setting, "maximum", None)
            if minimum is not None and maximum is not None:
                description += f" From {literal(str(minimum))} to {literal(str(maximum))}."
            elif minimum is not None:
                description += f" At least {literal(str(minimum))}."
            elif maximum is not None:
                description += f" At most {literal(str(maximum))}."
            if getattr(setting, "choices", ()):
                description += " One of " + ", ".join(map(literal, setting.choices)) + "."
            if setting.type is bool:
                description += (
                    f" A flag on the command line; {literal('true')} or"
                    f" {literal('false')} in the file."
                )
            if setting.name in per_proxy:
                description += " Also a key of ``[proxy:NAME]``."
            rows.append([
                command_line,
                keys,
                literal(setting.type.__name__),
                default_text(setting.default, setting.type),
                description,
            ])
        return list_table(
            ["Command line", "``[vaurien]`` key", "Type", "Default", "Description"],
            rows,
            "22 16 8 14 40",
        )


@dataclass(frozen=True)
class KeyTable:
    """How a kind of plugin tables its keys, under each plugin's section.

    The text fields are C{str.format} templates, given C{kind} (the
    registry's) and C{name} (the plugin's); C{flag} also C{key}.

    @ivar mapping: the class attribute holding the keys: key to
        C{(description, type, default)}, and allowed values after them.
    @ivar flag: a key's command-line option.
    @ivar intro: the sentence before the table.
    @ivar key_column: the heading of the keys' column.
    @ivar widths: the table's column widths.
    @ivar none: the line instead of the table, for a plugin with no keys.
    """

    mapping: str
    flag: str
    intro: str
    key_column: str
    widths: str
    none: str


#: Handlers and protocols: C{options}, in the plugin's own section.
OPTIONS = KeyTable(
    mapping="options",
    flag="--{kind}-{name}-{key}",
    intro="Options, in ``[{kind}:{name}]`` or on the command line:",
    key_column="``[{kind}:{name}]`` key",
    widths="16 30 8 12 34",
    none="No options.",
)
#: Toxics: C{attributes}, in the section of each toxic the user names.
ATTRIBUTES = KeyTable(
    mapping="attributes",
    flag="--{kind}-NAME-{key}",
    intro=(
        "Attributes: keys of ``[{kind}:NAME]``, ``--{kind}-NAME-...`` options, and"
        ' the ``attributes`` of the control API (``{{"type": "{name}"}}``):'
    ),
    key_column="Attribute",
    widths="16 30 8 10 36",
    none="No attributes.",
)


def _plugin_lines(registry: Any, directive: _Generated, extra: Any = None,
                  keys: KeyTable = OPTIONS) -> list[str]:
    """A section per registered plugin of C{registry}: docstring, C{extra}
    lines, and the table of its C{keys}."""
    kind = registry.kind
    lines: list[str] = []
    for name in registry.names():
        cls = registry.get(name)
        directive.depend_on(cls)
        lines += [f".. _{kind}-{name}:", ""]
        lines += title(name, "-")
        for paragraph in docstring_lines(cls):
            lines += [paragraph, ""]
        lines += [f"Class: {literal(cls.__module__ + '.' + cls.__qualname__)}.", ""]
        if extra is not None:
            lines += extra(name, cls)
        specs = getattr(cls, keys.mapping, {}) or {}
        if not specs:
            lines += [keys.none, ""]
            continue
        rows = []
        for key, spec in specs.items():
            description, type_, default = spec[:3]
            text = inline(description)
            if text and not text.endswith("."):
                text += "."
            allowed = spec[3] if len(spec) > 3 else ()
            if isinstance(allowed, range):
                text += f" From {literal(str(allowed.start))} to {literal(str(allowed.stop - 1))}."
            elif allowed:
                text += " One of " + ", ".join(literal(str(c)) for c in allowed) + "."
            flag = keys.flag.format(kind=kind, name=name, key=key).replace("_", "-")
            if type_ is not bool:
                flag += " VALUE"
            rows.append([
                literal(key),
                literal(flag),
                literal(type_.__name__),
                default_text(default, type_),
                text,
            ])
        lines += [
            keys.intro.format(kind=kind, name=name),
            "",
            *list_table(
                [keys.key_column.format(kind=kind, name=name), "Command line", "Type", "Default",
                 "Description"],
                rows,
                keys.widths,
            ),
        ]
    return lines


class HandlersDirective(_Generated):
    """C{.. vaurien-handlers::}: every registered handler."""

    def lines(self) -> list[str]:
        from vaurien.handlers import Handler
        from vaurien.config.plugins import TARGET_KEYS
        from vaurien.proxy.calls import runs_in_thread

        def extra(name: str, cls: type) -> list[str]:
            try:
                threaded = runs_in_thread(cls())
            except Exception:
                return []
            where = "in a worker thread" if threaded else "on the reactor"
            return [f"Runs {where}.", ""]

        lines = _plugin_lines(Handler, self, extra)
        self.depend_on(sys.modules["vaurien.config.plugins"])
        lines += [".. _handler-targeting-keys:", ""]
        lines += title("Targeting keys", "-")
        lines += [
            "Every handler section also takes these keys; on a framing"
            " protocol they limit the handler to some requests (the others"
            " get ``dummy``). They do nothing on ``tcp``.",
            "",
        ]
        rows = [
            [literal(key), literal(f"--handler-NAME-{key} VALUE"), inline(doc) + "."]
            for key, doc in TARGET_KEYS.items()
        ]
        lines += list_table(
            ["``[handler:NAME]`` key", "Command line", "Description"], rows, "18 32 50"
        )
        return lines


class ProtocolsDirective(_Generated):
    """C{.. vaurien-protocols::}: every registered protocol."""

    def lines(self) -> list[str]:
        from vaurien.protocols import Protocol

        def extra(name: str, cls: type) -> list[str]:
            if getattr(cls, "per_call", False):
                call = "A handler is chosen per request."
            else:
                call = "A handler is chosen once per connection."
            lines = [call, ""]
            if f"protocols/{name}" in self.env.found_docs:
                lines += [f"More: :doc:`/protocols/{name}`.", ""]
            return lines

        return _plugin_lines(Protocol, self, extra)


class ToxicsDirective(_Generated):
    """C{.. vaurien-toxics::}: every registered toxic."""

    def lines(self) -> list[str]:
        from vaurien.toxics import Toxic

        return _plugin_lines(Toxic, self, keys=ATTRIBUTES)


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("vaurien-options", OptionsDirective)
    app.add_directive("vaurien-handlers", HandlersDirective)
    app.add_directive("vaurien-protocols", ProtocolsDirective)
    app.add_directive("vaurien-toxics", ToxicsDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
