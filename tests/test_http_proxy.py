"""An HTTP keep-alive client through the proxy to a real twisted.web
backend, with faults on a share of the requests."""
from __future__ import annotations

import socket

import h11
from twisted.internet import protocol
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site

from tests.proxying import listen, proxy_settings, start_proxy
from tests.servers import free_port

FIXED_DATE = b"Thu, 26 Nov 2026 00:00:00 GMT"


class Page(Resource):
    """A small page; the same bytes every time (fixed Date)."""

    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"date", FIXED_DATE)
        request.setHeader(b"content-type", b"text/plain")
        return b"hello from the backend " + request.path

    def render_POST(self, request):
        request.setHeader(b"date", FIXED_DATE)
        return b"posted " + request.content.read()


class Chunked(Resource):
    """A body written in pieces: chunked transfer encoding."""

    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"date", FIXED_DATE)
        for n in range(5):
            request.write(b"chunk %d;" % n)
        request.finish()
        return NOT_DONE_YET


def backend_site() -> Site:
    root = Resource()
    root.putChild(b"page", Page())
    root.putChild(b"api", Page())
    root.putChild(b"chunked", Chunked())
    site = Site(root)
    site.noisy = False
    return site


class RawHTTPClient:
    """A keep-alive client that returns each response's exact bytes."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)

    def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: test\r\n"
        if body:
            head += f"Content-Length: {len(body)}\r\n"
        self.sock.sendall(head.encode() + b"\r\n" + body)
        parser = h11.Connection(h11.CLIENT)
        parser.send(h11.Request(method=method, target=path, headers=[("Host", "test")]))
        parser.send(h11.EndOfMessage())
        raw, status = bytearray(), None
        while True:
            event = parser.next_event()
            if event is h11.NEED_DATA:
                data = self.sock.recv(65536)
                raw += data
                parser.receive_data(data)
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.EndOfMessage):
                return status, bytes(raw)

    def close(self) -> None:
        self.sock.close()


class HTTPThroughProxyTests(TestCase):
    """Each request gets its own answer: the backend's, or a 5xx."""

    def ports(self, handlers: str, **options) -> tuple[int, int, object]:
        backend = listen(self, backend_site())
        port, factory = start_proxy(
            self, proxy_settings(backend, handlers, protocol="http", seed=3, **options)
        )
        return backend, port, factory.proxy

    def exchanges(self, port: int, requests: list[tuple[str, str]]):
        def run():
            client = RawHTTPClient(port)
            try:
                return [client.request(method, path) for method, path in requests]
            finally:
                client.close()

        return deferToThread(run)

    async def test_1000_keep_alive_requests_with_20_percent_errors(self):
        backend, port, proxy = self.ports("20:error")
        requests = [("GET", f"/page/{n}") for n in range(1000)]
        direct = await self.exchanges(backend, requests)
        proxied = await self.exchanges(port, requests)
        errors = 0
        for (status, raw), (_, expected) in zip(proxied, direct):
            if status >= 500:
                errors += 1
                self.assertIn(status, (500, 501, 502, 503))
            else:
                self.assertEqual(raw, expected)
        self.assertTrue(150 < errors < 250, errors)
        self.assertEqual(errors, proxy.calls["error"])

    async def test_chunked_and_head_pass_intact(self):
        backend, port, _ = self.ports("50:delay", handler_options={"delay": {"sleep": 0.0}})
        requests = [("GET", "/chunked"), ("HEAD", "/page/x"), ("GET", "/chunked")] * 5
        direct = await self.exchanges(backend, requests)
        proxied = await self.exchanges(port, requests)
        self.assertEqual(proxied, direct)
        self.assertIn(b"transfer-encoding: chunked", direct[0][1].lower())

    async def test_error_code_option_and_paths_target(self):
        backend, port, _ = self.ports(
            "100:error", protocol_options={"error_code": 503},
        )
        (status, raw), = await self.exchanges(port, [("GET", "/page/a")])
        self.assertEqual(status, 503)
        self.assertIn(b"content-length:", raw.lower())

    async def test_unreachable_backend_gives_502(self):
        port, factory = start_proxy(self, proxy_settings(free_port(), protocol="http"))
        (status, raw), = await self.exchanges(port, [("GET", "/page/a")])
        self.assertEqual(status, 502)
        self.assertIn(b"connection: close", raw.lower())
        self.assertEqual(factory.proxy.backend_failures, 1)


class UpgradeBackend(protocol.Protocol):
    """Answers an Upgrade request with 101, then echoes raw bytes."""

    upgraded = False

    def dataReceived(self, data):
        if self.upgraded:
            self.transport.write(data)
            return
        head, _, rest = data.partition(b"\r\n\r\n")
        self.upgraded = True
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n"
        )
        if rest:
            self.transport.write(rest)


class UpgradeTests(TestCase):
    async def test_upgrade_switches_to_a_tunnel(self):
        backend = listen(self, protocol.Factory.forProtocol(UpgradeBackend))
        port, _ = start_proxy(
            self, proxy_settings(backend, "50:delay", protocol="http",
                                 handler_options={"delay": {"sleep": 0.0}})
        )

        def run():
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(
                    b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n"
                )
                received = b""
                while not received.endswith(b"\r\n\r\n"):
                    received += sock.recv(1)
                sock.sendall(b"\x00raw bytes, not HTTP\xff")
                echoed = b""
                while len(echoed) < 21:
                    echoed += sock.recv(100)
                return received, echoed

        head, echoed = await deferToThread(run)
        self.assertTrue(head.startswith(b"HTTP/1.1 101 "), head)
        self.assertEqual(echoed, b"\x00raw bytes, not HTTP\xff")
