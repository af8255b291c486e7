"""vaurien.client.Client and vaurienctl against the API over loopback."""
from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from typing import Any
from urllib.parse import urlsplit

from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.control_site import serve, two_proxies
from vaurien.client import Client, ControlAPIError
from vaurien.control.ctl import main, option_values


class ClientTests(TestCase):
    token = "t0ken"

    def setUp(self) -> None:
        self.proxies = two_proxies(second="10:error")
        self.url = urlsplit(serve(self, self.proxies, self.token))

    def client(self, **kwargs: Any) -> Client:
        return Client("127.0.0.1", self.url.port, **{"token": self.token, **kwargs})

    async def test_behaviors_and_handlers(self):
        client = self.client()
        self.assertIn("delay", await deferToThread(client.list_behaviors))
        self.assertEqual(await deferToThread(client.list_handlers),
                         await deferToThread(client.list_behaviors))
        await deferToThread(client.set_behavior, "delay", sleep=3)
        self.assertEqual(await deferToThread(client.get_handler), "delay")
        await deferToThread(client.set_handler, "20:delay,5:error", delay={"sleep": 1})
        self.assertEqual(await deferToThread(client.get_behavior), "20:delay,5:error,75:dummy")
        self.assertEqual(self.proxies["b"].control.behavior(), "10:error,90:dummy")

    async def test_with_behavior_and_with_handler_restore_the_previous_one(self):
        client = self.client(proxy="b")

        def use() -> list[str]:
            seen = []
            with client.with_behavior("hang"):
                seen.append(client.get_behavior())
                with client.with_handler("delay", sleep=1):
                    seen.append(client.get_handler())
                seen.append(client.get_behavior())
            return seen + [client.get_behavior()]

        self.assertEqual(await deferToThread(use), ["hang", "delay", "hang", "10:error,90:dummy"])

    async def test_a_refused_value_is_a_value_error_with_the_description(self):
        client = self.client()
        for name, options, words in (("nosuch", {}, "registered handlers"),
                                     ("delay", {"sleep": "x"}, "delay.sleep"),
                                     ("delay", {"ttl": -1}, "ttl")):
            error = await self.assertFailure(
                deferToThread(client.set_behavior, name, **options), ValueError)
            self.assertIn(words, str(error))

    async def test_ttl(self):
        await deferToThread(self.client(proxy="b").set_behavior, "hang", ttl=2)
        self.proxies["b"].clock.advance(2)
        self.assertEqual(self.proxies["b"].control.behavior(), "10:error,90:dummy")

    async def test_backend(self):
        client = self.client(proxy="b")
        await deferToThread(client.set_backend, "127.0.0.1:7000")
        self.assertEqual(await deferToThread(client.get_backend), "tcp:host=127.0.0.1:port=7000")
        self.assertEqual(self.proxies["a"].backend, "tcp:host=127.0.0.1:port=1")

    async def test_stats_of_every_proxy_or_of_one(self):
        self.proxies["b"].choose()
        every = await deferToThread(self.client().stats)
        self.assertEqual(list(every["proxies"]), ["a", "b"])
        one = await deferToThread(self.client(proxy="b").stats)
        self.assertEqual(sum(one["calls"].values()), 1)

    async def test_other_refusals_are_control_api_errors(self):
        for client, status in ((self.client(token=None), 401), (self.client(proxy="zz"), 404)):
            error = await self.assertFailure(deferToThread(client.get_behavior), ControlAPIError)
            self.assertEqual(error.status, status)


def run_ctl(argv: list[str]) -> tuple[int, str, str]:
    """Run vaurienctl: its exit status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    status = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exit:
            status = exit.code
    return status, out.getvalue(), err.getvalue()


class CtlTests(TestCase):
    def setUp(self) -> None:
        self.proxies = two_proxies()
        self.root = serve(self, self.proxies, "t0ken")

    def ctl(self, *argv: str) -> Any:
        """Run vaurienctl against our API in a thread."""
        return deferToThread(run_ctl, ["--url", self.root, "--token", "t0ken", *argv])
    async def test_list_get_set(self):
        status, out, _ = await self.ctl("list")
        self.assertEqual(status, 0)
        self.assertIn("delay", out.split())
        self.assertEqual(await self.ctl("get"), (0, "dummy\n", ""))
        self.assertEqual(await self.ctl("--proxy", "b", "set", "delay", "sleep=2", "--ttl", "5"),
                         (0, "delay\n", ""))
        self.assertEqual(self.proxies["b"].choose().handler.option("sleep"), 2.0)
        self.proxies["b"].clock.advance(5)
        self.assertEqual(self.proxies["b"].control.behavior(), "dummy")
        self.assertEqual(self.proxies["a"].control.behavior(), "dummy")

    async def test_set_shares_with_options_by_handler(self):
        status, out, _ = await self.ctl("set", "20:delay,5:error", "delay.sleep=1.5")
        self.assertEqual((status, out), (0, "20:delay,5:error,75:dummy\n"))
        self.assertEqual(self.proxies["a"].handler_entries[0].options["sleep"], 1.5)

    async def test_backend(self):
        self.assertEqual(await self.ctl("backend"), (0, "tcp:host=127.0.0.1:port=1\n", ""))
        self.assertEqual(await self.ctl("backend", "127.0.0.1:8000"),
                         (0, "tcp:host=127.0.0.1:port=8000\n", ""))

    async def test_stats(self):
        status, out, _ = await self.ctl("stats")
        self.assertEqual(status, 0)
        self.assertIn('"proxies"', out)

    async def test_errors_exit_2_with_a_message(self):
        for argv, words in ((["set", "nosuch"], "unknown handler 'nosuch'"),
                            (["set", "delay", "sleep"], "'sleep' is not key=value"),
                            (["--proxy", "zz", "get"], "no proxy named 'zz'"),
                            (["--token", "bad", "get"], "Bearer")):
            status, out, err = await self.ctl(*argv)
            self.assertEqual((status, out), (2, ""), err)
            self.assertIn("vaurienctl: error: ", err)
            self.assertIn(words, err)

    async def test_an_unreachable_api(self):
        status, _, err = await deferToThread(run_ctl, ["--url", "http://127.0.0.1:1", "get"])
        self.assertEqual(status, 2)
        self.assertIn("cannot reach http://127.0.0.1:1", err)


class OptionValuesTests(TestCase):
    def test_json_values_strings_and_options_by_handler(self):
        self.assertEqual(
            option_values(["sleep=2", "before=true", "name=a b", "delay.sleep=0.5"]),
            {"sleep": 2, "before": True, "name": "a b", "delay": {"sleep": 0.5}},
        )
