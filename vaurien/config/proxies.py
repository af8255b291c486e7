"""From the proxy settings the user gave to one L{ProxySettings} per proxy.

Without C{[proxy:NAME]} sections there is one proxy, C{default}, made of
the command line and C{[vaurien]}. With them, each section is a proxy
called NAME, and the proxy settings of the command line and C{[vaurien]}
(C{proxy}, C{backend}, C{protocol}, C{handler}, C{timeout}, ...) are the
defaults of every section: a key in the section wins. Two proxies may not
listen on the same address. The demo runs only when no backend is given
anywhere (or C{--demo} says so).
"""
from __future__ import annotations

import re
from typing import Mapping

from vaurien.config.addresses import backend_endpoint, listen_endpoint
from vaurien.config.core import CORE_SETTINGS, PROXY_SETTINGS, named_settings, setting_value
from vaurien.config.ini import SourcedValue
from vaurien.config.plugins import ConfiguredPlugin, configured_plugin, handler_entries
from vaurien.config.settings import ProxySettings
from vaurien.config.toxics import proxy_toxics
from vaurien.errors import ConfigError
from vaurien.protocols import Protocol

#: The handlers of the demo when the user chose none: faults one can see.
DEMO_HANDLERS = "20:delay,20:error"

#: A listening address on a port the system chooses: never shared.
_ANY_PORT = re.compile(r"tcp6?:0(:|$)")

#: Where a proxy added without a listening address listens: loopback, on a
#: port the system chooses.
ANY_LOOPBACK_PORT = "127.0.0.1:0"


def is_demo(
    given: Mapping[str, SourcedValue], sections: Mapping[str, Mapping[str, SourcedValue]]
) -> bool:
    """Whether to run the demo: C{--demo}, or no backend anywhere."""
    demo = setting_value(given, "demo")
    return demo or ("backend" not in given and not any("backend" in s for s in sections.values()))


def proxy_settings(
    given: Mapping[str, SourcedValue],
    sections: Mapping[str, Mapping[str, SourcedValue]],
    handlers: Mapping[str, ConfiguredPlugin],
    protocols: Mapping[str, ConfiguredPlugin],
    demo: bool,
    toxics: Mapping[str, Mapping[str, SourcedValue]] | None = None,
) -> tuple[ProxySettings, ...]:
    """Every proxy: C{default}, or one per C{[proxy:NAME]} section.

    @param given: the core settings of the command line and C{[vaurien]}.
    @param sections: proxy name to its C{[proxy:NAME]} section.
    @param handlers: the handlers configured by section, by name.
    @param protocols: the protocols configured by section, by name.
    @param demo: whether the proxies point at the demo backend.
    @param toxics: the toxics configured by section, by name.
    @raise ConfigError: naming the key and section of a wrong value, a
        proxy without a backend, or two proxies on one address.
    """
    defaults = {name: value for name, value in given.items() if name in PROXY_SETTINGS}
    log_calls = setting_value(given, "log_level") == "debug"
    if not sections:
        named = {"default": ("the command line and [vaurien]", defaults)}
    else:
        named = {
            name: (f"[proxy:{name}]", {**defaults, **named_settings(s, PROXY_SETTINGS, f"[proxy:{name}]")})
            for name, s in sections.items()
        }
    proxies = [
        _proxy(name, where, settings, handlers, protocols, demo, log_calls, toxics or {})
        for name, (where, settings) in named.items()
    ]
    _refuse_shared_addresses(proxies, named)
    return tuple(proxies)


def _proxy(
    name: str,
    where: str,
    given: Mapping[str, SourcedValue],
    handlers: Mapping[str, ConfiguredPlugin],
    protocols: Mapping[str, ConfiguredPlugin],
    demo: bool,
    log_calls: bool,
    toxics: Mapping[str, Mapping[str, SourcedValue]],
) -> ProxySettings:
    handler_spec = given.get("handler") or SourcedValue(
        DEMO_HANDLERS if demo else CORE_SETTINGS["handler"].default, "--handler"
    )
    protocol_spec = given.get("protocol") or SourcedValue(
        "http" if demo and "http" in Protocol.names() else CORE_SETTINGS["protocol"].default,
        "--protocol",
    )
    protocol = configured_plugin(Protocol, protocols, protocol_spec.value, protocol_spec.said())
    listen = _listen(given)
    if demo:
        backend = ""
    elif "backend" in given:
        backend = backend_endpoint(given["backend"].value, given["backend"].said())
    else:
        raise ConfigError(
            f"{where} has no backend; give backend = HOST:PORT there, or in [vaurien]"
            " (or --backend) for every proxy."
        )
    return ProxySettings(
        name=name,
        listen=listen_endpoint(listen.value, listen.said()),
        backend=backend,
        protocol_class=protocol.plugin_class,
        protocol_options=protocol.options,
        handlers=handler_entries(handler_spec, handlers),
        timeout=setting_value(given, "timeout"),
        stay_connected=setting_value(given, "stay_connected"),
        no_fast_path=setting_value(given, "no_fast_path"),
        backlog=setting_value(given, "backlog"),
        seed=setting_value(given, "seed"),
        max_buffer=setting_value(given, "max_buffer"),
        threads=setting_value(given, "threads"),
        log_calls=log_calls,
        toxics=proxy_toxics(given.get("toxic"), toxics),
    )


def _listen(given: Mapping[str, SourcedValue]) -> SourcedValue:
    return given.get("proxy") or SourcedValue(CORE_SETTINGS["proxy"].default, "--proxy")


def _refuse_shared_addresses(
    proxies: list[ProxySettings], named: Mapping[str, tuple[str, Mapping[str, SourcedValue]]]
) -> None:
    listening: dict[str, ProxySettings] = {}
    for proxy in proxies:
        if _ANY_PORT.match(proxy.listen):
            continue
        other = listening.setdefault(proxy.listen, proxy)
        if other is not proxy:
            first, second = (_listen(named[p.name][1]).said() for p in (other, proxy))
            raise ConfigError(
                f"proxies {other.name!r} ({first}) and {proxy.name!r} ({second}) both"
                f" listen on {proxy.listen!r}; give each proxy its own address."
            )


def added_proxy(
    name: object, listen: object, upstream: object, protocol: object = None,
    log_calls: bool = False,
) -> ProxySettings:
    """A proxy added by name and addresses (Toxiproxy's API and config
    file, the control API), with pass-through handlers and every other
    setting at its default.

    @param listen: C{host:port} or an endpoint string.
    @param upstream: the backend, C{host:port} or an endpoint string.
    @param protocol: a registered protocol's name (C{None}: tcp); never a
        dotted path, so that no API request imports code.
    @raise ConfigError: naming the field at fault.
    """
    if not isinstance(name, str) or not name.strip() or "/" in name:
        raise ConfigError(f"name {name!r}: a proxy's name is a non-empty string without '/'.")
    for field, value in (("listen", listen), ("upstream", upstream)):
        if not isinstance(value, str):
            raise ConfigError(f"{field} {value!r}: expected an address as a string, host:port.")
    protocol = CORE_SETTINGS["protocol"].default if protocol is None else protocol
    if protocol not in Protocol.names():
        raise ConfigError(
            f"protocol {protocol!r}: expected one of {', '.join(Protocol.names())}."
        )
    plugin = configured_plugin(Protocol, {}, protocol, f"protocol {protocol!r}")
    return ProxySettings(
        name=name,
        listen=listen_endpoint(listen, f"listen {listen!r}"),
        backend=backend_endpoint(upstream, f"upstream {upstream!r}"),
        protocol_class=plugin.plugin_class,
        protocol_options=plugin.options,
        handlers=handler_entries(SourcedValue(CORE_SETTINGS["handler"].default, "handler"), {}),
        log_calls=log_calls,
    )
