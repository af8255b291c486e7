"""Redis conversations for the differential test: commands (RESP arrays
and inline) and replies of every RESP2 and RESP3 type, nested, with
attributes and out-of-band pushes; C{HELLO 3}, pub/sub, C{MONITOR},
C{QUIT}, and servers that close, half-close or reset early."""
from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.conversations import CRLF, Item, after_the_end, bodies, exchange, printable
from tests.peer_scripts import Exchange

#: Commands with no meaning to the framing (no set-up, no pub/sub).
COMMANDS = (b"GET", b"SET", b"MGET", b"DEL", b"INCR", b"HGETALL", b"LRANGE", b"ZRANGE",
            b"ECHO", b"PING", b"EXISTS", b"TYPE", b"MULTI", b"EXEC", b"SCAN", b"XREAD")
HELLO_3 = b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n"
HELLO_MAP = (b"%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.4\r\n"
             b"$5\r\nproto\r\n:3\r\n")
#: What a conversation may do next, while it is RESP.
MOVES = ("command", "inline", "reply_off", "reply_skip", "subscribe", "monitor", "quit")


def _bulk(data: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(data), data)


def _array(items: list[bytes], kind: bytes = b"*") -> bytes:
    return kind + b"%d\r\n" % len(items) + b"".join(items)


def resp_values(resp3: bool) -> st.SearchStrategy[bytes]:
    """Replies: every type of RESP2, and of RESP3 when C{resp3}."""
    line = printable(16, 0)
    leaves = [
        line.map(lambda s: b"+" + s + CRLF),
        line.map(lambda s: b"-ERR " + s + CRLF),
        st.integers(-(2 ** 63), 2 ** 63 - 1).map(lambda n: b":%d\r\n" % n),
        bodies().map(_bulk),
        st.sampled_from([b"$-1\r\n", b"*-1\r\n", b"*0\r\n"]),
    ]
    if resp3:
        leaves += [
            st.sampled_from([b"_\r\n", b"#t\r\n", b"#f\r\n", b",inf\r\n", b",-inf\r\n",
                             b",nan\r\n", b"(3492890328409238509324850943850943825024385\r\n"]),
            st.floats(allow_nan=False, allow_infinity=False).map(lambda x: b",%r\r\n" % x),
            st.binary(max_size=20).map(lambda s: b"!%d\r\n%s\r\n" % (len(s) + 4, b"ERR " + s)),
            st.binary(max_size=20).map(lambda s: b"=%d\r\ntxt:%s\r\n" % (len(s) + 4, s)),
        ]

    def containers(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
        lists = st.lists(children, max_size=4)
        kinds = [lists.map(_array)]
        if resp3:
            kinds += [
                lists.map(lambda items: _array(items, b"~")),
                st.lists(st.tuples(children, children), max_size=3).map(
                    lambda pairs: b"%%%d\r\n" % len(pairs) + b"".join(a + b for a, b in pairs)),
                st.tuples(st.lists(st.tuples(children, children), min_size=1, max_size=2),
                          children).map(
                    lambda t: b"|%d\r\n" % len(t[0]) + b"".join(a + b for a, b in t[0]) + t[1]),
            ]
        return st.one_of(kinds)

    return st.recursive(st.one_of(leaves), containers, max_leaves=8)


def _push(draw: Any) -> bytes:
    """A RESP3 push frame (an invalidation, a message)."""
    if draw(st.booleans()):
        return _array([_bulk(b"invalidate"), _array([_bulk(draw(printable(8)))])], b">")
    return _array([_bulk(b"message"), _bulk(b"news"), _bulk(draw(st.binary(max_size=16)))], b">")


@st.composite
def _commands(draw: Any) -> bytes:
    return _command(draw)


def _command(draw: Any) -> bytes:
    name = draw(st.sampled_from(COMMANDS))
    return _array([_bulk(name)] + [_bulk(arg) for arg in draw(st.lists(bodies(), max_size=3))])


def _inline(draw: Any) -> bytes:
    words = [draw(st.sampled_from(COMMANDS))] + draw(st.lists(printable(8), max_size=2))
    return b" ".join(words) + CRLF


def _subscribed(draw: Any, resp3: bool, verb: bytes, channels: list[bytes]) -> bytes:
    kind = b">" if resp3 else b"*"
    return b"".join(
        _array([_bulk(verb), _bulk(channel), b":%d\r\n" % number], kind)
        for number, channel in enumerate(channels, 1)
    )


def _message(draw: Any, resp3: bool) -> bytes:
    kind = b">" if resp3 else b"*"
    return _array([_bulk(b"message"), _bulk(b"news"), _bulk(draw(st.binary(max_size=24)))], kind)


def _messages(draw: Any, resp3: bool) -> bytes:
    """Up to two messages pushed to a subscriber."""
    return b"".join(_message(draw, resp3) for _ in range(draw(st.integers(0, 2))))


def _move(draw: Any, move: str, resp3: bool) -> tuple[list[Item], bool]:
    """The items of one move, and whether the connection stays framed RESP."""
    if move in ("command", "inline"):
        request = _command(draw) if move == "command" else _inline(draw)
        reply = draw(resp_values(resp3))
        if resp3 and draw(st.booleans()):
            reply = _push(draw) + reply
        return [Item(exchange(draw, request, reply))], True
    if move in ("reply_off", "reply_skip"):
        # the server answers neither this command nor, with OFF, the next
        # ones until CLIENT REPLY ON; with SKIP, the next one
        word = b"OFF" if move == "reply_off" else b"SKIP"
        client = [_bulk(b"CLIENT"), _bulk(b"REPLY")]
        count = draw(st.integers(0, 2)) if move == "reply_off" else 1
        items = [Item(Exchange(_array(client + [_bulk(word)]), b""))]
        items += [Item(Exchange(_command(draw), b"")) for _ in range(count)]
        if move == "reply_off":
            items.append(Item(exchange(draw, _array(client + [_bulk(b"ON")]), b"+OK\r\n")))
        return items, True
    if move == "subscribe":
        verb = draw(st.sampled_from([b"SUBSCRIBE", b"PSUBSCRIBE", b"SSUBSCRIBE"]))
        channels = draw(st.lists(printable(6), min_size=1, max_size=2))
        request = _array([_bulk(verb)] + [_bulk(channel) for channel in channels])
        reply = _subscribed(draw, resp3, verb.lower(), channels)
        reply += _messages(draw, resp3)
        return [Item(exchange(draw, request, reply))], False
    if move == "monitor":
        lines = draw(st.lists(printable(20), max_size=2))
        reply = b"+OK\r\n" + b"".join(b"+1700000000.1 [0 127.0.0.1:1] " + s + CRLF for s in lines)
        return [Item(exchange(draw, _array([_bulk(b"MONITOR")]), reply))], False
    # quit: the server answers and closes
    return [Item(exchange(draw, _array([_bulk(b"QUIT")]), b"+OK\r\n", must_end=True))], True


def _tunnelled(draw: Any, resp3: bool) -> Item:
    """After pub/sub or MONITOR: more commands and pushed messages."""
    request = draw(st.sampled_from([
        b"", _array([_bulk(b"PING")]), _array([_bulk(b"SUBSCRIBE"), _bulk(b"more")]),
        _array([_bulk(b"UNSUBSCRIBE")]),
    ]))
    reply = _messages(draw, resp3)
    if not request and not reply:
        reply = _message(draw, resp3)
    return Item(exchange(draw, request, reply))


@st.composite
def resp_conversations(draw: Any) -> list[Item]:
    """Maybe C{HELLO 3} first (RESP3 replies after it, if the server
    agrees), then up to six moves."""
    items: list[Item] = []
    resp3 = False
    if draw(st.booleans()):
        resp3 = draw(st.booleans())
        reply = HELLO_MAP if resp3 else b"-ERR unknown command 'HELLO'\r\n"
        items.append(Item(Exchange(HELLO_3, reply)))
    framed = True
    for _ in range(draw(st.integers(1, 6))):
        if framed:
            new, framed = _move(draw, draw(st.sampled_from(MOVES)), resp3)
        else:
            new = [_tunnelled(draw, resp3)]
        items += new
        end = next((item.exchange.end for item in new if item.exchange.end), None)
        if end is not None:
            return items + after_the_end(draw, _commands(), end)
    return items
