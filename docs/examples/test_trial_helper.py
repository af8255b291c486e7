"""run_proxy: a proxy in a trial test's own reactor, driven directly."""
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Factory, Protocol
from twisted.protocols.wire import Echo
from twisted.trial.unittest import TestCase

from vaurien.testing.trial import run_proxy


class Ping(Protocol):
    """Sends b"ping"; done fires with what came back before the echo was
    whole or the connection ended."""

    def __init__(self):
        self.received = b""
        self.done = Deferred()

    def connectionMade(self):
        self.transport.write(b"ping")

    def dataReceived(self, data):
        self.received += data
        if len(self.received) >= 4:
            self.transport.loseConnection()

    def connectionLost(self, reason):
        self.done.callback(self.received)


class ThroughVaurienTests(TestCase):
    def setUp(self):
        backend = reactor.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")
        self.addCleanup(backend.stopListening)
        self.proxy = run_proxy(self, backend=f"127.0.0.1:{backend.getHost().port}",
                               handler="100:dummy", timeout=5)

    async def ping(self):
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.proxy.port)
        protocol = await connectProtocol(endpoint, Ping())
        return await protocol.done

    async def test_a_blackout_then_back(self):
        self.assertEqual(await self.ping(), b"ping")
        self.proxy.control.set_behavior("blackout")
        self.assertEqual(await self.ping(), b"")
        self.proxy.control.reset_behavior()
        self.assertEqual(await self.ping(), b"ping")
        self.assertEqual(self.proxy.control.stats()["calls"], {"dummy": 2, "blackout": 1})
