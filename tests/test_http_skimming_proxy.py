"""HTTP through a real proxy that skims: while dummy takes every call,
requests and responses pass on as they come and are only followed; a
fault put in force live hits the next request on the same connection."""
from __future__ import annotations

import http.client

from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.proxying import entries, listen, proxy_settings, start_proxy
from tests.test_http_proxy import RawHTTPClient, backend_site
from vaurien.protocols.http import skim as http_skim
from vaurien.protocols.http.skim import SkimmingHttpFraming
from vaurien.fastpath import lane
from vaurien.fastpath.pump import PyPump


class SkimmingProxyTests(TestCase):
    """A keep-alive client through an HTTP proxy with only dummy in force."""

    def setUp(self) -> None:
        self.backend = listen(self, backend_site())
        self.port, factory = start_proxy(
            self, proxy_settings(self.backend, "100:dummy", protocol="http", seed=3)
        )
        self.proxy = factory.proxy
        self.skimmed = 0
        skim, followers = SkimmingHttpFraming.skim_requests, SkimmingHttpFraming.followers

        def counted(follow):
            def counting(*args) -> int:
                count = follow(*args)
                self.skimmed += count
                return count
            return counting

        counting_skim = counted(skim)

        def counted_followers(framing: SkimmingHttpFraming):
            follow_requests, follow_replies = followers(framing)
            if getattr(follow_requests, "__func__", None) is not counting_skim:
                follow_requests = counted(follow_requests)  # C: not counted yet
            return follow_requests, follow_replies

        # Skimmed in the relay, or in the lane (which asks for followers:
        # C ones, or without C skim_requests, which counts already).
        self.patch(SkimmingHttpFraming, "skim_requests", counting_skim)
        self.patch(SkimmingHttpFraming, "followers", counted_followers)

    async def test_live_fault_hits_the_next_request(self) -> None:
        """200 requests pass byte for byte; then error, live: the next
        request on the same connection gets vaurien's 5xx; then dummy
        again, and the next passes again. Every request is counted."""
        paths = [f"/page/{n}" for n in range(200)]
        direct = await deferToThread(self._exchanges, self.backend, paths)
        client = RawHTTPClient(self.port)
        self.addCleanup(client.close)

        proxied = await deferToThread(lambda: [client.request("GET", p) for p in paths])
        self.assertEqual(proxied, direct)
        self.assertEqual(self.skimmed, 200)

        self.proxy.use_handlers(entries("100:error"))
        status, raw = await deferToThread(client.request, "GET", "/page/0")
        self.assertIn(status, (500, 501, 502, 503))
        self.assertIn(b"Injected by vaurien", raw)

        self.proxy.use_handlers(entries("100:dummy"))
        answer = await deferToThread(client.request, "GET", "/page/1")
        self.assertEqual(answer, direct[1])
        answer = await deferToThread(client.request, "GET", "/page/2")
        self.assertEqual(answer, direct[2])
        self.assertEqual(dict(self.proxy.calls), {"dummy": 202, "error": 1})
        self.assertEqual(self.proxy.fallbacks, 0)

    async def test_chunked_and_head_with_a_client_library(self) -> None:
        """http.client over one connection: a chunked response, a HEAD
        (headers only), a POST, all skimmed."""
        def run() -> list[tuple[int, bytes, str | None]]:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                conn.connect()
                sock = conn.sock
                answers = []
                for method, path, body in [("GET", "/chunked", None), ("HEAD", "/page/h", None),
                                           ("POST", "/page/p", b"data"), ("GET", "/chunked", None)]:
                    conn.request(method, path, body=body)
                    response = conn.getresponse()
                    answers.append((response.status, response.read(),
                                    response.getheader("Transfer-Encoding")))
                self.assertIs(conn.sock, sock)  # one keep-alive connection
                return answers
            finally:
                conn.close()

        answers = await deferToThread(run)
        chunked = (200, b"".join(b"chunk %d;" % n for n in range(5)), "chunked")
        self.assertEqual(answers, [chunked, (200, b"", None), (200, b"posted data", None), chunked])
        self.assertEqual(self.skimmed, 4)
        self.assertEqual(dict(self.proxy.calls), {"dummy": 4})

    @staticmethod
    def _exchanges(port: int, paths: list[str]) -> list[tuple[int, bytes]]:
        client = RawHTTPClient(port)
        try:
            return [client.request("GET", path) for path in paths]
        finally:
            client.close()


class PythonSkimmingProxyTests(SkimmingProxyTests):
    """The same with the Python followers and pump, as without a C
    compiler (C{VAURIEN_NO_EXTENSIONS=1} runs every test so)."""

    def setUp(self) -> None:
        self.patch(http_skim, "_fast", None)
        self.patch(lane, "Pump", PyPump)
        super().setUp()
