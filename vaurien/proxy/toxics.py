"""The toxics of one connection: for each direction, the chain of the
toxics active on it, between the proxy's writes to a side and that
side's transport.

Toxics act at the write boundary: while a chain acts on a transport, that
transport's C{write}, C{writeSequence}, C{loseConnection},
C{loseWriteConnection} and C{abortConnection} are the chain's (set on the
transport object itself), so every write and every end the proxy gives a
side (joined tcp, framed replies, a handler's own writes, a reset passed
on) goes through the toxics of that direction first; the chain passes on
with the transport's own methods. A connection with a chain acting leaves
the lane; its writes to a side with a chain go through the chain's
C{write} (the direct send would go around it), and the chain passes its
output on with the proxy's direct send, as a side with no chain is
written to: a held chunk leaves when its timer fires, not at the
reactor's next turn. With no toxic acting, nothing of this is there.
"""
from __future__ import annotations

from typing import Any, Callable

from zope.interface import implementer

from vaurien.interfaces import IToxicOutput
from vaurien.toxics import CLOSE, HALF_CLOSE, RESET

#: Client to backend, and backend to client.
UPSTREAM, DOWNSTREAM = "upstream", "downstream"
#: The transport methods a chain stands in for while it acts.
_WRITES = ("write", "writeSequence", "loseConnection", "loseWriteConnection", "abortConnection")


def through_chains(send_now: Callable[..., None]) -> Callable[[Any, bytes], None]:
    """How a connection with toxics acting writes: to a side with a chain
    acting, through the chain (it stands in for the transport's C{write});
    to a side with none, with C{send_now} (the proxy's)."""

    def send(transport: Any, data: bytes) -> None:
        if "write" in vars(transport):  # a chain's, set by Chain._install
            transport.write(data)
        else:
            send_now(transport, data)

    return send


@implementer(IToxicOutput)
class _Outlet:
    """What the toxic at C{position} in a chain passes things on to: the
    next toxic, or the transport after the last."""

    __slots__ = ("chain", "position")

    def __init__(self, chain: Chain, position: int):
        self.chain = chain
        self.position: int | None = position  # None: the toxic was removed

    @property
    def clock(self) -> Any:
        return self.chain.clock

    @property
    def random(self) -> Any:
        return self.chain.random

    def data(self, chunk: bytes, read_at: float) -> None:
        if self.position is not None:
            self.chain.pass_data(self.position + 1, chunk, read_at)

    def end(self, how: str) -> None:
        if self.position is not None:
            self.chain.pass_end(self.position + 1, how)


class Chain:
    """The toxics active on one direction of one connection, in order,
    standing in for one transport's writes.

    @ivar over: a close or reset went out: the chain is done, and the
        transport has its own methods back.
    """

    def __init__(self, transport: Any, clock: Any, random: Any,
                 gate: Callable[[], Any], reset: Callable[[Any], None], limit: int,
                 send_now: Callable[..., None] | None = None):
        """
        @param transport: the transport of the side the direction goes to.
        @param send_now: C{send_now(transport, data, write)}, the proxy's
            send, with C{write} the transport's own (default: that C{write}).
        @param clock: the proxy's clock.
        @param random: the proxy's random generator for toxics.
        @param gate: gives the L{vaurien.proxy.flow.PauseGate} of the side
            the direction comes from (or C{None}).
        @param reset: resets a transport once what was written is sent.
        @param limit: most bytes held before the source stops being read.
        """
        self.transport = transport
        self.clock = clock
        self.random = random
        self.gate = gate
        self.reset = reset
        self.limit = limit
        self.send_now = send_now
        self.over = False
        self._toxics: list[tuple[str, Any, _Outlet]] = []
        self._own: dict[str, Callable[..., Any]] = {}
        self._closing = False
        self._pausing = False

    def __len__(self) -> int:
        return len(self._toxics)

    def names(self) -> list[str]:
        """The names of the toxics acting, in order."""
        return [name for name, _, _ in self._toxics]

    @property
    def holding(self) -> bool:
        """Whether its toxics hold bytes, or the connection on purpose."""
        return any(toxic.held or getattr(toxic, "holds_connection", False)
                   for _, toxic, _ in self._toxics)

    # -- changes --------------------------------------------------------------

    def add(self, entry: Any, position: int) -> None:
        """Make C{entry}'s toxic act from C{position} on."""
        outlet = _Outlet(self, position)
        self._toxics.insert(position, (entry.name, entry.toxic_class(entry.attributes, outlet), outlet))
        self._number()
        if not self._own and not self.over:
            self._install()

    def update(self, name: str, attributes: Any) -> None:
        """New attributes for the toxic C{name}."""
        for toxic_name, toxic, _ in self._toxics:
            if toxic_name == name:
                toxic.update(dict(attributes))

    def remove(self, name: str) -> None:
        """Take the toxic C{name} off: what it held passes on now."""
        for index, (toxic_name, toxic, outlet) in enumerate(self._toxics):
            if toxic_name == name:
                toxic.remove()
                del self._toxics[index]
                outlet.position = None
                self._number()
                break
        if not self._toxics:
            self._uninstall()
        self._regulate()

    def clear(self) -> None:
        """Take every toxic off, first to last."""
        for name in self.names():
            self.remove(name)

    def _number(self) -> None:
        for index, (_, _, outlet) in enumerate(self._toxics):
            outlet.position = index

    def _install(self) -> None:
        transport = self.transport
        for method in _WRITES:
            own = getattr(transport, method, None)
            if own is not None:
                self._own[method] = own
                setattr(transport, method, getattr(self, method))

    def _uninstall(self) -> None:
        for method in self._own:
            try:
                delattr(self.transport, method)
            except AttributeError:
                pass  # not ours any more
        self._own = {}

    # -- what the proxy writes (the transport's methods, while acting) ----------

    def write(self, data: bytes) -> None:
        self.pass_data(0, bytes(data), self.clock.seconds())

    def writeSequence(self, data: Any) -> None:
        self.write(b"".join(data))

    def loseConnection(self) -> None:
        self._ending(CLOSE)

    def loseWriteConnection(self) -> None:
        self._ending(HALF_CLOSE)

    def abortConnection(self) -> None:
        self._ending(RESET)

    def _ending(self, how: str) -> None:
        if how != HALF_CLOSE and not self._closing:
            self._closing = True
            self.transport.pauseProducing()  # as Twisted stops reading what it closes
        self.pass_end(0, how)

    # -- through the toxics -----------------------------------------------------

    def pass_data(self, position: int, chunk: bytes, read_at: float) -> None:
        """Give C{chunk} to the toxic at C{position}, or to the transport."""
        if position < len(self._toxics):
            self._toxics[position][1].data(chunk, read_at)
        elif not (self.over or self.transport.disconnected):
            if self.send_now is None:
                self._own["write"](chunk)
            else:
                self.send_now(self.transport, chunk, self._own["write"])
        self._regulate()

    def pass_end(self, position: int, how: str) -> None:
        """Give the end C{how} to the toxic at C{position}, or to the transport."""
        if position < len(self._toxics):
            self._toxics[position][1].end(how)
            return
        if self.over:
            return
        if how == HALF_CLOSE:
            self._own.get("loseWriteConnection", self._own["loseConnection"])()
            return
        self.over = True
        own = self._own
        self._uninstall()
        self._regulate()
        if how == CLOSE:
            own["loseConnection"]()
        else:
            self.reset(self.transport)

    def _regulate(self) -> None:
        """Stop reading the source while the toxics hold more than the
        limit; read it again once they hold less."""
        holding = not self.over and sum(toxic.held for _, toxic, _ in self._toxics) > self.limit
        if holding == self._pausing:
            return
        gate = self.gate()
        if gate is None:
            return
        self._pausing = holding
        if holding:
            gate.pause("toxics")
        else:
            gate.resume("toxics")


class NoToxics:
    """The toxics of a connection while its proxy has none: none act."""

    acting = holding = False

    def backend_attached(self) -> None:
        """Nothing to do."""


#: What every connection of a proxy with no toxic has.
NO_TOXICS = NoToxics()


class ConnectionToxics:
    """Which toxics are active on one connection, and its two chains.

    Whether a toxic is active is drawn once, when the connection opens or
    the toxic is added (again when its toxicity changes); the chains act
    only while a toxic is active on their direction.
    """

    __slots__ = ("connection", "drawn", "chains")

    def __init__(self, connection: Any):
        self.connection = connection
        self.drawn: dict[str, bool] = {}
        self.chains: dict[str, Chain | None] = {UPSTREAM: None, DOWNSTREAM: None}
        for entry in self._entries():
            self.added(entry)

    @property
    def acting(self) -> bool:
        """Whether a chain acts on either direction."""
        return any(self._chain(stream) is not None for stream in (UPSTREAM, DOWNSTREAM))

    @property
    def holding(self) -> bool:
        """Whether a chain holds bytes or the connection: the idle timeout
        leaves it alone."""
        return any(chain.holding for chain in self.chains.values() if chain is not None)

    def _entries(self) -> list[Any]:
        return self.connection.proxy.toxics.entries

    def added(self, entry: Any) -> None:
        """The proxy has a new toxic: draw whether it is active here."""
        self.drawn[entry.name] = active = self.connection.proxy.toxics.draw(entry)
        if active:
            self._join(entry)

    def updated(self, old: Any, new: Any) -> None:
        """A toxic changed: its new attributes apply at once; a new
        toxicity is drawn again."""
        was = self.drawn.get(old.name, False)
        now = was if old.toxicity == new.toxicity else self.connection.proxy.toxics.draw(new)
        self.drawn[new.name] = now
        chain = self._chain(new.stream)
        if was and now:
            if chain is not None and old.attributes != new.attributes:
                chain.update(new.name, new.attributes)
        elif was:
            self._leave(old)
        elif now:
            self._join(new)

    def removed(self, entry: Any) -> None:
        """The proxy's toxic C{entry} is gone."""
        if self.drawn.pop(entry.name, False):
            self._leave(entry)

    def backend_attached(self) -> None:
        """A (new) backend connection: the upstream chain acts on it."""
        self.chains[UPSTREAM] = None
        for entry in self._entries():
            if entry.stream == UPSTREAM and self.drawn.get(entry.name):
                self._join(entry)

    def clear(self) -> None:
        """Every toxic off this connection (the proxy stops)."""
        for stream in (UPSTREAM, DOWNSTREAM):
            chain = self._chain(stream)
            if chain is not None:
                chain.clear()
            self.chains[stream] = None
        self._acting(False)

    def _chain(self, stream: str) -> Chain | None:
        chain = self.chains[stream]
        if chain is not None and (chain.over or not len(chain)):
            self.chains[stream] = chain = None
        return chain

    def _join(self, entry: Any) -> None:
        chain = self._chain(entry.stream)
        if chain is None:
            chain = self._new_chain(entry.stream)
            if chain is None:
                return  # no backend yet: the chain is made when it connects
        acting = [e.name for e in self._entries()
                  if e.stream == entry.stream and self.drawn.get(e.name)]
        before = acting[:acting.index(entry.name)]
        chain.add(entry, sum(1 for name in chain.names() if name in before))
        self._acting(True)

    def _leave(self, entry: Any) -> None:
        chain = self._chain(entry.stream)
        if chain is not None:
            chain.remove(entry.name)
        if not self.acting:
            self._acting(False)

    def _acting(self, acting: bool) -> None:
        """Toxics act on the connection (or no more): it leaves the lane,
        and writes through the chains so that the toxics see every byte
        (or goes back to the direct send alone). A spliced connection is
        the kernel's: toxics never reach it."""
        connection = self.connection
        send = through_chains(connection.proxy.send_now) if acting else connection.proxy.send_now
        connection.send_now = connection.client.send_now = connection.backend.send_now = send
        if acting and connection.in_lane:
            connection.proxy.lane.leave(connection)

    def _new_chain(self, stream: str) -> Chain | None:
        connection = self.connection
        upstream = stream == UPSTREAM
        transport = (connection.backend if upstream else connection.client).transport
        if transport is None or transport.disconnected:
            return None
        proxy = connection.proxy
        chain = Chain(transport, proxy.clock, proxy.toxics.random,
                      lambda: connection.client_gate if upstream else connection.backend_gate,
                      connection.reset, proxy.read_size, proxy.send_now)
        self.chains[stream] = chain
        return chain
