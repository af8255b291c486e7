"""How a connection with toxics acting writes: through a side's chain when
one acts there, and what a chain passes on goes with the proxy's direct
send (when its timer fires, not at the reactor's next turn)."""
from __future__ import annotations

from types import SimpleNamespace

from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from vaurien.fastpath import sending
from vaurien.proxy.toxics import Chain, through_chains
from vaurien.toxics.latency import Latency


class FakeSocket:
    def __init__(self, room: int):
        self.room = room
        self.sent = b""

    def send(self, data: bytes) -> int:
        taken = data[:self.room]
        self.room -= len(taken)
        self.sent += taken
        return len(taken)


class FakeTransport:
    """A TCP transport as the direct send reads it; C{write} records."""

    def __init__(self, room: int = 1 << 20):
        self.socket = FakeSocket(room)
        self.dataBuffer = b""
        self._tempDataLen = 0
        self.disconnecting = self.disconnected = False
        self.written = b""

    def write(self, data: bytes) -> None:
        self.written += data
        self._tempDataLen += len(data)


def latency_chain(transport: FakeTransport, clock: Clock, send_now=sending.send_now) -> Chain:
    chain = Chain(transport, clock, None, lambda: None, lambda t: None, 65536, send_now)
    entry = SimpleNamespace(name="lat", toxic_class=Latency,
                            attributes={"latency": 100, "jitter": 0})
    chain.add(entry, 0)
    return chain


class ChainOutputTests(TestCase):
    def test_a_held_chunk_goes_to_the_socket_when_its_time_comes(self):
        clock, transport = Clock(), FakeTransport()
        latency_chain(transport, clock)
        transport.write(b"hello")  # the chain's write, standing in
        clock.advance(0.099)
        self.assertEqual(transport.socket.sent, b"")
        clock.advance(0.001)
        self.assertEqual((transport.socket.sent, transport.written), (b"hello", b""))

    def test_what_the_socket_cannot_take_goes_to_the_transports_own_write(self):
        clock, transport = Clock(), FakeTransport(room=2)
        chain = latency_chain(transport, clock)
        transport.write(b"hello")
        clock.advance(0.1)
        self.assertEqual((transport.socket.sent, transport.written), (b"he", b"llo"))
        self.assertIsNot(transport.write, FakeTransport.write)  # still the chain's
        self.assertEqual(len(chain), 1)

    def test_with_the_fast_paths_off_it_writes_with_the_transports_own_write(self):
        clock, transport = Clock(), FakeTransport()
        latency_chain(transport, clock, send_now=sending.write)
        transport.write(b"hello")
        clock.advance(0.1)
        self.assertEqual((transport.socket.sent, transport.written), (b"", b"hello"))


class ThroughChainsTests(TestCase):
    def test_a_side_with_a_chain_is_written_through_it(self):
        clock, transport = Clock(), FakeTransport()
        latency_chain(transport, clock)
        sent = []
        through_chains(lambda t, data: sent.append(data))(transport, b"x")
        self.assertEqual((sent, transport.socket.sent), ([], b""))
        clock.advance(0.1)
        self.assertEqual(transport.socket.sent, b"x")

    def test_a_side_with_none_gets_the_direct_send(self):
        transport = FakeTransport()
        through_chains(sending.send_now)(transport, b"x")
        self.assertEqual((transport.socket.sent, transport.written), (b"x", b""))
