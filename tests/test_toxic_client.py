"""Toxics from the Python client and from vaurienctl, against the API
over loopback."""
from __future__ import annotations

import json
from urllib.parse import urlsplit

from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.control_site import serve, two_proxies
from tests.test_control_client import run_ctl
from vaurien.client import Client, ControlAPIError


class ToxicClientTests(TestCase):
    def setUp(self) -> None:
        self.proxies = two_proxies()
        self.url = urlsplit(serve(self, self.proxies))

    async def test_add_update_remove(self):
        client = Client("127.0.0.1", self.url.port, proxy="b")
        shown = await deferToThread(client.add_toxic, "latency", latency=100, ttl=60)
        self.assertEqual((shown["name"], shown["attributes"]["latency"]),
                         ("latency_downstream", 100))
        shown = await deferToThread(client.update_toxic, "latency_downstream", 0.5, jitter=3)
        self.assertEqual((shown["toxicity"], shown["attributes"]),
                         (0.5, {"latency": 100, "jitter": 3}))
        self.assertEqual(await deferToThread(client.toxics), [shown])
        self.assertEqual(self.proxies["b"].control.toxics(), [shown])
        self.assertEqual(self.proxies["a"].control.toxics(), [])
        await deferToThread(client.remove_toxic, "latency_downstream")
        self.assertEqual(await deferToThread(client.toxics), [])

    async def test_with_toxic_removes_it_after(self):
        client = Client("127.0.0.1", self.url.port)

        def block() -> list:
            with client.with_toxic("slicer", name="cut", average_size=10) as toxic:
                inside = client.toxics()
            self.assertEqual(toxic["name"], "cut")
            return inside

        self.assertEqual([t["name"] for t in await deferToThread(block)], ["cut"])
        self.assertEqual(self.proxies["a"].control.toxics(), [])

    async def test_refusals(self):
        client = Client("127.0.0.1", self.url.port)
        error = await deferToThread(self.assertRaises, ValueError, client.add_toxic, "nosuch")
        self.assertIn("unknown toxic 'nosuch'", str(error))
        await deferToThread(client.add_toxic, "latency")
        error = await deferToThread(self.assertRaises, ControlAPIError, client.add_toxic, "latency")
        self.assertEqual(error.status, 409)
        error = await deferToThread(self.assertRaises, ControlAPIError, client.remove_toxic, "x")
        self.assertEqual(error.status, 404)


class ToxicCtlTests(TestCase):
    def setUp(self) -> None:
        self.proxies = two_proxies()
        self.root = serve(self, self.proxies)

    def ctl(self, *argv: str):
        return deferToThread(run_ctl, ["--url", self.root, *argv])

    async def test_add_update_list_remove(self):
        status, out, err = await self.ctl("toxic", "add", "latency", "latency=100", "--stream",
                                          "upstream", "--toxicity", "0.5", "--name", "slow")
        self.assertEqual(status, 0, err)
        self.assertEqual(json.loads(out)["attributes"], {"latency": 100, "jitter": 0})
        status, out, err = await self.ctl("toxic", "update", "slow", "jitter=5")
        self.assertEqual(json.loads(out)["attributes"], {"latency": 100, "jitter": 5})
        status, out, err = await self.ctl("--proxy", "a", "toxic", "list")
        self.assertEqual([t["stream"] for t in json.loads(out)], ["upstream"])
        status, out, err = await self.ctl("toxic", "add", "bandwidth", "rate=5", "--ttl", "9")
        self.assertEqual(status, 0, err)
        self.assertEqual(await self.ctl("toxic", "remove", "slow"), (0, json.dumps([
            {"attributes": {"rate": 5}, "name": "bandwidth_downstream", "stream": "downstream",
             "toxicity": 1.0, "type": "bandwidth"}], indent=2, sort_keys=True) + "\n", ""))
        self.assertEqual(await self.ctl("toxic", "remove", "--all"), (0, "[]\n", ""))

    async def test_errors_exit_2_with_a_message(self):
        await self.ctl("toxic", "add", "latency")
        for argv, words in ((["toxic", "add", "nosuch"], "unknown toxic 'nosuch'"),
                            (["toxic", "add", "latency"], "exists already"),
                            (["toxic", "add", "latency", "latency=-1", "--name", "x"],
                             "must not be negative"),
                            (["toxic", "update", "nope", "latency=1"], "no toxic 'nope'"),
                            (["toxic", "remove"], "give a NAME or --all")):
            status, out, err = await self.ctl(*argv)
            self.assertEqual((status, out), (2, ""), err)
            self.assertIn(words, err)
