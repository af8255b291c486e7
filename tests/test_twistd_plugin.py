"""C{twistd -n vaurien --config FILE} serves the same proxy as the command."""
from __future__ import annotations

import json
import os

from twisted.internet import reactor
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, readBody
from zope.interface.verify import verifyObject

from tests.processes import SOURCE_TREE, TWISTD, start
from tests.proxying import Collector, connect, echo_backend
from tests.servers import free_port

#: Everything but the addresses, which the test gives on the command line.
INI = os.path.join(SOURCE_TREE, "tests", "twistd_proxy.ini")


class TwistdPluginTests(TestCase):
    timeout = 60

    def test_plugin_provides_service_maker(self):
        from twisted.application.service import IServiceMaker
        from twisted.plugin import IPlugin

        from twisted.plugins.vaurien_plugin import serviceMaker

        verifyObject(IServiceMaker, serviceMaker)
        verifyObject(IPlugin, serviceMaker)
        self.assertEqual(serviceMaker.tapname, "vaurien")

    async def test_twistd_proxies_to_the_backend(self):
        backend = echo_backend(self)
        process = start(
            self,
            [
                *TWISTD, "-n", "--pidfile=", "vaurien", "--config", INI,
                "--proxy", "tcp:0:interface=127.0.0.1", "--backend", f"127.0.0.1:{backend}",
            ],
        )
        listening = await process.wait_for(r"starting on (\d+)")
        client = Collector()
        await connect(int(listening.group(1)), client)
        client.transport.write(b"hello through twistd\n")
        client.transport.loseWriteConnection()
        self.assertEqual(await client.ended, b"hello through twistd\n")

    async def test_twistd_serves_the_toxiproxy_api(self):
        api = free_port()
        process = start(self, [*TWISTD, "-n", "--pidfile=", "vaurien",
                               "--toxiproxy-api", f"127.0.0.1:{api}"])
        await process.wait_for(f"vaurien Toxiproxy API starting on {api}")
        response = await Agent(reactor).request(b"GET", f"http://127.0.0.1:{api}/proxies".encode())
        self.assertEqual(json.loads(await readBody(response)), {})
