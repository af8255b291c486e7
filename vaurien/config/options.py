"""The command line of C{vaurien} and C{twistd vaurien}: one
L{VaurienOptions}, whose C{settings} hold the L{Settings} once parsed.

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
from vaurien.config.build import build_settings
from vaurien.config.core import CORE_SETTINGS
from vaurien.config.help import help_text
from vaurien.config.ini import SourcedValue
from vaurien.config.plugins import TARGET_KEYS
from vaurien.config.values import allowed_values
from vaurien.errors import VaurienError
from vaurien.handlers import Handler
from vaurien.protocols import Protocol
from vaurien.registry import PluginRegistry
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

    usage.Options reads the options from class attributes, and the
    plugins' options are those of the plugins registered when the options
    are made: so each C{VaurienOptions()} is made of a subclass whose
    C{optFlags} and C{optParameters} add them (L{_with_plugin_options}).
    After L{parseOptions}, C{self.settings} holds the L{Settings}.

    @ivar plugin_options: every C{--handler-NAME-OPTION} and
        C{--protocol-NAME-OPTION} by name (C{None} on this class itself).
    @ivar toxic_attributes: each C{--toxic-NAME-ATTRIBUTE} given, as
        C{NAME-ATTRIBUTE} to its value.
    """

    optParameters = [["config", "c", None, "INI file to read settings from."]] + [
        [s.option, None, None, s.doc if s.default is None else f"{s.doc} Default: {s.default}."]
        for s in CORE_SETTINGS.values()
        if s.type is not bool and s.name not in ("handler", "toxic")  # opt_handler, opt_toxic
    ]
    optFlags = [[s.option, None, s.doc] for s in CORE_SETTINGS.values() if s.type is bool]
    plugin_options: Mapping[str, _PluginOption] | None = None
    toxic_attributes: Mapping[str, SourcedValue] = {}

    def __new__(cls) -> VaurienOptions:
        """
        @raise usage.UsageError: when a plugin's entry point cannot be used.
        """
        made = cls if cls.plugin_options is not None else _with_plugin_options(cls)
        return super().__new__(made)

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

    def opt_handler(self, value: str) -> None:
        """Handler shares; a repeated C{--handler} adds its shares to those
        given before."""
        given = self.get("handler")
        self["handler"] = f"{given},{value}" if given else value

    def opt_toxic(self, value: str) -> None:
        """A toxic, NAME:TYPE[:STREAM[:TOXICITY]] or a [toxic:NAME] section's
        NAME; again for more (or comma-separated)."""
        given = self.get("toxic")
        self["toxic"] = f"{given},{value}" if given else value

    def parseOptions(self, options: list[str] | None = None) -> None:
        """Parse, spelling the original's C{--behavior...} as C{--handler...}
        and setting aside each C{--toxic-NAME-ATTRIBUTE} (toxic names are the
        user's: no option can be made for them in advance); under twistd (a
        C{parent}), errors end it in one paragraph."""
        if options is None:
            options = sys.argv[1:]
        try:
            options, self.toxic_attributes = _toxic_attributes(list(options))
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
            if self.get(s.option)
        }
        plugins: dict[str, dict[str, dict[str, SourcedValue]]] = {"handler": {}, "protocol": {}}
        for name, spec in self.plugin_options.items():
            if self[name]:
                value = (not spec.negated) if spec.type is bool else self[name]
                section = plugins[spec.kind].setdefault(spec.plugin, {})
                section[spec.option] = SourcedValue(value, f"--{name}")
        try:
            self.settings = build_settings(core, plugins, self["config"], self.toxic_attributes)
        except VaurienError as e:
            raise usage.UsageError(str(e)) from None


def _with_plugin_options(base: type[VaurienOptions]) -> type[VaurienOptions]:
    """A subclass of C{base} with the options of every plugin registered
    now, as C{optFlags} (booleans) and C{optParameters}.

    @raise usage.UsageError: when a plugin's entry point cannot be used.
    """
    try:
        generated = _plugin_options()
    except VaurienError as e:
        raise usage.UsageError(str(e)) from None
    return type(base.__name__, (base,), {
        "__doc__": base.__doc__,
        "plugin_options": generated,
        "optFlags": [[name, None, spec.doc] for name, spec in generated.items()
                     if spec.type is bool],
        "optParameters": [[name, None, None, spec.doc] for name, spec in generated.items()
                          if spec.type is not bool],
    })


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


def _toxic_attributes(arguments: list[str]) -> tuple[list[str], dict[str, SourcedValue]]:
    """Take every C{--toxic-NAME-ATTRIBUTE VALUE} (or C{=VALUE}) out of
    C{arguments}: the rest, and C{NAME-ATTRIBUTE} to its value.

    @raise usage.UsageError: for one without a value.
    """
    rest: list[str] = []
    found: dict[str, SourcedValue] = {}
    given = iter(arguments)
    for argument in given:
        if argument == "--":
            rest.append(argument)
            rest.extend(given)
            break
        if not argument.startswith("--toxic-"):
            rest.append(argument)
            continue
        spelled, equals, value = argument[len("--toxic-"):].partition("=")
        if not equals:
            value = next(given, None)
            if value is None:
                raise usage.UsageError(f"--toxic-{spelled} needs a value")
        found[spelled] = SourcedValue(value, f"--toxic-{spelled}")
    return rest, found


def _canonical_option(argument: str) -> str:
    if argument == "--behavior" or argument.startswith(("--behavior=", "--behavior-")):
        return "--handler" + argument[len("--behavior"):]
    if argument.startswith("--no-behavior-"):
        return "--no-handler-" + argument[len("--no-behavior-"):]
    return argument
