"""The text of C{vaurien --help} (and C{twistd vaurien --help}): the core
options, then each handler's and protocol's options under its name, the
targeting options once, with the handlers they apply to, and each toxic's
attributes."""
from __future__ import annotations

import textwrap
from typing import Iterable

from vaurien.config.core import CORE_SETTINGS
from vaurien.config.plugins import TARGET_KEYS
from vaurien.config.values import allowed_values
from vaurien.registry import PluginRegistry
from vaurien.toxics import Toxic

#: Room for an option and its argument, before its description.
_OPTION_COLUMN = 34

#: What the core options' arguments are, beyond their type.
_ARGUMENTS = {
    "proxy": "ADDRESS", "backend": "ADDRESS", "protocol": "NAME", "handler": "SHARES",
    "toxic": "NAME:TYPE",
    "log_output": "FILE", "log_level": "LEVEL", "http_host": "HOST", "http_token": "TOKEN",
    "toxiproxy_api": "HOST:PORT", "toxiproxy_config": "FILE",
}

_TARGET_ARGUMENTS = {"commands": "LIST", "methods": "LIST", "paths": "REGEX"}

_LONGDESC = (
    "Vaurien, a chaos TCP proxy: it passes traffic to a backend and injects"
    " faults (delays, errors, hangs, cuts) in a share of it. Settings can"
    " also come from an INI file (--config): [vaurien] foo_bar = ... is"
    " --foo-bar ..., and the command line wins. --behavior... is an alias of"
    " every --handler... option. docs/configuration.rst tells the rest."
)


def help_text(handlers: PluginRegistry, protocols: PluginRegistry, width: int = 79) -> str:
    """Everything after the synopsis line.

    @param handlers: the handler registry (its plugins' C{options}).
    @param protocols: the protocol registry.
    @param width: the widest line.
    """
    parts = ["", textwrap.fill(_LONGDESC, width), "", "Options:"]
    parts += _rows(_core_rows(), width)
    parts += ["", "Handlers (--handler 20:NAME,...), and their options (INI: [handler:NAME]):"]
    parts += _plugin_rows(handlers, width)
    parts += [""] + textwrap.wrap(
        "Targeting: which requests handler NAME applies to, on http, redis and"
        " memcache (INI: [handler:NAME] commands = ...); other requests get dummy:", width
    )
    parts += _rows(
        [(f"--handler-NAME-{key} {_TARGET_ARGUMENTS[key]}", f"{doc}.")
         for key, doc in TARGET_KEYS.items()],
        width,
    )
    parts += _wrapped("NAME: any handler: " + ", ".join(handlers.names()) + ".", width, 2)
    parts += ["", "Protocols (--protocol NAME), and their options (INI: [protocol:NAME]):"]
    parts += _plugin_rows(protocols, width)
    parts += ["", "Toxics (--toxic NAME:TYPE), and their attributes (INI: [toxic:NAME]):"]
    parts += _toxic_rows(width)
    return "\n".join(parts) + "\n"


def _toxic_rows(width: int) -> list[str]:
    lines = []
    for name in Toxic.names():
        lines.append(f"  {name}:")
        lines += _rows(
            [(f"--toxic-NAME-{attribute} {type_.__name__.upper()}".replace("_", "-"),
              f"{description.rstrip('.')}.")
             for attribute, (description, type_, _) in Toxic.get(name).attributes.items()],
            width, indent=4,
        )
    return lines


def _core_rows() -> list[tuple[str, str]]:
    rows = [("-c, --config FILE", "INI file to read settings from.")]
    for setting in CORE_SETTINGS.values():
        if setting.type is bool:
            rows.append((f"    --{setting.option}", setting.doc))
            continue
        argument = _ARGUMENTS.get(setting.name, setting.type.__name__.upper())
        choices = f" One of {', '.join(setting.choices)}." if setting.choices else ""
        default = "" if setting.default is None else f" Default: {setting.default}."
        rows.append((f"    --{setting.option} {argument}", setting.doc + choices + default))
    rows += [("-h, --help", "Show this help and exit."),
             ("    --version", "Print the version and exit.")]
    return rows


def _plugin_rows(registry: PluginRegistry, width: int) -> list[str]:
    lines, quiet = [], []
    for name in registry.names():
        options = registry.get(name).options
        if not options:
            quiet.append(name)
            continue
        lines.append(f"  {name}:")
        lines += _rows(
            [_option_row(registry.kind, name, option, spec) for option, spec in options.items()],
            width, indent=4,
        )
    if quiet:
        lines += _wrapped(", ".join(quiet) + ": no options.", width, 2)
    return lines


def _option_row(kind: str, plugin: str, option: str, spec: tuple) -> tuple[str, str]:
    description, type_, default = spec[:3]
    flag = f"{kind}-{plugin}-{option}".replace("_", "-")
    if type_ is bool:
        if default:
            doc = description[:1].lower() + description[1:].rstrip(".")
            return f"--no-{flag}", f"Turn off: {doc} (on by default)."
        return f"--{flag}", f"{description.rstrip('.')}."
    allowed = f"; {allowed_values(spec[3])}" if len(spec) == 4 else ""
    argument = "TEXT" if type_ is str else type_.__name__.upper()
    return (f"--{flag} {argument}",
            f"{description.rstrip('.')} (default {default!r}{allowed}).")


def _rows(rows: Iterable[tuple[str, str]], width: int, indent: int = 2) -> list[str]:
    """Option and description side by side, the description wrapped."""
    lines = []
    column = max(_OPTION_COLUMN, indent + 2)
    for option, doc in rows:
        head = " " * indent + option
        wrapped = textwrap.wrap(doc, max(width - column, 20))
        if len(head) + 2 > column:
            lines.append(head)
        else:
            lines.append(head.ljust(column) + wrapped.pop(0))
        lines += [" " * column + line for line in wrapped]
    return lines


def _wrapped(text: str, width: int, indent: int) -> list[str]:
    return textwrap.wrap(text, width, initial_indent=" " * indent,
                         subsequent_indent=" " * (indent + 2))
