"""memcache: a bounded pymemcache set/get loop through C{--protocol memcache}.

One client (one connection), alternating C{set} and C{get} of 100-byte
values over 1,000 keys, N operations or 60 s, whichever ends first;
memcached is a private instance on a free loopback port.
"""
from __future__ import annotations

import getpass
import time

from bench import processes, report

TOOLS = ["memcached", "haproxy"]


def loop(port: int, n: int, deadline_s: float = 60.0) -> float:
    from pymemcache.client.base import Client

    c = Client((processes.HOST, port), connect_timeout=5, timeout=10, no_delay=True)
    value = b"v" * 100
    end = time.monotonic() + deadline_s
    t0 = time.perf_counter()
    done = 0
    try:
        for i in range(n):
            key = f"k{(i // 2) % 1000}"
            if i % 2:
                got = c.get(key)
                if got != value:
                    raise RuntimeError(f"memcache get {key}: {got!r}")
            else:
                c.set(key, value)
            done += 1
            if time.monotonic() > end:
                break
    finally:
        c.close()
    return done / (time.perf_counter() - t0)


def run(ctx) -> list[dict]:
    n = 5_000 if ctx.quick else 20_000
    ops = report.metric("memcache", f"pymemcache set/get x{n}", "ops/s")
    backend = processes.free_port()
    argv = [processes.which("memcached"), "-l", processes.HOST, "-p", str(backend), "-U", "0",
            "-u", getpass.getuser(), "-m", "64"]
    with processes.Process("memcached", argv, backend), \
            ctx.proxies(backend, "memcache") as ports:
        loop(backend, 2000)  # warm up memcached

        def measure(mode, r):
            x = loop(ports[mode], n)
            report.add(ops, mode, x)
            ctx.log(f"memcache round {r} {mode}: {x:,.0f} ops/s")

        ctx.interleave(ctx.modes(), measure)
    return [ops]
