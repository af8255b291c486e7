"""The INI file and the command line merged into one checked L{Settings}:
the command line wins over C{[vaurien]}, the C{[handler:NAME]},
C{[protocol:NAME]} and C{[toxic:NAME]} sections meet the C{--handler-...},
C{--protocol-...} and C{--toxic-...} options, and C{[statsd]} is read."""
from __future__ import annotations

from typing import Mapping

from vaurien.config.core import CORE_SETTINGS, checked_value, named_settings, setting_value
from vaurien.config.ini import IniFile, SourcedValue, read_ini
from vaurien.config.plugins import configure_plugins
from vaurien.config.addresses import listen_endpoint
from vaurien.config.proxies import is_demo, proxy_settings
from vaurien.config.settings import AddedProxy, ProxySettings, Settings, StatsdSettings
from vaurien.config.toxiproxy_file import read_toxiproxy_config
from vaurien.config.toxics import given_names, toxic_sections
from vaurien.errors import ConfigError
from vaurien.handlers import Handler
from vaurien.protocols import Protocol


def build_settings(
    command_line: Mapping[str, SourcedValue],
    plugin_command_line: Mapping[str, Mapping[str, Mapping[str, SourcedValue]]],
    config_path: str | None,
    toxic_command_line: Mapping[str, SourcedValue] | None = None,
) -> Settings:
    """Merge the INI file and the command line into checked L{Settings}.

    @param command_line: core setting name (C{stay_connected}) to the value
        given on the command line.
    @param plugin_command_line: C{"handler"} or C{"protocol"}, to plugin
        name, to option name, to the value given on the command line.
    @param config_path: the INI file, or C{None}.
    @param toxic_command_line: C{NAME-ATTRIBUTE} (C{--toxic-NAME-ATTRIBUTE})
        to the value given on the command line.
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
    specs = [given["toxic"]] if "toxic" in given else []
    specs += [section["toxic"] for section in ini.proxies.values() if "toxic" in section]
    toxics = toxic_sections(ini.toxics, toxic_command_line or {}, given_names(specs))
    toxiproxy_api = _toxiproxy_api(given)
    # As toxiproxy-server: with its API and no proxy given, start with none.
    empty = toxiproxy_api is not None and not ini.proxies and not any(
        name in given for name in ("proxy", "backend", "demo"))
    demo = not empty and is_demo(given, ini.proxies)
    workers = setting_value(given, "workers")
    if workers > 1 and demo:
        raise ConfigError(
            f"--workers {workers}: several workers need a backend (--backend HOST:PORT):"
            " the demo's backend lives inside one process, on a port of its own,"
            " and its proxy does not share its port with other processes."
        )
    if workers > 1 and toxiproxy_api is not None:
        raise ConfigError(
            f"--workers {workers}: {given['toxiproxy_api'].said()} adds and removes"
            " proxies in one process; run it with one worker."
        )
    proxies = () if empty else proxy_settings(
        given, ini.proxies, handlers, protocols, demo, toxics)
    return Settings(
        proxies=proxies,
        toxiproxy_api=toxiproxy_api,
        added_proxies=_added_proxies(given, proxies),
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


def _toxiproxy_api(given: Mapping[str, SourcedValue]) -> str | None:
    """The endpoint string of C{toxiproxy_api}, if given."""
    address = setting_value(given, "toxiproxy_api")
    if not address:
        return None
    return listen_endpoint(address, given["toxiproxy_api"].said())


def _added_proxies(
    given: Mapping[str, SourcedValue], proxies: tuple[ProxySettings, ...]
) -> tuple[AddedProxy, ...]:
    """The proxies of C{toxiproxy_config}, whose names must differ from
    those of C{proxies}."""
    path = setting_value(given, "toxiproxy_config")
    if not path:
        return ()
    said = given["toxiproxy_config"].said()
    added = read_toxiproxy_config(path, said, setting_value(given, "log_level") == "debug")
    taken = {proxy.name for proxy in proxies}
    for proxy in added:
        if proxy.settings.name in taken:
            raise ConfigError(
                f"{said}: a proxy named {proxy.settings.name!r} is configured already;"
                " give it another name."
            )
    return added


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


def _merged(
    file_sections: Mapping[str, Mapping[str, SourcedValue]],
    command_line: Mapping[str, Mapping[str, SourcedValue]],
) -> dict[str, dict[str, SourcedValue]]:
    sections = {name: dict(section) for name, section in file_sections.items()}
    for name, options in command_line.items():
        sections.setdefault(name, {}).update(options)
    return sections
