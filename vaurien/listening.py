"""How a proxy's listening is told: its one start line, logged once it
listens, and the C{host:port} of an address it listens on."""
from __future__ import annotations

import os
from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IStreamServerEndpoint
from twisted.logger import Logger
from zope.interface import implementer

from vaurien.config import ProxySettings, handlers_label
from vaurien.endpoints import backend_authority


@implementer(IStreamServerEndpoint)
class Announcing:
    """A proxy's listening endpoint, which logs the proxy's start line
    (L{start_line}) once it listens."""

    log = Logger()

    def __init__(self, endpoint: IStreamServerEndpoint, proxy: ProxySettings):
        self._endpoint = endpoint
        self._proxy = proxy

    def listen(self, factory: Any) -> Deferred:
        def announce(port: Any) -> Any:
            self.log.info("{line}", line=start_line(self._proxy, port.getHost()))
            return port

        return self._endpoint.listen(factory).addCallback(announce)


def address_text(address: Any) -> str:
    """Where a port listens: C{127.0.0.1:8000}, C{[::1]:8000}, a UNIX
    socket's path, else the address as Twisted prints it.

    @param address: the port's C{getHost()}.
    """
    if isinstance(address, (IPv4Address, IPv6Address)):
        host = f"[{address.host}]" if ":" in address.host else address.host
        return f"{host}:{address.port}"
    if isinstance(address, UNIXAddress):
        return os.fsdecode(address.name)
    return str(address)


def start_line(proxy: ProxySettings, address: Any) -> str:
    """What a proxy does, in one line: C{proxy default: 127.0.0.1:8000 ->
    127.0.0.1:6379, protocol redis, handlers 20:delay(sleep=1.0,...),80:dummy},
    then each toxic (C{toxic slow: latency(latency=100,jitter=0) downstream 0.5}).

    @param address: the address it listens on (the port's C{getHost()}).
    """
    backend = backend_authority(proxy.backend) or proxy.backend
    declared = proxy.protocol_class.options
    options = ",".join(
        f"{k}={v}" for k, v in proxy.protocol_options.items()
        if k in declared and declared[k][2] != v
    )
    protocol = proxy.protocol_class.name + (f"({options})" if options else "")
    line = (
        f"proxy {proxy.name}: {address_text(address)} -> {backend}, protocol {protocol},"
        f" handlers {handlers_label(proxy.handlers, every_option=True)}"
    )
    for toxic in proxy.toxics:
        attributes = ",".join(f"{k}={v}" for k, v in toxic.attributes.items())
        line += (f", toxic {toxic.name}: {toxic.toxic_class.name}({attributes})"
                 f" {toxic.stream} {toxic.toxicity:g}")
    return line if proxy.seed is None else f"{line}, seed {proxy.seed}"
