"""Scripts of a conversation between a client and a server, what one run
of a script showed, and how two runs differ (L{tests.scripted_peers}
plays them).

A L{Script} is a conversation cut into rounds. In each round the client
sends the requests of the round's exchanges (pipelined, in the writes the
script says), and then reads what comes back. The server reads each
exchange's request in full, writes its reply (in pieces), and then does
what the exchange says: go on, close, half-close, or reset.
"""
from __future__ import annotations

from attrs import frozen


def short(data: bytes, most: int = 160) -> str:
    """C{repr(data)}, its middle left out past C{most} bytes."""
    if len(data) <= most:
        return repr(data)
    return f"{data[:most // 2]!r} + <{len(data) - most} bytes> + {data[-most // 2:]!r}"


@frozen(repr=False)
class Exchange:
    """One request and what the server does about it.

    @ivar request: the bytes the client sends; the server reads exactly
        these before it replies.
    @ivar reply: the bytes the server writes then (possibly a truncated
        answer, or nothing).
    @ivar cuts: where the server cuts C{reply} into separate writes.
    @ivar end: C{None} (go on), C{"close"} (the server shuts its side and
        reads until the client leaves, as HTTP servers linger),
        C{"half_close"} (the same on the server; the client goes on
        sending after the end of the stream) or C{"reset"} (an RST).
    """

    request: bytes
    reply: bytes
    cuts: tuple[int, ...] = ()
    end: str | None = None

    def __repr__(self) -> str:
        return (f"Exchange({short(self.request)}, {short(self.reply)}, cuts={self.cuts!r}, "
                f"end={self.end!r})")


@frozen
class Round:
    """Exchanges whose requests the client sends together (pipelined),
    cut into writes at C{cuts}, before it reads the replies."""

    exchanges: tuple[Exchange, ...]
    cuts: tuple[int, ...] = ()

    @property
    def payload(self) -> bytes:
        return b"".join(exchange.request for exchange in self.exchanges)


@frozen
class Script:
    """A whole conversation on one connection.

    @ivar rounds: the rounds, in order.
    @ivar half_close: the client shuts its sending side right after the
        last round's requests (and then reads the rest).
    @ivar finish: how the client leaves at the end: C{"close"} or
        C{"reset"}.
    """

    rounds: tuple[Round, ...]
    half_close: bool = False
    finish: str = "close"

    @property
    def exchanges(self) -> list[Exchange]:
        return [exchange for r in self.rounds for exchange in r.exchanges]

    @property
    def talks_after_eof(self) -> bool:
        """Whether the client goes on sending once the server has shut its
        side (a half-closing server, which still reads)."""
        return any(exchange.end == "half_close" for exchange in self.exchanges)

    def expected(self) -> list[tuple[int, str]]:
        """What a direct connection should give in each round, by the
        model: how many bytes, and the state of the stream after them."""
        result, server_open, state = [], True, "open"
        for index, round_ in enumerate(self.rounds):
            if state == "reset" or (state == "eof" and not self.talks_after_eof):
                break
            length = 0
            for exchange in round_.exchanges:
                if server_open:
                    length += len(exchange.reply)
                    if exchange.end is not None:
                        server_open = False
                        state = "reset" if exchange.end == "reset" else "eof"
            if self.half_close and index == len(self.rounds) - 1 and server_open:
                state = "eof"  # the server sees the end of the requests and closes
            result.append((length, state))
        return result


@frozen
class Seen:
    """What one run of a script showed.

    @ivar rounds: for each round the client played, the bytes it received
        and the state of the stream after them (C{"open"}, C{"eof"},
        C{"reset"}, after C{"send failed (ERRNO), then "} when a write
        failed).
    @ivar server_received: the bytes the server's first connection got.
    @ivar server_saw_end: whether that connection ended (EOF or reset:
        which of the two depends on the timing of the client's leaving,
        so only that it ended is kept) soon after the client left.
    @ivar other_connections: what each further connection to the server
        received (a direct client opens only one).
    """

    rounds: tuple[tuple[bytes, str], ...]
    server_received: bytes
    server_saw_end: bool
    other_connections: tuple[bytes, ...]


def differences(direct: Seen, proxied: Seen) -> list[str]:
    """What differs between two runs, one line each, for a failure message."""
    lines = []
    for index in range(max(len(direct.rounds), len(proxied.rounds))):
        a = direct.rounds[index] if index < len(direct.rounds) else None
        b = proxied.rounds[index] if index < len(proxied.rounds) else None
        if a != b:
            lines.append(f"round {index}: direct {_seen(a)}\n         proxied {_seen(b)}")
    if direct.server_received != proxied.server_received:
        lines.append(f"server_received: direct {short(direct.server_received)}\n"
                     f"         proxied {short(proxied.server_received)}")
    for name in ("server_saw_end", "other_connections"):
        if getattr(direct, name) != getattr(proxied, name):
            lines.append(f"{name}: direct {getattr(direct, name)!r}\n"
                         f"         proxied {getattr(proxied, name)!r}")
    return lines


def _seen(round_: tuple[bytes, str] | None) -> str:
    return "(nothing)" if round_ is None else f"{short(round_[0])} then {round_[1]}"


def describe(script: Script) -> str:
    """A script, one exchange a line, for a failure message."""
    lines = [f"half_close={script.half_close} finish={script.finish}"]
    for number, round_ in enumerate(script.rounds):
        lines.append(f"round {number} (client writes cut at {list(round_.cuts)}):")
        for exchange in round_.exchanges:
            lines.append(f"  client {short(exchange.request)}")
            lines.append(f"  server {short(exchange.reply)} cuts={list(exchange.cuts)}"
                         f" end={exchange.end}")
    return "\n".join(lines)


def assert_alike(script: Script, direct: Seen, proxied: Seen) -> None:
    """Fail with the script and every difference; each kind of difference
    from its own line, so that hypothesis reports (and shrinks) each kind
    as a bug of its own."""
    message = f"\n{describe(script)}\n" + "\n".join(differences(direct, proxied))
    if direct.rounds != proxied.rounds:
        last_direct = direct.rounds[-1] if direct.rounds else None
        last_proxied = proxied.rounds[-1] if proxied.rounds else None
        if [data for data, _ in direct.rounds] != [data for data, _ in proxied.rounds]:
            raise AssertionError("the client got other bytes" + message)
        if last_direct != last_proxied:
            raise AssertionError("the client saw another end" + message)
        raise AssertionError("the client saw the stream end at another time" + message)
    if direct.server_received != proxied.server_received:
        raise AssertionError("the server got other bytes" + message)
    if direct.other_connections != proxied.other_connections:
        raise AssertionError("the proxy opened other backend connections" + message)
    if direct.server_saw_end != proxied.server_saw_end:
        raise AssertionError("the server did not see the client leave" + message)
