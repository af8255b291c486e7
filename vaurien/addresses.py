"""Listening and backend addresses: C{host:port} or Twisted endpoint strings.

A user writes C{localhost:8000} or C{[::1]:8000} as the original Vaurien
took them, or any endpoint string (C{tcp:8000:interface=127.0.0.1},
C{unix:/run/vaurien.sock}, C{ssl:...}, C{systemd:...}). Both are turned
into endpoint strings here, once, and checked by building the endpoint,
so that a wrong address is refused at start with a message for a person.
"""
from __future__ import annotations

import re

from twisted.internet.endpoints import clientFromString, serverFromString

from vaurien.errors import ConfigError

#: The endpoint types whose strings pass as they are.
ENDPOINT_PREFIXES = frozenset(("tcp", "tcp6", "unix", "ssl", "tls", "systemd"))

_HOST_PORT = re.compile(r"(?:\[(?P<ipv6>[^\]]+)\]|(?P<host>[^:\[\]]*)):(?P<port>\d{1,5})")

_ALLOWED = (
    "host:port (e.g. localhost:8000, [::1]:8000) or a Twisted endpoint"
    " string starting with one of " + ", ".join(f"{p}:" for p in sorted(ENDPOINT_PREFIXES))
)


def listen_endpoint(address: str, said: str) -> str:
    """Return the server endpoint string for a listening address.

    C{host:port} becomes C{tcp:PORT:interface=HOST} (C{tcp6:} for an IPv6
    host in brackets; an empty host listens on every interface).

    @param address: what the user wrote.
    @param said: how the user gave it (key and value), for messages.
    @raise ConfigError: naming the key when the address cannot be used.
    """
    description = _endpoint_string(address, said, _server_from_host_port)
    _check(serverFromString, description, said, "listening address")
    return description


def backend_endpoint(address: str, said: str) -> str:
    """Return the client endpoint string for a backend address.

    C{host:port} becomes C{tcp:host=HOST:port=PORT}.

    @param address: what the user wrote.
    @param said: how the user gave it (key and value), for messages.
    @raise ConfigError: naming the key when the address cannot be used.
    """
    description = _endpoint_string(address, said, _client_from_host_port)
    _check(clientFromString, description, said, "backend address")
    return description


def _endpoint_string(address: str, said: str, from_host_port) -> str:
    address = address.strip()
    if address.split(":", 1)[0] in ENDPOINT_PREFIXES:
        return address
    match = _HOST_PORT.fullmatch(address)
    if match is None or int(match["port"]) > 65535:
        raise ConfigError(f"{said}: not an address; expected {_ALLOWED}.")
    return from_host_port(match["ipv6"], match["host"], match["port"], said)


def _escape(host: str) -> str:
    return host.replace("\\", "\\\\").replace(":", "\\:").replace("=", "\\=")


def _server_from_host_port(ipv6: str | None, host: str | None, port: str, said: str) -> str:
    if ipv6 is not None:
        return f"tcp6:{port}:interface={_escape(ipv6)}"
    if host:
        return f"tcp:{port}:interface={_escape(host)}"
    return f"tcp:{port}"


def _client_from_host_port(ipv6: str | None, host: str | None, port: str, said: str) -> str:
    host = ipv6 if ipv6 is not None else host
    if not host:
        raise ConfigError(f"{said}: a backend needs a host; expected {_ALLOWED}.")
    return f"tcp:host={_escape(host)}:port={port}"


def _check(parse, description: str, said: str, what: str) -> None:
    from twisted.internet import reactor

    try:
        parse(reactor, description)
    except Exception as e:
        if description.startswith("systemd:") and isinstance(e, (IndexError, KeyError)):
            raise ConfigError(
                f"{said}: systemd passed no such socket ({type(e).__name__}: {e});"
                " start Vaurien from its .socket unit (see contrib/systemd/README.md),"
                " which passes the listening sockets in LISTEN_FDS."
            ) from None
        raise ConfigError(
            f"{said}: not a usable {what}"
            f" ({description!r}: {type(e).__name__}: {e}); expected {_ALLOWED}."
        ) from None
