"""The core settings: C{[vaurien] foo_bar} in the file, C{--foo-bar} on the
command line, each with its type, default and allowed values, and their
conversion from what the user wrote.
"""
from __future__ import annotations

from typing import Any, Mapping

from attrs import frozen

from vaurien.config.ini import SourcedValue
from vaurien.errors import ConfigError
from vaurien.registry import convert

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


@frozen
class CoreSetting:
    """One core setting: C{[vaurien] name} and C{--name-with-dashes}.

    @ivar minimum: the smallest value allowed, for numbers.
    @ivar maximum: the largest value allowed, for numbers.
    @ivar choices: the values allowed (lower case), for words.
    """

    name: str
    type: type
    default: Any
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def option(self) -> str:
        """The command-line spelling, without the dashes in front."""
        return self.name.replace("_", "-")


CORE_SETTINGS = {
    setting.name: setting
    for setting in (
        CoreSetting(
            "proxy", str, "localhost:8000",
            "Address to listen on: host:port or an endpoint string.",
        ),
        CoreSetting(
            "backend", str, None,
            "Backend address: host:port or an endpoint string (none: the demo).",
        ),
        CoreSetting(
            "protocol", str, "tcp", "Protocol: a registered name or a dotted path to a class."
        ),
        CoreSetting(
            "handler", str, "100:dummy",
            "Handler shares, e.g. 20:delay,5:error; the rest goes to dummy"
            " (alias: --behavior).",
        ),
        CoreSetting(
            "toxic", str, None,
            "The toxics of the proxy, comma-separated or repeated: each"
            " NAME:TYPE[:STREAM[:TOXICITY]] or the NAME of a [toxic:NAME] section;"
            " attributes with --toxic-NAME-ATTRIBUTE VALUE (none given: every"
            " [toxic:NAME] section).",
        ),
        CoreSetting(
            "timeout", float, 30.0,
            "Seconds of silence before a connection is closed (0: never).", minimum=0,
        ),
        CoreSetting(
            "stay_connected", bool, False,
            "Keep the client connected when the backend goes away.",
        ),
        CoreSetting(
            "no_fast_path", bool, False,
            "Turn off the fast paths (the lane, splice, the direct send): every"
            " byte goes through Twisted's public API (env: VAURIEN_NO_FAST_PATH=1).",
        ),
        CoreSetting("backlog", int, 8192, "Listen backlog.", minimum=1),
        CoreSetting("seed", int, None, "Seed of the handler choice, for repeatable runs."),
        CoreSetting(
            "max_buffer", int, 256 * 1024,
            "Bytes buffered per direction before reading pauses.", minimum=1,
        ),
        CoreSetting(
            "threads", int, 10, "Most worker threads for blocking handlers.", minimum=1
        ),
        CoreSetting("log_level", str, "info", "Log level.", choices=LOG_LEVELS),
        CoreSetting(
            "log_output", str, "-", "Where logs go: - for standard output, or a file."
        ),
        CoreSetting(
            "workers", int, 1,
            "Processes sharing each listening port (SO_REUSEPORT), for more cores.",
            minimum=1,
        ),
        CoreSetting("demo", bool, False, "Proxy to an embedded demo HTTP backend."),
        CoreSetting("http", bool, False, "Run the HTTP control API."),
        CoreSetting(
            "http_host", str, "127.0.0.1",
            "Interface the control API listens on (keep it on loopback unless needed).",
        ),
        CoreSetting(
            "http_port", int, 8080, "TCP port of the control API.", minimum=1, maximum=65535
        ),
        CoreSetting(
            "http_token", str, None,
            "Bearer token the control API requires (none: no token asked).",
        ),
        CoreSetting(
            "toxiproxy_api", str, None,
            "Serve the Toxiproxy HTTP API on HOST:PORT, for its clients (off by"
            " default); with no proxy given, start with none, as toxiproxy-server.",
        ),
        CoreSetting(
            "toxiproxy_config", str, None,
            "A Toxiproxy JSON config file: its proxies are added at start.",
        ),
    )
}

#: The settings each proxy has: in C{[vaurien]} for the single proxy, or in
#: each C{[proxy:NAME]}.
PROXY_SETTINGS = (
    "proxy", "backend", "protocol", "handler", "toxic", "timeout", "stay_connected",
    "no_fast_path", "backlog", "seed", "max_buffer", "threads",
)

#: Another name for a setting, in the file and on the command line.
ALIASES = {"behavior": "handler"}


def setting_value(given: Mapping[str, SourcedValue], name: str) -> Any:
    """The core setting C{name}, converted and checked, or its default.

    @param given: setting name to the value the user gave.
    @raise ConfigError: naming the key, the value and what is allowed.
    """
    setting = CORE_SETTINGS[name]
    if name not in given:
        return setting.default
    raw = given[name]
    return checked_value(raw, setting.type, setting.minimum, setting.maximum, setting.choices)


def checked_value(
    raw: SourcedValue,
    type_: type,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] = (),
) -> Any:
    """Convert C{raw} to C{type_} and check it against the limits given.

    @raise ConfigError: naming the key, the value and what is allowed.
    """
    try:
        value = convert(raw.value, type_)
    except ValueError as e:
        raise ConfigError(f"{raw.said()}: {e}.") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{raw.said()}: must be at least {minimum}.")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{raw.said()}: must be at most {maximum}.")
    if choices:
        value = value.lower()
        if value not in choices:
            raise ConfigError(f"{raw.said()}: expected one of {', '.join(choices)}.")
    return value


def named_settings(
    section: Mapping[str, SourcedValue], allowed: tuple[str, ...] | Mapping[str, Any], where: str
) -> dict[str, SourcedValue]:
    """A section's values by setting name, aliases resolved.

    @param section: key (underscores) to the value given.
    @param allowed: the setting names the section may hold.
    @param where: the section, for messages (C{"[vaurien]"}).
    @raise ConfigError: for an unknown key, or a setting given under two
        names.
    """
    settings: dict[str, SourcedValue] = {}
    for key, given in section.items():
        name = ALIASES.get(key, key)
        if name not in allowed:
            known = ", ".join(sorted([*allowed, *(a for a, n in ALIASES.items() if n in allowed)]))
            raise ConfigError(
                f"unknown key {given.key!r} in {given.place or where}; the keys of"
                f" {where} are: {known}."
            )
        if name in settings:
            raise ConfigError(
                f"{given.said()}: {settings[name].key!r} is given too; give one of them."
            )
        settings[name] = given
    return settings
