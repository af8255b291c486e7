"""Tiny loopback servers for the benchmarks, run as C{python -m bench.servers KIND PORT}.

- C{echo}: writes back every byte it reads (asyncio, one process).
- C{hold}: accepts connections and holds them open, reading and discarding.
"""
from __future__ import annotations

import asyncio
import resource
import socket
import sys


class _Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data):
        self.transport.write(data)

    def eof_received(self):
        return False


class _Hold(asyncio.Protocol):
    held = 0

    def connection_made(self, transport):
        _Hold.held += 1

    def data_received(self, data):
        pass

    def connection_lost(self, exc):
        _Hold.held -= 1


async def _serve(kind: str, port: int) -> None:
    factory = {"echo": _Echo, "hold": _Hold}[kind]
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, "127.0.0.1", port, backlog=8192, reuse_address=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    kind, port = sys.argv[1], int(sys.argv[2])
    try:
        asyncio.run(_serve(kind, port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
