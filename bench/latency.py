"""latency: one connection, 64-byte ping-pong, no pipelining.

The same blocking client does N round trips to an asyncio echo server,
direct and through each proxy; the added latency of a proxy in one round
is its percentile minus direct's percentile in that same round.
"""
from __future__ import annotations

import socket
import time

from bench import processes, report

TOOLS = ["haproxy"]
PAYLOAD = b"x" * 64


def round_trips(port: int, n: int, payload: bytes = PAYLOAD, warmup: int = 100,
                deadline_s: float = 60.0, pause_s: float = 0.0) -> list[float]:
    """Seconds of each of C{n} round trips on one connection (bounded by
    C{deadline_s}), with C{pause_s} of silence before each."""
    out = []
    end = time.monotonic() + deadline_s
    with socket.create_connection((processes.HOST, port), timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        size = len(payload)
        for i in range(warmup + n):
            if pause_s:
                time.sleep(pause_s)
            t0 = time.perf_counter()
            s.sendall(payload)
            got = 0
            while got < size:
                chunk = s.recv(size - got)
                if not chunk:
                    raise RuntimeError("connection closed mid round trip")
                got += len(chunk)
            if i >= warmup:
                out.append(time.perf_counter() - t0)
            if time.monotonic() > end:
                break
    return out


def pct(values: list[float], p: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def run(ctx) -> list[dict]:
    n = 1000 if ctx.quick else 5000
    added = {"p50": report.metric("latency", "added p50", "us",
                                  {"text": "<= 150 us", "on": "value", "max": 150}),
             "p99": report.metric("latency", "added p99", "us")}
    raw = {"p50": report.metric("latency", "round trip p50", "us"),
           "p99": report.metric("latency", "round trip p99", "us")}
    with processes.helper("echo") as echo, ctx.proxies(echo.port, "tcp") as ports:
        this_round: dict = {}

        def measure(mode, r):
            rtt = round_trips(ports[mode], n)
            this_round[(r, mode)] = {k: pct(rtt, float(k[1:])) * 1e6 for k in raw}
            for k in raw:
                report.add(raw[k], mode, this_round[(r, mode)][k])
            ctx.log(f"latency round {r} {mode}: p50 {this_round[(r, mode)]['p50']:.0f} us")

        ctx.interleave(ctx.modes(), measure)
        for r in range(ctx.rounds):
            for mode in ctx.proxy_modes:
                if (r, mode) not in this_round or (r, "direct") not in this_round:
                    continue  # that measurement failed (in ctx.failures)
                for k in added:
                    report.add(added[k], mode, this_round[(r, mode)][k] - this_round[(r, "direct")][k])
    return [raw["p50"], raw["p99"], added["p50"], added["p99"]]
