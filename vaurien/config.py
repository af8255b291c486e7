"""The INI file and the command line, read into one L{Settings}.

One L{VaurienOptions} serves the C{vaurien} command and C{twistd vaurien}.
C{[vaurien] foo_bar = ...} in the file is C{--foo-bar ...} on the command
line, and the command line wins. Every handler and protocol option is an
option too: C{--handler-NAME-OPTION} (alias C{--behavior-NAME-OPTION}) and
C{--protocol-NAME-OPTION}, generated from the plugins' C{options}.
"""
from __future__ import annotations

import sys
from typing import Any, Mapping

from attrs import frozen
from twisted.python import usage

import vaurien
from vaurien.addresses import backend_endpoint, listen_endpoint
from vaurien.errors import ConfigError, VaurienError
from vaurien.handlers import Handler
from vaurien.ini_file import IniFile, SourcedValue, read_ini
from vaurien.option_values import convert
from vaurien.plugin_config import (
    TARGET_KEYS,
    configure_plugins,
    configured_plugin,
    handler_entries,
)
from vaurien.protocols import Protocol
from vaurien.registry import PluginRegistry
from vaurien.settings import ProxySettings, Settings

#: The handlers of the demo when the user chose none: faults one can see.
DEMO_HANDLERS = "20:delay,20:error"

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


@frozen
class _Setting:
    """One core setting: C{[vaurien] name} and C{--name-with-dashes}."""

    name: str
    type: type
    default: Any
    doc: str
    minimum: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def option(self) -> str:
        return self.name.replace("_", "-")


_SETTINGS = {
    setting.name: setting
    for setting in (
        _Setting(
            "proxy", str, "localhost:8000",
            "Address to listen on: host:port or an endpoint string.",
        ),
        _Setting(
            "backend", str, None,
            "Backend address: host:port or an endpoint string (none: the demo).",
        ),
        _Setting(
            "protocol", str, "tcp", "Protocol: a registered name or a dotted path to a class."
        ),
        _Setting(
            "handler", str, "100:dummy",
            "Handler shares, e.g. 20:delay,5:error; the rest goes to dummy"
            " (alias: --behavior).",
        ),
        _Setting(
            "timeout", float, 30.0,
            "Seconds of silence before a connection is closed (0: never).", minimum=0,
        ),
        _Setting(
            "stay_connected", bool, False,
            "Keep the client connected when the backend goes away.",
        ),
        _Setting("backlog", int, 8192, "Listen backlog.", minimum=1),
        _Setting("seed", int, None, "Seed of the handler choice, for repeatable runs."),
        _Setting(
            "max_buffer", int, 256 * 1024,
            "Bytes buffered per direction before reading pauses.", minimum=1,
        ),
        _Setting(
            "threads", int, 10, "Most worker threads for blocking handlers.", minimum=1
        ),
        _Setting("log_level", str, "info", "Log level.", choices=LOG_LEVELS),
        _Setting(
            "log_output", str, "-", "Where logs go: - for standard output, or a file."
        ),
        _Setting("demo", bool, False, "Proxy to an embedded demo HTTP backend."),
    )
}

#: Another name for a setting, in the file and on the command line.
_ALIASES = {"behavior": "handler"}


@frozen
class _PluginOption:
    """A generated C{--KIND-NAME-OPTION}."""

    kind: str
    plugin: str
    option: str
    type: type
    doc: str


class VaurienOptions(usage.Options):
    """The options of C{vaurien} and C{twistd vaurien}.

    After L{parseOptions}, C{self.settings} holds the L{Settings}.
    """

    longdesc = (
        "Vaurien, a chaos TCP proxy. Each --handler-NAME-OPTION is also"
        " --behavior-NAME-OPTION. Settings can come from an INI file"
        " (--config): [vaurien] foo_bar = ... is --foo-bar ...; [handler:NAME]"
        " and [protocol:NAME] hold plugin options; the command line wins."
    )
    optParameters = [["config", "c", None, "INI file to read settings from."]] + [
        [s.option, None, None, s.doc if s.default is None else f"{s.doc} Default: {s.default}."]
        for s in _SETTINGS.values()
        if s.type is not bool
    ]
    optFlags = [[s.option, None, s.doc] for s in _SETTINGS.values() if s.type is bool]

    def __init__(self) -> None:
        """
        @raise usage.UsageError: when a plugin's entry point cannot be used.
        """
        try:
            self._plugin_options = _plugin_options()
        except VaurienError as e:
            raise usage.UsageError(str(e)) from None
        super().__init__()

    # usage.Options gathers options from class attributes; the plugin
    # options depend on the plugins registered when the options are made,
    # so they are added to what it gathered.
    def _gather_flags(self):
        longs, shorts, docs, values, synonyms, dispatch = super()._gather_flags()
        for name, spec in self._plugin_options.items():
            if spec.type is bool:
                longs.append(name)
                docs[name], values[name], synonyms[name] = spec.doc, 0, name
                dispatch[name] = self._generic_flag
        return longs, shorts, docs, values, synonyms, dispatch

    def _gather_parameters(self):
        longs, shorts, docs, values, synonyms, dispatch = super()._gather_parameters()
        for name, spec in self._plugin_options.items():
            if spec.type is not bool:
                longs.append(name + "=")
                docs[name], values[name], synonyms[name] = spec.doc, None, name
                dispatch[name] = usage.CoerceParameter(self, str)
        return longs, shorts, docs, values, synonyms, dispatch

    def opt_version(self) -> None:
        """Print the version and exit."""
        print(vaurien.__version__)
        sys.exit(0)

    def parseOptions(self, options: list[str] | None = None) -> None:
        """Parse, spelling the original's C{--behavior...} as C{--handler...}."""
        if options is None:
            options = sys.argv[1:]
        super().parseOptions([_canonical_option(arg) for arg in options])

    def postOptions(self) -> None:
        """Read the INI file, merge, check and convert into C{self.settings}.

        @raise usage.UsageError: with a message for a person.
        """
        core = {
            name: SourcedValue(True if s.type is bool else self[s.option], f"--{s.option}")
            for name, s in _SETTINGS.items()
            if self[s.option]
        }
        plugins: dict[str, dict[str, dict[str, SourcedValue]]] = {"handler": {}, "protocol": {}}
        for name, spec in self._plugin_options.items():
            if self[name]:
                value = True if spec.type is bool else self[name]
                section = plugins[spec.kind].setdefault(spec.plugin, {})
                section[spec.option] = SourcedValue(value, f"--{name}")
        try:
            self.settings = build_settings(core, plugins, self["config"])
        except VaurienError as e:
            raise usage.UsageError(str(e)) from None


def build_settings(
    command_line: Mapping[str, SourcedValue],
    plugin_command_line: Mapping[str, Mapping[str, Mapping[str, SourcedValue]]],
    config_path: str | None,
) -> Settings:
    """Merge the INI file and the command line into checked L{Settings}.

    @param command_line: core setting name (C{stay_connected}) to the value
        given on the command line.
    @param plugin_command_line: C{"handler"} or C{"protocol"}, to plugin
        name, to option name, to the value given on the command line.
    @param config_path: the INI file, or C{None}.
    @raise ConfigError: naming the key, the value and what is allowed.
    """
    ini = read_ini(config_path) if config_path else IniFile()
    given = {**_file_settings(ini), **command_line}

    handlers = configure_plugins(
        Handler, _merged(ini.handlers, plugin_command_line.get("handler", {}))
    )
    protocols = configure_plugins(
        Protocol, _merged(ini.protocols, plugin_command_line.get("protocol", {}))
    )
    demo = _value(given, "demo") or "backend" not in given
    handler_spec = given.get("handler") or SourcedValue(
        DEMO_HANDLERS if demo else _SETTINGS["handler"].default, "--handler"
    )
    protocol_spec = given.get("protocol") or SourcedValue(
        "http" if demo and "http" in Protocol.names() else _SETTINGS["protocol"].default,
        "--protocol",
    )
    protocol = configured_plugin(Protocol, protocols, protocol_spec.value, protocol_spec.said())
    proxy_address = given.get("proxy") or SourcedValue(_SETTINGS["proxy"].default, "--proxy")
    proxy = ProxySettings(
        name="default",
        listen=listen_endpoint(proxy_address.value, proxy_address.said()),
        backend="" if demo else backend_endpoint(given["backend"].value, given["backend"].said()),
        protocol_class=protocol.plugin_class,
        protocol_options=protocol.options,
        handlers=handler_entries(handler_spec, handlers),
        timeout=_value(given, "timeout"),
        stay_connected=_value(given, "stay_connected"),
        backlog=_value(given, "backlog"),
        seed=_value(given, "seed"),
        max_buffer=_value(given, "max_buffer"),
        threads=_value(given, "threads"),
    )
    return Settings(
        proxies=(proxy,),
        log_level=_value(given, "log_level"),
        log_output=_value(given, "log_output"),
        demo=demo,
    )


def _plugin_options() -> dict[str, _PluginOption]:
    """Every C{--handler-NAME-OPTION} and C{--protocol-NAME-OPTION}."""
    generated = {}
    registries: tuple[PluginRegistry, ...] = (Handler, Protocol)
    for registry in registries:
        for plugin in registry.names():
            for option, spec in registry.get(plugin).options.items():
                description, type_, default = spec[:3]
                allowed = f", one of {', '.join(map(repr, spec[3]))}" if len(spec) == 4 else ""
                name = f"{registry.kind}-{plugin}-{option}".replace("_", "-")
                doc = f"{description} ({type_.__name__}, default {default!r}{allowed})."
                generated[name] = _PluginOption(registry.kind, plugin, option, type_, doc)
    for plugin in Handler.names():
        for option, description in TARGET_KEYS.items():
            name = f"handler-{plugin}-{option}"
            generated[name] = _PluginOption("handler", plugin, option, str, f"{description}.")
    return generated


def _canonical_option(argument: str) -> str:
    if argument == "--behavior" or argument.startswith(("--behavior=", "--behavior-")):
        return "--handler" + argument[len("--behavior"):]
    return argument


def _file_settings(ini: IniFile) -> dict[str, SourcedValue]:
    """The C{[vaurien]} section by setting name, aliases resolved."""
    settings: dict[str, SourcedValue] = {}
    for key, given in ini.vaurien.items():
        name = _ALIASES.get(key, key)
        if name not in _SETTINGS:
            known = ", ".join(sorted([*_SETTINGS, *_ALIASES]))
            raise ConfigError(
                f"unknown key {given.key!r} in {given.place}; the keys of"
                f" [vaurien] are: {known}."
            )
        if name in settings:
            raise ConfigError(
                f"{given.said()}: {settings[name].key!r} is given too; give one of them."
            )
        settings[name] = given
    return settings


def _merged(
    file_sections: Mapping[str, Mapping[str, SourcedValue]],
    command_line: Mapping[str, Mapping[str, SourcedValue]],
) -> dict[str, dict[str, SourcedValue]]:
    sections = {name: dict(section) for name, section in file_sections.items()}
    for name, options in command_line.items():
        sections.setdefault(name, {}).update(options)
    return sections


def _value(given: Mapping[str, SourcedValue], name: str) -> Any:
    """The setting C{name}, converted and checked, or its default."""
    setting = _SETTINGS[name]
    if name not in given:
        return setting.default
    raw = given[name]
    try:
        value = convert(raw.value, setting.type)
    except ValueError as e:
        raise ConfigError(f"{raw.said()}: {e}.") from None
    if setting.minimum is not None and value < setting.minimum:
        raise ConfigError(f"{raw.said()}: must be at least {setting.minimum}.")
    if setting.choices:
        value = value.lower()
    if setting.choices and value not in setting.choices:
        raise ConfigError(f"{raw.said()}: expected one of {', '.join(setting.choices)}.")
    return value
