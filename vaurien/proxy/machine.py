"""A connection's life as one state machine.

Each proxied connection is in exactly one mode, named here, and moves from
one to the next only along the transitions below: the machine is the only
writer of the connection's C{mode}. The connection fires an input when
its mode changes (the backend accepted, skimming starts or stops, framing
stopped, the lane took or handed back the sockets, the end), never per
chunk nor per call: whether a handler call runs is the call runner's own
state (L{vaurien.proxy.calls}). The machine's one output,
L{IConnectionCore.enter}, sets the mode the two sides route bytes by.

Modes::

    connecting        the backend connect is under way
    joined            tcp: bytes go transport to transport, no handler call
    relaying          tcp: each chunk is one handler call (or the backend
                      is between connections, opened by the next bytes)
    in_lane           joined, its sockets read by the proxy's lane
    spliced           joined, its sockets spliced by the kernel
    framed            http, redis, memcache: a handler call per request
    skimming          framed, no fault drawn (none in play, or between
                      drawn faults): bytes pass as they come and the
                      framing only follows them
    skimming_in_lane  skimming, its sockets read by the proxy's lane
    switching         framing stopped: the rest passes as tcp once no call
                      runs and what framing held is written out
    tunnel            framing stopped: the rest passes as tcp
    closed            both sockets are closed or closing

The transitions are one table, L{TRANSITIONS}, shared by every
connection; the diagram in docs/architecture.rst is drawn from it by
Automat (L{draw}).
"""
from __future__ import annotations

from typing import Callable, Protocol

from automat import NoTransition, TypeMachineBuilder

CONNECTING = "connecting"
JOINED = "joined"
RELAYING = "relaying"
IN_LANE = "in_lane"
SPLICED = "spliced"
FRAMED = "framed"
SKIMMING = "skimming"
SKIMMING_IN_LANE = "skimming_in_lane"
SWITCHING = "switching"
TUNNEL = "tunnel"
CLOSED = "closed"

#: The modes in which bytes go on without a handler call.
PASSING = frozenset({JOINED, TUNNEL})
#: The modes in which the proxy's lane reads the sockets.
LANE = frozenset({IN_LANE, SKIMMING_IN_LANE})


class ConnectionInputs(Protocol):
    """What can happen to a connection, as its machine hears it."""

    def connected(self) -> None:
        """The backend accepted (tcp whose handler only passes bytes, or a
        framed connection whose framing stopped: join)."""

    def connected_for_calls(self) -> None:
        """The backend accepted, and each chunk goes through a handler."""

    def connected_framed(self) -> None:
        """The backend accepted a framed connection."""

    def unreachable(self) -> None:
        """The backend could not be reached, and the protocol answers the
        next request for it (HTTP: 502)."""

    def backend_dropped(self) -> None:
        """tcp: the backend connection was closed on purpose, the client
        kept; its next bytes open another."""

    def quiet(self) -> None:
        """The next calls go to the handler that only passes bytes (the
        only one in play, or drawn so) and the framing rests: skim."""

    def handlers_changed(self) -> None:
        """The handlers in force changed, or a fault was drawn, while
        skimming: frame again."""

    def framing_stopped(self) -> None:
        """The traffic can no longer be framed: the rest passes as tcp."""

    def switched(self) -> None:
        """No call runs any more and what framing held is written out: the
        two connections are joined."""

    def lane_entered(self) -> None:
        """The proxy's lane took both sockets."""

    def handed_back(self) -> None:
        """The lane gave the sockets back to their transports."""

    def spliced(self) -> None:
        """Both sockets were handed to the kernel's splice."""

    def close(self) -> None:
        """The connection ends: a side left, a handler ended it, the idle
        timeout, the proxy stopping."""


class IConnectionCore(Protocol):
    """What the machine tells the connection: its one output. The
    connection fires an input, then does the work of the new mode; the
    machine never calls back into it midway, so no input is ever fired
    from inside another."""

    def enter(self, mode: str) -> None:
        """The connection is now in C{mode}: it routes the next bytes of
        each side accordingly."""


#: Every mode, the first a new connection's.
MODES = (
    CONNECTING, JOINED, RELAYING, IN_LANE, SPLICED, FRAMED,
    SKIMMING, SKIMMING_IN_LANE, SWITCHING, TUNNEL, CLOSED,
)
#: The names of the inputs, as L{ConnectionInputs} declares them.
INPUTS = tuple(
    name for name, value in vars(ConnectionInputs).items()
    if callable(value) and not name.startswith("_")
)


def _transitions() -> dict[tuple[str, str], str | None]:
    """Every transition: (mode, input name) -> the mode it leads to, or
    C{None} where nothing happens (once closed)."""
    table: dict[tuple[str, str], str | None] = {}

    def move(source: str, input: Callable, target: str) -> None:
        """C{input} in mode C{source} leads to C{target}."""
        table[source, input.__name__] = target

    I = ConnectionInputs
    # Opening, and opening again where a backend connection was dropped.
    for source in (CONNECTING, RELAYING):
        move(source, I.connected, JOINED)
        move(source, I.connected_for_calls, RELAYING)
    move(TUNNEL, I.connected, TUNNEL)
    for source in (CONNECTING, FRAMED):
        move(source, I.connected_framed, FRAMED)
    move(SWITCHING, I.connected_framed, SWITCHING)
    move(SWITCHING, I.unreachable, SWITCHING)
    move(CONNECTING, I.unreachable, FRAMED)
    move(FRAMED, I.unreachable, FRAMED)
    move(JOINED, I.backend_dropped, RELAYING)
    move(RELAYING, I.backend_dropped, RELAYING)
    move(TUNNEL, I.backend_dropped, TUNNEL)
    # Skimming, and framing again.
    move(FRAMED, I.quiet, SKIMMING)
    move(SKIMMING, I.handlers_changed, FRAMED)
    # Framing stops: skimming joins at once (every byte is passed on
    # already); framing switches once no call runs.
    move(SKIMMING, I.framing_stopped, TUNNEL)
    move(FRAMED, I.framing_stopped, SWITCHING)
    move(SWITCHING, I.switched, TUNNEL)
    # The fast paths.
    move(JOINED, I.lane_entered, IN_LANE)
    move(IN_LANE, I.handed_back, JOINED)
    move(SKIMMING, I.lane_entered, SKIMMING_IN_LANE)
    move(SKIMMING_IN_LANE, I.handed_back, SKIMMING)
    move(JOINED, I.spliced, SPLICED)
    # The end, from anywhere; once closed, nothing more happens.
    for source in MODES:
        if source != CLOSED:
            move(source, I.close, CLOSED)
    for name in INPUTS:
        table[CLOSED, name] = None
    return table


#: Every transition, shared by every connection (L{_transitions}).
TRANSITIONS = _transitions()


def _input(name: str) -> Callable[[ConnectionMachine], None]:
    def fire(self: ConnectionMachine) -> None:
        try:
            target = TRANSITIONS[self._mode, name]
        except KeyError:
            raise NoTransition(self._mode, name) from None
        if target is not None:
            self._mode = target
            self._core.enter(target)

    fire.__name__ = name
    fire.__doc__ = getattr(ConnectionInputs, name).__doc__
    return fire


class ConnectionMachine:
    """The machine of one connection, in C{mode} (a new one's: C{connecting}):
    its inputs are L{ConnectionInputs}' methods, and C{core.enter} its output.

    An input is one look-up in L{TRANSITIONS}, shared by every connection:
    a machine holds its core and its mode, nothing more (an Automat
    machine held two objects more, and scanned its transitions on every
    input), and can be made again from a mode at any time.

    @raise NoTransition: (from an input) where the input leads nowhere
        from the mode.
    """

    __slots__ = ("_core", "_mode")

    def __init__(self, core: IConnectionCore, mode: str = CONNECTING):
        self._core = core
        self._mode = mode


for _name in INPUTS:
    setattr(ConnectionMachine, _name, _input(_name))


def draw() -> object:
    """The machine as a graphviz C{Digraph} (for the docs), drawn by
    Automat from L{TRANSITIONS}."""
    builder = TypeMachineBuilder(ConnectionInputs, IConnectionCore)
    states = {mode: builder.state(mode) for mode in MODES}
    for (source, name), target in TRANSITIONS.items():
        upon = states[source].upon(getattr(ConnectionInputs, name))
        if target is None:
            upon.loop().returns(None)
        else:
            upon.to(states[target])(_entering(target))
    return builder.build().asDigraph()


def _entering(target: str) -> Callable[[ConnectionInputs, IConnectionCore], None]:
    def entered(inputs: ConnectionInputs, core: IConnectionCore) -> None:
        core.enter(target)

    entered.__name__ = f"enter_{target}"
    return entered
