"""The INI file and the command line, read into one L{Settings}.

One L{VaurienOptions} serves the C{vaurien} command and C{twistd vaurien}.
C{[vaurien] foo_bar = ...} in the file is C{--foo-bar ...} on the command
line, and the command line wins. Every handler and protocol option is an
option too: C{--handler-NAME-OPTION} (alias C{--behavior-NAME-OPTION}) and
C{--protocol-NAME-OPTION}, generated from the plugins' C{options}.
"""
from __future__ import annotations

import sys
from typing import Mapping

from attrs import frozen
from twisted.python import usage

import vaurien
from vaurien.core_settings import CORE_SETTINGS, checked_value, named_settings, setting_value
from vaurien.errors import ConfigError, VaurienError
from vaurien.handlers import Handler
from vaurien.help_text import help_text
from vaurien.ini_file import IniFile, SourcedValue, read_ini
from vaurien.option_values import allowed_values
from vaurien.plugin_config import TARGET_KEYS, configure_plugins
from vaurien.protocols import Protocol
from vaurien.proxy_config import is_demo, proxy_settings
from vaurien.registry import PluginRegistry
from vaurien.settings import Settings, StatsdSettings
from vaurien.twistd_run import one_line_start_errors, refuse

@frozen
class _PluginOption:
    """A generated C{--KIND-NAME-OPTION} (or, to turn off a boolean that
    is on by default, C{--no-KIND-NAME-OPTION}: C{negated})."""

    kind: str
    plugin: str
    option: str
    type: type
    doc: str
    negated: bool = False


class VaurienOptions(usage.Options):
    """The options of C{vaurien} and C{twistd vaurien}.

    After L{parseOptions}, C{self.settings} holds the L{Settings}.
    """

    longdesc = (
        "Vaurien, a chaos TCP proxy. Each --handler-NAME-OPTION is also"
        " --behavior-NAME-OPTION. Settings can come from an INI file"
        " (--config): [vaurien] foo_bar = ... is --foo-bar ...; [handler:NAME]"
        " and [protocol:NAME] hold plugin options; the command line wins."
        " [proxy:NAME] sections (proxy, backend, protocol, handler, timeout, ...)"
        " each run a proxy, the proxy settings of [vaurien] and the command line"
        " being their defaults; [statsd] (enabled, host, port, prefix,"
        " sample_rate) sends the counters over UDP."
    )
    optParameters = [["config", "c", None, "INI file to read settings from."]] + [
        [s.option, None, None, s.doc if s.default is None else f"{s.doc} Default: {s.default}."]
        for s in CORE_SETTINGS.values()
        if s.type is not bool
    ]
    optFlags = [[s.option, None, s.doc] for s in CORE_SETTINGS.values() if s.type is bool]

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
        dispatch["handler"] = self._add_handler
        for name, spec in self._plugin_options.items():
            if spec.type is not bool:
                longs.append(name + "=")
                docs[name], values[name], synonyms[name] = spec.doc, None, name
                dispatch[name] = usage.CoerceParameter(self, str)
        return longs, shorts, docs, values, synonyms, dispatch

    def getUsage(self, width: int | None = None) -> str:
        """The help, grouped: core options, each plugin's, targeting once."""
        return help_text(Handler, Protocol, width or 79)

    def opt_h(self) -> None:
        """Show the help and exit."""
        self.opt_help()

    def opt_version(self) -> None:
        """Print the version and exit."""
        print(vaurien.__version__)
        sys.exit(0)

    def _add_handler(self, name: str, value: str) -> None:
        """A repeated C{--handler} adds its shares to those given before."""
        given = self.opts.get("handler")
        self.opts["handler"] = f"{given},{value}" if given else value

    def parseOptions(self, options: list[str] | None = None) -> None:
        """Parse, spelling the original's C{--behavior...} as C{--handler...};
        under twistd (a C{parent}), errors end it in one paragraph."""
        if options is None:
            options = sys.argv[1:]
        try:
            super().parseOptions([_canonical_option(arg) for arg in options])
        except usage.UsageError as e:
            if self.parent is None:
                raise
            refuse(str(e))  # under twistd
        if self.parent is not None:
            one_line_start_errors()

    def postOptions(self) -> None:
        """Read the INI file, merge, check and convert into C{self.settings}.

        @raise usage.UsageError: with a message for a person.
        """
        core = {
            name: SourcedValue(True if s.type is bool else self[s.option], f"--{s.option}")
            for name, s in CORE_SETTINGS.items()
            if self[s.option]
        }
        plugins: dict[str, dict[str, dict[str, SourcedValue]]] = {"handler": {}, "protocol": {}}
        for name, spec in self._plugin_options.items():
            if self[name]:
                value = (not spec.negated) if spec.type is bool else self[name]
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
    given = {**named_settings(ini.vaurien, CORE_SETTINGS, "[vaurien]"), **command_line}

    handlers = configure_plugins(
        Handler, _merged(ini.handlers, plugin_command_line.get("handler", {}))
    )
    protocols = configure_plugins(
        Protocol, _merged(ini.protocols, plugin_command_line.get("protocol", {}))
    )
    demo = is_demo(given, ini.proxies)
    workers = setting_value(given, "workers")
    if workers > 1 and demo:
        raise ConfigError(
            f"--workers {workers}: several workers need a backend (--backend HOST:PORT):"
            " the demo's backend lives inside one process, on a port of its own,"
            " and its proxy does not share its port with other processes."
        )
    return Settings(
        proxies=proxy_settings(given, ini.proxies, handlers, protocols, demo),
        log_level=setting_value(given, "log_level"),
        log_output=setting_value(given, "log_output"),
        demo=demo,
        http=setting_value(given, "http"),
        http_host=setting_value(given, "http_host"),
        http_port=setting_value(given, "http_port"),
        http_token=setting_value(given, "http_token") or None,
        statsd=statsd_settings(ini.statsd),
        workers=workers,
    )


#: The keys of C{[statsd]}: type, minimum, maximum.
_STATSD_KEYS = {
    "enabled": (bool, None, None),
    "host": (str, None, None),
    "port": (int, 1, 65535),
    "prefix": (str, None, None),
    "sample_rate": (float, 0, 1),
}


def statsd_settings(section: Mapping[str, SourcedValue]) -> StatsdSettings:
    """Read the C{[statsd]} section (the original's keys).

    @raise ConfigError: for an unknown key or a wrong value, naming it.
    """
    values = {}
    for name, given in named_settings(section, _STATSD_KEYS, "[statsd]").items():
        type_, minimum, maximum = _STATSD_KEYS[name]
        values[name] = checked_value(given, type_, minimum, maximum)
        if name == "sample_rate" and values[name] == 0:
            raise ConfigError(f"{given.said()}: must be more than 0 (1: every count is sent).")
    return StatsdSettings(**values)


def _plugin_options() -> dict[str, _PluginOption]:
    """Every C{--handler-NAME-OPTION} and C{--protocol-NAME-OPTION}."""
    generated = {}
    registries: tuple[PluginRegistry, ...] = (Handler, Protocol)
    for registry in registries:
        for plugin in registry.names():
            for option, spec in registry.get(plugin).options.items():
                description, type_, default = spec[:3]
                allowed = f", {allowed_values(spec[3])}" if len(spec) == 4 else ""
                name = f"{registry.kind}-{plugin}-{option}".replace("_", "-")
                doc = f"{description} ({type_.__name__}, default {default!r}{allowed})."
                generated[name] = _PluginOption(registry.kind, plugin, option, type_, doc)
                if type_ is bool and default:
                    generated["no-" + name] = _PluginOption(
                        registry.kind, plugin, option, bool, f"Turn off --{name}.", negated=True
                    )
    for plugin in Handler.names():
        for option, description in TARGET_KEYS.items():
            name = f"handler-{plugin}-{option}"
            generated[name] = _PluginOption("handler", plugin, option, str, f"{description}.")
    return generated


def _canonical_option(argument: str) -> str:
    if argument == "--behavior" or argument.startswith(("--behavior=", "--behavior-")):
        return "--handler" + argument[len("--behavior"):]
    if argument.startswith("--no-behavior-"):
        return "--no-handler-" + argument[len("--no-behavior-"):]
    return argument


def _merged(
    file_sections: Mapping[str, Mapping[str, SourcedValue]],
    command_line: Mapping[str, Mapping[str, SourcedValue]],
) -> dict[str, dict[str, SourcedValue]]:
    sections = {name: dict(section) for name, section in file_sections.items()}
    for name, options in command_line.items():
        sections.setdefault(name, {}).update(options)
    return sections
