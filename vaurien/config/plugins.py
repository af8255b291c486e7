"""From configured names and option strings to plugin classes and options.

Handlers and protocols are configured alike: a name (registered, or a
dotted path), a section of options (C{[handler:NAME]}, C{--handler-NAME-OPTION}),
and optionally C{callable = pkg.mod.Class} making NAME a new plugin backed
by that class. This module also reads the share list of C{--handler}
(C{20:delay,5:error}) into L{HandlerEntry} values, and a change of handlers
the control API asks of a running proxy (L{handler_choice}).
"""
from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from attrs import field, frozen
from twisted.logger import Logger

from vaurien.config.ini import SourcedValue
from vaurien.config.settings import HandlerEntry, Targets
from vaurien.config.values import defaults, option_value
from vaurien.errors import ConfigError, PluginError
from vaurien.handlers import Handler
from vaurien.registry import PluginRegistry

_log = Logger()

_SHARE = re.compile(r"\s*(?P<percent>\d+)\s*:\s*(?P<name>[^\s,:]+)\s*")


@frozen
class ConfiguredPlugin:
    """A plugin class with every option's value.

    @ivar plugin_class: the handler or protocol class.
    @ivar options: each option of the class: the configured value or its
        default.
    """

    plugin_class: type
    options: Mapping[str, Any] = field(converter=lambda v: MappingProxyType(dict(v)))
    targets: Targets = Targets()


#: The keys of a C{[handler:NAME]} section that say which requests the
#: handler applies to, rather than being options of the handler.
TARGET_KEYS = {
    "commands": "Only these commands, comma-separated (redis, memcache)",
    "methods": "Only these HTTP methods, comma-separated",
    "paths": "Only HTTP requests whose target matches this regular expression",
}


def configure_plugins(
    registry: PluginRegistry, sections: Mapping[str, Mapping[str, SourcedValue]]
) -> dict[str, ConfiguredPlugin]:
    """Resolve and check every configured section of one kind of plugin.

    @param registry: L{vaurien.handlers.Handler} or
        L{vaurien.protocols.Protocol}.
    @param sections: plugin name to its options; a C{callable} option names
        the class by dotted path.
    @return: plugin name to its class and options.
    @raise ConfigError: naming the key when a class or an option cannot be
        used.
    """
    configured = {}
    for name, section in sections.items():
        options = dict(section)
        dotted_path = options.pop("callable", None)
        if dotted_path is None:
            plugin_class = _resolve(registry, name, f"[{registry.kind}:{name}]")
        else:
            plugin_class = _resolve(registry, dotted_path.value, dotted_path.said())
        targets = Targets()
        undeclared: dict[str, str] = {}
        if registry is Handler:
            targets = _targets({key: options.pop(key) for key in TARGET_KEYS if key in options})
            if dotted_path is not None and not _built_in(plugin_class):
                undeclared = _undeclared(plugin_class, options, f"[{registry.kind}:{name}]")
        configured[name] = ConfiguredPlugin(
            plugin_class, {**_options(plugin_class, options), **undeclared}, targets
        )
    return configured


def _built_in(plugin_class: type) -> bool:
    return plugin_class.__module__.startswith("vaurien.")


def _undeclared(
    plugin_class: type, options: dict[str, SourcedValue], where: str
) -> dict[str, str]:
    """Take the keys C{plugin_class} does not declare out of C{options}:
    a custom handler gets them in its C{settings} as strings, as the seed's
    INI example (C{foo=bar}) has it, with one warning line naming them."""
    keys = [key for key in options if key not in plugin_class.options]
    if keys:
        given = options[keys[0]]
        _log.warn(
            "{where}{place}: {keys} not among the options {cls} declares ({declared});"
            " it gets {them} in its settings as strings",
            where=where, place=f" of {given.place.rsplit(' of ', 1)[-1]}" if given.place else "",
            keys=("keys " if len(keys) > 1 else "key ") + ", ".join(keys),
            cls=f"{plugin_class.__module__}.{plugin_class.__qualname__}",
            declared=", ".join(plugin_class.options) or "none", them="them" if keys[1:] else "it",
        )
    return {key: str(options.pop(key).value) for key in keys}


def _targets(given: Mapping[str, SourcedValue]) -> Targets:
    """Read C{commands}, C{methods} and C{paths} into L{Targets}."""

    def words(key: str) -> frozenset[bytes]:
        if key not in given:
            return frozenset()
        return frozenset(
            word.strip().upper().encode() for word in str(given[key].value).split(",")
            if word.strip()
        )

    paths = None
    if "paths" in given:
        try:
            paths = re.compile(str(given["paths"].value).encode())
        except re.error as e:
            raise ConfigError(f"{given['paths'].said()}: not a regular expression: {e}.") from None
    return Targets(commands=words("commands"), methods=words("methods"), paths=paths)


def configured_plugin(
    registry: PluginRegistry,
    configured: Mapping[str, ConfiguredPlugin],
    name: str,
    said: str,
) -> ConfiguredPlugin:
    """The plugin called C{name}: a configured one, or else a registered
    name or dotted path with its default options.

    @param said: how the user named it, for messages.
    @raise ConfigError: when there is no such plugin.
    """
    if name in configured:
        return configured[name]
    plugin_class = _resolve(registry, name, said)
    return ConfiguredPlugin(plugin_class, defaults(plugin_class))


def handler_entries(
    spec: SourcedValue, configured: Mapping[str, ConfiguredPlugin]
) -> tuple[HandlerEntry, ...]:
    """Read C{20:delay,5:error} into handler entries.

    What is left up to 100 goes to C{dummy} (added to a C{dummy} entry when
    there is one).

    @param spec: the share list and where it was given.
    @param configured: the handlers configured by section, by name.
    @raise ConfigError: naming the key for a malformed share, an unknown
        handler, a handler named twice or shares over 100.
    """
    shares: dict[str, tuple[int, ConfiguredPlugin]] = {}
    for part in spec.value.split(","):
        match = _SHARE.fullmatch(part)
        if match is None:
            raise ConfigError(
                f"{spec.said()}: {part.strip()!r} is not a share;"
                " write PERCENT:NAME[,PERCENT:NAME...], e.g. 20:delay,5:error, where"
                " PERCENT is a whole number from 0 to 100 and NAME a handler name"
                " or a dotted path to a handler class."
            )
        name = match["name"]
        if name in shares:
            raise ConfigError(
                f"{spec.said()}: {name!r} is named twice; give"
                " each handler one share."
            )
        plugin = configured_plugin(Handler, configured, name, spec.said())
        shares[name] = (int(match["percent"]), plugin)

    total = sum(percent for percent, _ in shares.values())
    if total > 100:
        raise ConfigError(
            f"{spec.said()}: the shares add up to {total}%;"
            " they may add up to 100% at most (what is left goes to dummy)."
        )
    if total < 100:
        percent, dummy = shares.get("dummy", (0, None))
        if dummy is None:
            dummy = configured_plugin(Handler, configured, "dummy", spec.said())
        shares["dummy"] = (percent + 100 - total, dummy)
    return tuple(
        HandlerEntry(percent, name, plugin.plugin_class, plugin.options, plugin.targets)
        for name, (percent, plugin) in shares.items()
    )


def handler_choice(
    spec: str,
    options: Mapping[str, Mapping[str, Any]],
    configured: Iterable[HandlerEntry],
) -> tuple[HandlerEntry, ...]:
    """The handler entries a running proxy is asked to use (the control
    API's C{PUT /behavior}), read as C{--handler} and its sections are.

    @param spec: shares (C{"20:delay,5:error"}), or one handler name for
        every call (C{"delay"}).
    @param options: handler name to the options (values as JSON gives them)
        and targeting keys (C{commands}, C{methods}, C{paths}) given for it.
    @param configured: the proxy's configured entries: a handler named
        there starts from its configured class, options and targets, any
        other from the registered class and its defaults.
    @raise ConfigError: naming C{NAME.OPTION} for an option value that
        does not fit, or the share list as L{handler_entries} does.
    @raise PluginError: for a name neither configured nor registered.
    """
    entries = {entry.name: entry for entry in configured}
    named = {part.split(":")[-1].strip() for part in str(spec).split(",")} | set(options)
    plugins = {name: _changed(name, entries.get(name), options.get(name, {})) for name in named}
    if ":" not in str(spec):
        spec = f"100:{spec}"
    return handler_entries(SourcedValue(spec, "name"), plugins)


def _changed(name: str, entry: HandlerEntry | None, given: Mapping[str, Any]) -> ConfiguredPlugin:
    """Handler C{name} as configured (C{entry}; else registered, with its
    defaults), with the C{given} options and targets over it."""
    if entry is None:
        base = ConfiguredPlugin(Handler.get(name), defaults(Handler.get(name)))
    else:
        base = ConfiguredPlugin(entry.handler_class, entry.options, entry.targets)
    targets = {
        key: SourcedValue(value, f"{name}.{key}") for key, value in given.items()
        if key in TARGET_KEYS
    }
    chosen = dict(base.options)
    for key, value in given.items():
        if key not in TARGET_KEYS:
            try:
                chosen[key] = option_value(base.plugin_class, key, value)
            except ValueError as e:
                raise ConfigError(f"{name}.{key} {value!r}: {e}.") from None
    return ConfiguredPlugin(base.plugin_class, chosen,
                            _targets(targets) if targets else base.targets)


def _resolve(registry: PluginRegistry, spec: str, said: str) -> type:
    try:
        return registry.resolve(spec)
    except PluginError as e:
        raise PluginError(f"{said}: {e}") from None


def _options(plugin_class: type, configured: Mapping[str, SourcedValue]) -> dict[str, Any]:
    options = defaults(plugin_class)
    for option, given in configured.items():
        try:
            options[option] = option_value(plugin_class, option, given.value)
        except ValueError as e:
            raise ConfigError(f"{given.said()}: {e}.") from None
    return options
