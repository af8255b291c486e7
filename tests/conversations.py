"""Hypothesis strategies shared by the protocols' conversations: how a
server's reply may end, and how a list of exchanges becomes a
L{tests.peer_scripts.Script} (rounds, pipelining, cuts into writes); and
the report of every failure hypothesis found.

A protocol's conversation is a list of L{Item}: an exchange and how it
sits in the rounds. Strategies shrink towards one exchange per round,
whole writes, whole replies and servers that do not end the connection.
"""
from __future__ import annotations

from typing import Any

from attrs import frozen
from hypothesis import strategies as st

from tests.peer_scripts import Exchange, Round, Script

#: How an item sits in the rounds: C{"free"} (pipelined with the next or
#: not, as drawn), C{"break"} (the client waits for the replies after it),
#: C{"join"} (sent in the same round as the item before it).
PLACES = ("free", "break", "join")

CRLF = b"\r\n"
#: How a server may end a connection after a reply.
SERVER_ENDS = ("close", "half_close", "reset")


@frozen
class Item:
    """An exchange and its place in the rounds (one of L{PLACES})."""

    exchange: Exchange
    place: str = "free"


def cuts(draw: Any, length: int, most: int = 3) -> tuple[int, ...]:
    """Where to cut C{length} bytes into separate writes: none, by
    preference."""
    if length < 2:
        return ()
    points = draw(st.lists(st.integers(1, length - 1), max_size=most, unique=True))
    return tuple(sorted(points))


def ends(draw: Any, reply: bytes, must_end: bool = False) -> tuple[bytes, str | None]:
    """How the server's C{reply} goes out: whole (the common case), not at
    all or cut short (then the server ends the connection); and whether
    the server ends the connection after it (always when C{must_end}).

    @return: the bytes written and the exchange's C{end}.
    """
    fate = draw(st.sampled_from(["whole"] * 12 + ["before", "mid"]))
    if fate == "before":
        reply = b""
    elif fate == "mid" and len(reply) > 1:
        reply = reply[:draw(st.integers(1, len(reply) - 1))]
    if fate != "whole" or must_end:
        return reply, draw(st.sampled_from(SERVER_ENDS))
    return reply, draw(st.sampled_from([None] * 12 + list(SERVER_ENDS)))


def exchange(draw: Any, request: bytes, reply: bytes, must_end: bool = False) -> Exchange:
    """An exchange with a drawn end and drawn cuts of the reply."""
    written, end = ends(draw, reply, must_end)
    return Exchange(request, written, cuts(draw, len(written)), end)


def after_the_end(draw: Any, requests: st.SearchStrategy[bytes], end: str | None) -> list[Item]:
    """Requests a client may still send once the server ended: pipelined
    with the last answered one (in the same round), or, when the server
    only half-closed, in rounds of their own. The server reads them and
    answers nothing."""
    if end is None or end == "reset":
        return []
    place = "free" if end == "half_close" else "join"
    late = draw(st.lists(requests, max_size=2))
    return [Item(Exchange(request, b""), place) for request in late]


@st.composite
def scripts(draw: Any, conversation: st.SearchStrategy[list[Item]]) -> Script:
    """A script from a drawn conversation: rounds, cuts and the client's
    way of ending."""
    items = draw(conversation)
    rounds: list[list[Exchange]] = []
    joined = False
    for item in items:
        # what the server sends unasked goes out right after the reply
        # before it: in that reply's round, or the client's reading of
        # the rounds would race it
        if not rounds or not (joined or item.place == "join" or not item.exchange.request):
            rounds.append([])
        rounds[-1].append(item.exchange)
        joined = item.place != "break" and draw(st.booleans())
    built = tuple(
        Round(tuple(exchanges), cuts(draw, sum(len(e.request) for e in exchanges)))
        for exchanges in rounds
    )
    return Script(built, draw(st.booleans()), draw(st.sampled_from(["close", "reset"])))


def printable(most: int = 12, least: int = 1) -> st.SearchStrategy[bytes]:
    """Letters and digits: header values, keys, simple strings."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return st.text(alphabet, min_size=least, max_size=most).map(str.encode)


def bodies() -> st.SearchStrategy[bytes]:
    """Bodies and values: small ones mostly, sometimes a few hundred KiB
    (more than a proxy's buffer)."""
    small = st.binary(max_size=40)
    large = st.builds(
        lambda unit, times: unit * times,
        st.binary(min_size=1, max_size=8), st.sampled_from([1000, 10000, 40000]),
    )
    return st.one_of(small, small, small, large)


def every_failure(test: Any) -> None:
    """Run C{test}; when hypothesis found several distinct failures (or a
    flaky one), fail with all of them, each with its falsifying example
    (trial would print only the group's title)."""
    try:
        test()
    except BaseExceptionGroup as group:
        texts = []
        for number, error in enumerate(leaves_of(group), 1):
            notes = "\n".join(getattr(error, "__notes__", []))
            texts.append(f"--- failure {number}: {error}\n{notes}")
        raise AssertionError(f"{group}\n" + "\n".join(texts)) from None


def leaves_of(group: BaseExceptionGroup) -> list[BaseException]:
    result = []
    for error in group.exceptions:
        result += leaves_of(error) if isinstance(error, BaseExceptionGroup) else [error]
    return result
