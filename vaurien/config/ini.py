"""Reading the original Vaurien's INI file into plain, sorted-out values.

Sections: C{[vaurien]}; C{[handler:NAME]} and C{[behavior:NAME]} (the same
thing: the original's later docs used the second); C{[protocol:NAME]};
C{[toxic:NAME]}; C{[proxy:NAME]} (one per proxy, replacing the single
one); C{[statsd]}.
Nothing is converted here: L{vaurien.config} checks and converts every
value, and needs to know which file and section each came from.
"""
from __future__ import annotations

import configparser
from types import MappingProxyType
from typing import Any, Mapping

from attrs import field, frozen

from vaurien.errors import ConfigError

#: Section prefixes and the kind of plugin they configure.
_PLUGIN_SECTIONS = {
    "handler": "handler", "behavior": "handler", "protocol": "protocol", "toxic": "toxic",
}

_KNOWN_SECTIONS = (
    "[vaurien], [statsd], [proxy:NAME], [handler:NAME], [behavior:NAME], [protocol:NAME]"
    " or [toxic:NAME]"
)


@frozen
class SourcedValue:
    """A value as the user gave it, and where, for messages.

    @ivar value: a string from a file or the command line, or C{True} for a
        command-line flag.
    @ivar key: the key as spelled there: C{"--timeout"}, C{"timeout"}.
    @ivar place: C{"[vaurien] of vaurien.ini"}; empty for the command line.
    """

    value: Any
    key: str
    place: str = ""

    def said(self) -> str:
        """How the user said it: C{--timeout 'abc'}, C{timeout = 'abc' in
        [vaurien] of vaurien.ini}."""
        if self.place:
            return f"{self.key} = {self.value!r} in {self.place}"
        if self.value is True:
            return self.key
        return f"{self.key} {self.value!r}"


def _frozen_sections(value: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Mapping[str, Any]]:
    return MappingProxyType({name: MappingProxyType(dict(s)) for name, s in value.items()})


@frozen
class IniFile:
    """The sections of one INI file, keys with dashes spelled with underscores.

    @ivar path: the file read, for messages (C{None}: no file).
    @ivar vaurien: the C{[vaurien]} section, key to L{SourcedValue}.
    @ivar handlers: handler name to its section (C{[handler:NAME]} and
        C{[behavior:NAME]} merged).
    @ivar protocols: protocol name to its section.
    @ivar toxics: toxic name to its section, in file order.
    @ivar proxies: proxy name to its C{[proxy:NAME]} section, in file order.
    @ivar statsd: the C{[statsd]} section.
    """

    path: str | None = None
    vaurien: Mapping[str, SourcedValue] = field(
        converter=lambda v: MappingProxyType(dict(v)), factory=dict
    )
    handlers: Mapping[str, Mapping[str, SourcedValue]] = field(
        converter=_frozen_sections, factory=dict
    )
    protocols: Mapping[str, Mapping[str, SourcedValue]] = field(
        converter=_frozen_sections, factory=dict
    )
    proxies: Mapping[str, Mapping[str, SourcedValue]] = field(
        converter=_frozen_sections, factory=dict
    )
    toxics: Mapping[str, Mapping[str, SourcedValue]] = field(
        converter=_frozen_sections, factory=dict
    )
    statsd: Mapping[str, SourcedValue] = field(
        converter=lambda v: MappingProxyType(dict(v)), factory=dict
    )


def read_ini(path: str) -> IniFile:
    """Read and sort out the INI file at C{path}.

    @raise ConfigError: when the file is missing or unreadable, has a syntax
        error (naming file and line), or a section no one reads.
    """
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as ini:
            parser.read_file(ini)
    except FileNotFoundError:
        raise ConfigError(f"--config {path!r}: no such file.") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"--config {path!r}: cannot read the file: {e}.") from None
    except configparser.Error as e:
        raise ConfigError(_syntax_error_message(path, e)) from None

    plugins: dict[str, dict[str, dict[str, SourcedValue]]] = {
        "handler": {}, "protocol": {}, "toxic": {},
    }
    proxies: dict[str, dict[str, SourcedValue]] = {}
    vaurien: dict[str, SourcedValue] = {}
    statsd: dict[str, SourcedValue] = {}
    for section in parser.sections():
        values = {
            key.replace("-", "_"): SourcedValue(value, key, f"[{section}] of {path}")
            for key, value in parser.items(section)
        }
        if section == "vaurien":
            vaurien = values
            continue
        if section == "statsd":
            statsd = values
            continue
        prefix, colon, name = section.partition(":")
        if prefix == "proxy" and name:
            proxies[name] = values
            continue
        if not colon or prefix not in _PLUGIN_SECTIONS or not name:
            raise ConfigError(
                f"{path}: unknown section [{section}]; sections are {_KNOWN_SECTIONS}."
            )
        plugins[_PLUGIN_SECTIONS[prefix]].setdefault(name, {}).update(values)
    return IniFile(path, vaurien, plugins["handler"], plugins["protocol"], proxies,
                   plugins["toxic"], statsd)


def _syntax_error_message(path: str, error: configparser.Error) -> str:
    if isinstance(error, configparser.MissingSectionHeaderError):
        return (
            f"{path}, line {error.lineno} is not a valid INI file: a key comes"
            f" before any section header (start the file with [vaurien])."
        )
    if isinstance(error, configparser.ParsingError):
        lines = "; ".join(f"line {line}: {text}" for line, text in error.errors)
        return (
            f"{path} is not a valid INI file: {lines}"
            " (each line is a [section] header, key = value, or a comment)."
        )
    return f"{path} is not a valid INI file: {error.message}."
