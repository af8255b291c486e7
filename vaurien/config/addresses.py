"""Listening and backend addresses: C{host:port} or Twisted endpoint strings.

A user writes C{localhost:8000} or C{[::1]:8000} as the original Vaurien
took them, or any endpoint string (C{tcp:8000:interface=127.0.0.1},
C{unix:/run/vaurien.sock}, C{ssl:...}, C{systemd:...}). Both are turned
into endpoint strings here, once, and checked by building the endpoint,
so that a wrong address is refused at start with a message for a person.

L{listening_endpoint} then makes a proxy's listening endpoint from its
endpoint string: the configured backlog on TCP, and C{SO_REUSEPORT} when
several worker processes share one port (the kernel spreads the
connections among them).
"""
from __future__ import annotations

import re
import socket
from typing import Any

from twisted.internet import defer
from twisted.internet.endpoints import (
    TCP4ServerEndpoint, TCP6ServerEndpoint, clientFromString, serverFromString,
)
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IStreamServerEndpoint
from zope.interface import implementer

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


@implementer(IStreamServerEndpoint)
class ReusePortEndpoint:
    """A TCP listening endpoint whose socket has C{SO_REUSEPORT} set."""

    def __init__(self, reactor: Any, family: int, port: int, interface: str, backlog: int):
        self._reactor = reactor
        self._family = family
        self._port = port
        self._interface = interface
        self._backlog = backlog

    def listen(self, factory: Any) -> defer.Deferred:
        """Bind, listen and hand the socket to the reactor."""
        sock = socket.socket(self._family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((self._interface, self._port))
            sock.listen(self._backlog)
            sock.setblocking(False)
            port = self._reactor.adoptStreamPort(sock.fileno(), self._family, factory)
        except OSError as e:
            return defer.fail(CannotListenError(self._interface, self._port, e))
        finally:
            sock.close()  # the reactor holds its own copy
        return defer.succeed(port)


class _ListenNoted:
    """Stands in for the reactor to note where a TCP endpoint listens, as
    its C{listen} tells C{listenTCP}: so no endpoint's private attributes
    are read."""

    port = 0
    interface = ""

    def listenTCP(self, port: int, factory: Any, backlog: int = 50, interface: str = "") -> None:
        self.port, self.interface = port, interface


def listening_endpoint(
    reactor: Any, description: str, backlog: int, reuse_port: bool
) -> IStreamServerEndpoint:
    """The endpoint for a proxy's listening address.

    @param description: an endpoint string (C{tcp:8000:interface=...}).
    @param backlog: the listen backlog, for TCP addresses.
    @param reuse_port: share the port with other processes.
    @raise ConfigError: when C{reuse_port} is asked of a non-TCP address.
    """
    endpoint = serverFromString(reactor, description)
    if isinstance(endpoint, TCP6ServerEndpoint):
        family = socket.AF_INET6
    elif isinstance(endpoint, TCP4ServerEndpoint):
        family = socket.AF_INET
    elif reuse_port:
        raise ConfigError(
            f"--workers: {description!r} is not a TCP address; several workers"
            " can share only tcp: and tcp6: listening addresses."
        )
    else:
        return endpoint
    noted = _ListenNoted()
    serverFromString(noted, description).listen(None)
    port, interface = noted.port, noted.interface
    if reuse_port:
        return ReusePortEndpoint(reactor, family, port, interface, backlog)
    return type(endpoint)(reactor, port, backlog, interface)
