"""Test fixtures for the control API: real proxies on a memory reactor and
a clock, and the API served over loopback."""
from __future__ import annotations

import json
from io import BytesIO
from typing import Any

from attrs import frozen
from twisted.internet import reactor, task
from twisted.internet.testing import MemoryReactorClock
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers
from twisted.web.iweb import IBodyProducer

from tests.proxying import proxy_settings
from vaurien.control.api import control_site
from vaurien.proxy import Proxy


def two_proxies(first: str = "100:dummy", second: str = "100:dummy") -> dict[str, Proxy]:
    """Proxies C{a} and C{b}, each with its own memory reactor and
    C{clock} (a L{task.Clock})."""
    return {
        name: Proxy(proxy_settings(1, handlers), reactor=MemoryReactorClock(), clock=task.Clock())
        for name, handlers in (("a", first), ("b", second))
    }


def serve(test: Any, proxies: dict[str, Proxy], token: str | None = None) -> str:
    """Serve the control API of C{proxies} on a free loopback port for the
    test's duration; its root URL."""
    site = control_site({name: proxy.control for name, proxy in proxies.items()}, token)
    port = reactor.listenTCP(0, site, interface="127.0.0.1")
    test.addCleanup(port.stopListening)
    return f"http://127.0.0.1:{port.getHost().port}"


@frozen
class Answer:
    """An HTTP response: status, headers and body."""

    code: int
    headers: Headers
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        values = self.headers.getRawHeaders(name)
        return values[0] if values else None


class HTTP:
    """Requests over loopback with twisted.web's Agent; its connections
    are closed when the test ends."""

    def __init__(self, test: Any, root: str):
        self.root = root
        pool = HTTPConnectionPool(reactor)
        test.addCleanup(pool.closeCachedConnections)
        self._agent = Agent(reactor, pool=pool)

    async def request(self, method: str, path: str, body: Any = None,
                      headers: dict[str, str] | None = None) -> Answer:
        """Send C{body}: bytes as they are, a body producer as it writes,
        anything else as JSON; with no Content-Type, as the original client
        did."""
        producer = body
        if isinstance(body, bytes):
            producer = FileBodyProducer(BytesIO(body))
        elif body is not None and not IBodyProducer.providedBy(body):
            producer = FileBodyProducer(BytesIO(json.dumps(body).encode()))
        response = await self._agent.request(
            method.encode(), (self.root + path).encode(),
            Headers({key: [value] for key, value in (headers or {}).items()}), producer,
        )
        return Answer(response.code, response.headers, await readBody(response))

