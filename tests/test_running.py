"""The running proxies (vaurien/running.py): proxies added while running
pass real traffic; taking one down stops its listening and closes its
connections, bringing it back listens on the same address with its
counters and handlers kept; a taken address refuses the change and
changes nothing."""
from __future__ import annotations

from attrs import evolve
from twisted.internet.defer import Deferred
from twisted.internet.error import CannotListenError, ConnectionRefusedError
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import TestCase
from zope.interface.verify import verifyObject

from tests.proxying import Collector, connect, echo_backend, eventually, listen, proxy_settings
from tests.test_service import echoed
from vaurien.errors import ConfigError, Conflict, NotFound
from vaurien.interfaces import IProxies
from vaurien.running import RunningProxies


def busy_port(test: TestCase) -> int:
    """A loopback port something else listens on."""
    return listen(test, Factory.forProtocol(Protocol))


class RunningProxiesTestCase(TestCase):
    def start(self) -> RunningProxies:
        running = RunningProxies()
        running.startService()
        self.addCleanup(running.stopService)
        return running

    def created(self, running: RunningProxies, name: str = "added", **given: object) -> Deferred:
        """Create a proxy (to an echo backend, on a free port unless
        C{given} says otherwise); fires with its description."""
        fields = {"listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{echo_backend(self)}", **given}
        return running.create(name, **fields)


class CreateTests(RunningProxiesTestCase):
    def test_provides_the_interface(self):
        self.assertTrue(verifyObject(IProxies, RunningProxies()))

    async def test_a_proxy_added_while_running_passes_traffic(self):
        running = self.start()
        described = await self.created(running)
        host, port = described["listen"].rsplit(":", 1)
        self.assertEqual(host, "127.0.0.1")
        self.assertNotEqual(port, "0")
        self.assertEqual(await echoed(int(port), b"added at run time"), b"added at run time")
        self.assertEqual(running.controls["added"].stats()["connections"]["total"], 1)

    async def test_description_echoes_what_was_given(self):
        running = self.start()
        backend = echo_backend(self)
        described = await running.create("echo", "127.0.0.1:0", f"localhost:{backend}")
        self.assertEqual(
            {key: described[key] for key in ("name", "upstream", "enabled", "protocol")},
            {"name": "echo", "upstream": f"localhost:{backend}", "enabled": True,
             "protocol": "tcp"})

    async def test_the_controls_mapping_sees_added_and_removed_proxies(self):
        running = self.start()
        controls = running.controls
        await self.created(running, "one")
        await self.created(running, "two")
        self.assertEqual(list(controls), ["one", "two"])
        await running.remove("one")
        self.assertEqual(list(controls), ["two"])

    async def test_a_protocol_can_be_named(self):
        running = self.start()
        described = await self.created(running, protocol="redis")
        self.assertEqual(described["protocol"], "redis")

    async def test_an_unknown_protocol_is_refused(self):
        running = self.start()
        error = await self.assertFailure(self.created(running, protocol="os.system"), ConfigError)
        self.assertIn("protocol 'os.system'", str(error))
        self.assertEqual(list(running.controls), [])

    async def test_a_duplicate_name_is_a_conflict(self):
        running = self.start()
        await self.created(running)
        await self.assertFailure(self.created(running), Conflict)

    async def test_a_busy_port_is_a_conflict_and_adds_nothing(self):
        running = self.start()
        port = busy_port(self)
        error = await self.assertFailure(self.created(running, listen=f"127.0.0.1:{port}"), Conflict)
        self.assertIn(f"cannot listen on 127.0.0.1:{port}", str(error))
        self.assertEqual(list(running.controls), [])

    async def test_a_bad_address_is_a_config_error(self):
        running = self.start()
        await self.assertFailure(self.created(running, upstream="no port"), ConfigError)

    async def test_created_disabled_it_does_not_listen(self):
        running = self.start()
        port = busy_port(self)
        described = await self.created(running, listen=f"127.0.0.1:{port}", enabled=False)
        self.assertFalse(described["enabled"])

    def test_configured_proxies_listen_at_start_and_a_busy_port_raises(self):
        running = RunningProxies()
        port = busy_port(self)
        running.add(evolve(proxy_settings(9), listen=f"tcp:{port}:interface=127.0.0.1"))
        self.assertRaises(CannotListenError, running.startService)

    def test_unknown_proxies_are_not_found(self):
        running = RunningProxies()
        for call in (lambda: running.describe("nope"), lambda: running.set_enabled("nope", False),
                     lambda: running.remove("nope"), lambda: running.move("nope", "1.2.3.4:5")):
            self.assertRaises(NotFound, call)


class EnabledTests(RunningProxiesTestCase):
    async def test_taken_down_it_closes_connections_and_stops_listening(self):
        running = self.start()
        described = await self.created(running)
        port = int(described["listen"].rsplit(":", 1)[1])
        client = Collector()
        await connect(port, client)
        await eventually(lambda: running.controls["added"].stats()["connections"]["open"] == 1,
                         "the connection to open")

        described = await running.set_enabled("added", False)
        self.assertFalse(described["enabled"])
        await client.ended
        await self.assertFailure(connect(port, Collector()), ConnectionRefusedError)

    async def test_brought_back_it_listens_on_the_same_port_with_its_state(self):
        running = self.start()
        described = await self.created(running)
        port = int(described["listen"].rsplit(":", 1)[1])
        running.controls["added"].set_behavior("delay", {"delay": {"sleep": 0}})
        await echoed(port, b"before")
        await running.set_enabled("added", False)

        described = await running.set_enabled("added", True)
        self.assertTrue(described["enabled"])
        self.assertEqual(described["listen"], f"127.0.0.1:{port}")
        self.assertEqual(await echoed(port, b"after"), b"after")
        control = running.controls["added"]
        self.assertEqual(control.behavior(), "delay")
        self.assertEqual(control.stats()["connections"]["total"], 2)

    async def test_brought_back_on_a_taken_port_it_stays_down(self):
        running = self.start()
        port = busy_port(self)
        await self.created(running, listen=f"127.0.0.1:{port}", enabled=False)
        await self.assertFailure(running.set_enabled("added", True), Conflict)
        self.assertFalse(running.describe("added")["enabled"])

    async def test_enabling_an_enabled_proxy_changes_nothing(self):
        running = self.start()
        described = await self.created(running)
        self.assertEqual(await running.set_enabled("added", True), described)


class MoveTests(RunningProxiesTestCase):
    async def test_a_new_listening_address_keeps_the_proxy_serving(self):
        running = self.start()
        await self.created(running)
        moved = await running.move("added", listen="127.0.0.1:0")
        port = int(moved["listen"].rsplit(":", 1)[1])
        self.assertEqual(await echoed(port, b"moved"), b"moved")

    async def test_a_taken_address_changes_nothing(self):
        running = self.start()
        described = await self.created(running)
        taken = busy_port(self)
        await self.assertFailure(running.move("added", listen=f"127.0.0.1:{taken}"), Conflict)
        self.assertEqual(running.describe("added"), described)
        port = int(described["listen"].rsplit(":", 1)[1])
        self.assertEqual(await echoed(port, b"still here"), b"still here")

    async def test_a_new_upstream_takes_the_next_connections(self):
        running = self.start()
        described = await self.created(running, upstream="127.0.0.1:1")
        backend = echo_backend(self)
        moved = await running.move("added", upstream=f"127.0.0.1:{backend}")
        self.assertEqual(moved["upstream"], f"127.0.0.1:{backend}")
        port = int(described["listen"].rsplit(":", 1)[1])
        self.assertEqual(await echoed(port, b"new backend"), b"new backend")

    async def test_removed_it_stops_listening(self):
        running = self.start()
        described = await self.created(running)
        await running.remove("added")
        port = int(described["listen"].rsplit(":", 1)[1])
        await self.assertFailure(connect(port, Collector()), ConnectionRefusedError)

