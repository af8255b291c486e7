"""The endpoints proxies listen on: the configured backlog on TCP, and
C{SO_REUSEPORT} when several worker processes share one port (the kernel
spreads the connections among them)."""
from __future__ import annotations

import socket
from typing import Any

from twisted.internet import defer
from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint, serverFromString
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IStreamServerEndpoint
from zope.interface import implementer

from vaurien.errors import ConfigError


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
    port, interface = endpoint._port, endpoint._interface
    if reuse_port:
        return ReusePortEndpoint(reactor, family, port, interface, backlog)
    return type(endpoint)(reactor, port, backlog, interface)
