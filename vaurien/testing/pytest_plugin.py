"""The C{vaurien_proxy} pytest fixture: a factory of Vaurien proxies, each
a C{vaurien} subprocess on free loopback ports, all stopped when the test
ends::

    def test_cache_survives_delays(vaurien_proxy):
        proxy = vaurien_proxy(backend="127.0.0.1:6379", protocol="redis",
                              handler="20:delay", http=True)
        cache = redis.Redis(proxy.host, proxy.port)
        ...
        with proxy.client.with_behavior("error"):
            ...

Keyword options beyond these are C{vaurien} options
(C{handler_delay_sleep=0.5}, C{stay_connected=True}, C{http_token="t"}).
"""
from __future__ import annotations

import subprocess
from typing import Any, Callable, Iterator

import pytest
from attrs import frozen

from vaurien.testing import command_line, free_port
from vaurien.util import end_process, spawn_vaurien

#: The interface test proxies listen on.
LOOPBACK = "127.0.0.1"


@frozen
class SpawnedProxy:
    """A running proxy, as a test uses it.

    @ivar host: the host it listens on.
    @ivar port: the port it listens on.
    @ivar http_port: the port of its control API (C{None}: no API).
    @ivar http_token: the token its control API requires, if any.
    @ivar process: the C{vaurien} subprocess.
    """

    host: str
    port: int
    process: subprocess.Popen
    http_port: int | None = None
    http_token: str | None = None

    @property
    def address(self) -> str:
        """C{host:port}, for clients that take one string."""
        return f"{self.host}:{self.port}"

    @property
    def client(self) -> Any:
        """A L{vaurien.control.client.Client} driving this proxy.

        @raise ValueError: when it was started without C{http=True}.
        """
        if self.http_port is None:
            raise ValueError("this proxy has no control API: start it with http=True")
        from vaurien.control.client import Client

        return Client(self.host, self.http_port, token=self.http_token)


@pytest.fixture
def vaurien_proxy() -> Iterator[Callable[..., SpawnedProxy]]:
    """A function starting proxies for this test; they stop at its end."""
    started: list[subprocess.Popen] = []

    def start(
        backend: str, protocol: str = "tcp", handler: str = "100:dummy", http: bool = False,
        **options: Any,
    ) -> SpawnedProxy:
        """Start a proxy to C{backend} (C{host:port} or an endpoint string).

        @raise ValueError: when it cannot start (its error is on standard
            error) or is not ready in time.
        """
        port = free_port(LOOPBACK)
        arguments = [
            "--proxy", f"{LOOPBACK}:{port}", "--backend", backend,
            "--protocol", protocol, "--handler", handler, *command_line(options),
        ]
        ready = [(LOOPBACK, port)]
        http_port = None
        if http:
            http_port = free_port(LOOPBACK)
            arguments += ["--http", "--http-host", LOOPBACK, "--http-port", str(http_port)]
            ready.append((LOOPBACK, http_port))
        process = spawn_vaurien(arguments, ready)
        started.append(process)
        return SpawnedProxy(LOOPBACK, port, process, http_port, options.get("http_token"))

    yield start
    for process in started:
        end_process(process)
