"""Twisted's own C{twisted.protocols.portforward}, the reference proxy.

Run as C{python -m bench.portforward LISTEN_PORT BACKEND_PORT}: a bare
transport-to-transport relay on loopback, measured in the same run as
vaurien so its column shows what Twisted itself costs on this machine.
"""
from __future__ import annotations

import resource
import signal
import sys

from twisted.internet import reactor
from twisted.protocols import portforward


def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    listen, backend = int(sys.argv[1]), int(sys.argv[2])
    factory = portforward.ProxyFactory("127.0.0.1", backend)
    reactor.listenTCP(listen, factory, backlog=8192, interface="127.0.0.1")
    signal.signal(signal.SIGTERM, lambda *a: reactor.callFromThread(reactor.stop))
    reactor.run()


if __name__ == "__main__":
    main()
