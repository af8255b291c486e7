"""Differential fuzzing of the C accelerators against their Python twins,
seeded and bounded in time: the RESP skimmers, the Redis and HTTP
followers the lane calls, at limits from 0 to the largest integers.
Run from the source tree (scripts/sanitize.sh runs it under ASan and
UBSan); exit status 1 on the first disagreement, with the input.

Usage: python scripts/fuzz_extensions.py [--seed N] [--seconds S]
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from typing import Callable

sys.path.insert(0, ".")

from tests.test_http_skim import _follower_state, _outcome, _python_only  # noqa: E402
from vaurien.extensions import accelerator  # noqa: E402
from vaurien.protocols.http.skim import SkimmingHttpFraming  # noqa: E402
from vaurien.protocols.redis import RedisFraming  # noqa: E402
from vaurien.protocols.redis.skim import py_skim_commands, py_skim_plain_replies  # noqa: E402

RESP = [
    b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n",
    b"+OK\r\n", b"-ERR no\r\n", b":12\r\n", b"$3\r\nabc\r\n", b"$-1\r\n", b"PING\r\n",
    b"*1\r\n$7\r\nMONITOR\r\n", b"%1\r\n+a\r\n:1\r\n", b"|1\r\n+k\r\n+v\r\n+OK\r\n",
    b"$9223372036854775807\r\n", b"*9223372036854775807\r\n", b">2\r\n+m\r\n+x\r\n",
]
HTTP_UP = [
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", b"HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
    b"PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    b"GET / HTTP/1.0\r\n\r\n", b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
]
HTTP_DOWN = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", b"HTTP/1.1 204 No Content\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
]
LIMITS = [0, 1, 3, 4, 5, 22, 64, 65536, 2**31 - 1, 2**62, 2**63 - 1]
NOISE = [b"\r", b"\n", b"\r\n", b"0", b"9", b"-", b"*", b"$", b"|", b" ", b":", b"\x00", b"99999999999"]


def _stream(rnd: random.Random, pieces: list[bytes]) -> bytes:
    """A few pieces, some of them damaged."""
    data = bytearray()
    for _ in range(rnd.randrange(1, 6)):
        piece = bytearray(rnd.choice(pieces))
        for _ in range(rnd.choice((0, 0, 1, 2))):
            at = rnd.randrange(len(piece) + 1)
            action = rnd.randrange(3)
            if action == 0:
                piece[at:at] = rnd.choice(NOISE)
            elif action == 1:
                del piece[at:at + rnd.randrange(1, 4)]
            else:
                piece = piece[:at]
        data += piece
    return bytes(data)


def _chunks(rnd: random.Random, data: bytes) -> list[bytes]:
    cuts = sorted({0, len(data), *(rnd.randrange(len(data) + 1) for _ in range(rnd.randrange(4)))})
    return [data[a:b] for a, b in zip(cuts, cuts[1:])]


def _same(what: str, got, expected, data) -> None:
    if got != expected:
        sys.exit(f"{what}: C {got!r} != Python {expected!r} on {data!r}")


def resp_scanners(rnd: random.Random, skim) -> None:
    data = _stream(rnd, RESP)
    elements, bulk, line = (rnd.choice(LIMITS) for _ in range(3))
    _same("skim_commands", skim.skim_commands(data, elements, bulk, line),
          py_skim_commands(data, elements, bulk, line), data)
    _same("skim_plain_replies", skim.skim_plain_replies(data, bulk, line),
          py_skim_plain_replies(data, bulk, line), data)


def redis_followers(rnd: random.Random, skim) -> None:
    python, c = RedisFraming(), RedisFraming()
    ways = [(python.skim_requests, python.skim_replies), c.followers()]
    for _ in range(rnd.randrange(1, 4)):
        side = rnd.randrange(2)
        data = _stream(rnd, RESP)
        for chunk in _chunks(rnd, data):
            outcomes = [_outcome(way[side], chunk) for way in ways]
            _same("redis followers", outcomes[1], outcomes[0], data)
            _same("redis resting", c.resting, python.resting, data)


def http_followers(rnd: random.Random, fast) -> None:
    limit = rnd.choice([4, 5, 30, 64, 65536, sys.maxsize])
    python = _python_only(SkimmingHttpFraming(limit, 1024))
    c, lane = SkimmingHttpFraming(limit, 1024), SkimmingHttpFraming(limit, 1024)
    ways = [(python.skim_requests, python.skim_replies), (c.skim_requests, c.skim_replies),
            lane.followers()]
    for _ in range(rnd.randrange(1, 4)):
        side = rnd.randrange(2)
        data = _stream(rnd, HTTP_DOWN if side else HTTP_UP)
        for chunk in _chunks(rnd, data):
            expected, *got = [_outcome(way[side], chunk) for way in ways]
            _same("http followers", got, [expected, expected], data)
            state = _follower_state(python)
            _same("http state", [_follower_state(c), _follower_state(lane)], [state, state], data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    fuzzers: list[tuple[Callable, object]] = []
    redis, http = "vaurien.protocols.redis._skim", "vaurien.protocols.http._skim"
    for fuzz, name in ((resp_scanners, redis), (redis_followers, redis), (http_followers, http)):
        module = accelerator(name)
        if module is None:
            print(f"{name} is not in use: {fuzz.__name__} skipped")
        else:
            fuzzers.append((fuzz, module))
    rnd = random.Random(args.seed)
    deadline, runs = time.monotonic() + args.seconds, 0
    while fuzzers and time.monotonic() < deadline:
        for fuzz, module in fuzzers:
            fuzz(rnd, module)
        runs += 1
    print(f"{runs * len(fuzzers)} differential runs, seed {args.seed}: C and Python agree")


if __name__ == "__main__":
    main()
