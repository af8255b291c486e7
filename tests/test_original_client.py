"""The original Python client (vaurienclient 1.1), rewritten from its wire
contract, lists, sets and restores behaviours through our API unchanged.

It used C{requests}, which is not a dependency here: this copy speaks the
same bytes with C{http.client}, which (unlike C{urllib}) adds no
Content-Type to a body, just as C{requests.put(url, data=json.dumps(...))}
did not.
"""
from __future__ import annotations

import http.client
import json
from contextlib import contextmanager
from typing import Any, Iterator
from urllib.parse import urlsplit

from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.control_site import serve, two_proxies


class OriginalHTTPError(Exception):
    """What C{raise_for_status} raised for any other refusal."""


class OriginalClient:
    """vaurienclient 1.1's C{Client}: its methods, URLs, bodies and error
    handling."""

    def __init__(self, host: str = "localhost", port: int = 8080, scheme: str = "http"):
        self.host, self.port = host, port
        self.root = "%s://%s:%d" % (scheme, host, port)

    def _send(self, method: str, path: str, data: str | None = None) -> tuple[int, Any]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            connection.request(method, urlsplit(self.root + path).path, body=data)
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()

    def _checked(self, status: int, answer: Any) -> Any:
        if status >= 400:
            raise OriginalHTTPError(status)
        return answer

    def set_behavior(self, behavior: str, **options: Any) -> None:
        options["name"] = behavior
        status, answer = self._send("PUT", "/behavior", json.dumps(options))
        if status == 400:
            errors = answer["errors"]
            if len(errors) > 0 and errors[0]["name"] == "name":
                raise ValueError(errors[0]["description"])
        self._checked(status, answer)

    def get_behavior(self) -> str:
        return self._checked(*self._send("GET", "/behavior"))["behavior"]

    def list_behaviors(self) -> list[str]:
        return self._checked(*self._send("GET", "/behaviors"))["behaviors"]

    @contextmanager
    def with_behavior(self, name: str, **options: Any) -> Iterator[None]:
        current = self.get_behavior()
        self.set_behavior(name, **options)
        try:
            yield
        finally:
            self.set_behavior(current)


class OriginalClientTests(TestCase):
    def setUp(self) -> None:
        self.proxies = two_proxies(first="10:error")
        self.client = OriginalClient("127.0.0.1", urlsplit(serve(self, self.proxies)).port)

    async def test_lists_behaviors(self):
        behaviors = await deferToThread(self.client.list_behaviors)
        self.assertTrue({"dummy", "delay", "error", "hang"} <= set(behaviors))

    async def test_sets_and_gets_a_behavior_with_options(self):
        await deferToThread(self.client.set_behavior, "delay", sleep=2)
        self.assertEqual(await deferToThread(self.client.get_behavior), "delay")
        self.assertEqual(self.proxies["a"].choose().handler.option("sleep"), 2.0)
        self.assertEqual(self.proxies["b"].control.behavior(), "dummy")

    async def test_an_unknown_behavior_is_a_value_error(self):
        error = await self.assertFailure(
            deferToThread(self.client.set_behavior, "nosuch"), ValueError)
        self.assertIn("registered handlers", str(error))

    async def test_a_wrong_option_is_an_http_error(self):
        await self.assertFailure(
            deferToThread(self.client.set_behavior, "delay", sleep="long"), OriginalHTTPError)

    async def test_with_behavior_restores_the_previous_one(self):
        def use() -> str:
            with self.client.with_behavior("hang"):
                inside = self.client.get_behavior()
            return inside

        self.assertEqual(await deferToThread(use), "hang")
        self.assertEqual(await deferToThread(self.client.get_behavior), "10:error,90:dummy")
        self.assertEqual([(entry.percent, entry.name) for entry in self.proxies["a"].handler_entries],
                         [(10, "error"), (90, "dummy")])
