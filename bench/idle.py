"""idle: 8,000 idle connections held through the proxy — RSS each, time to accept.

The issue asks for 10,000; open files are capped at 20,000 per process
here and a proxied connection costs the proxy two descriptors (client and
backend side), so 8,000 (16,000 descriptors plus the proxy's own) is the
most that fits with a safety margin.

Per round and proxy: start a fresh proxy (C{--timeout 0}, tcp, dummy) in
front of a server that accepts and holds; read its VmRSS; open 8,000
client connections from this process; wait (bounded) until the proxy
holds both descriptors of every connection; read VmRSS again. KiB per
connection = RSS growth / 8,000. Accept time = first connect to the last
backend descriptor in the proxy.
"""
from __future__ import annotations

import socket
import time

from bench import processes, report

TOOLS = ["haproxy"]
COUNT = 8000


def hold_through(proxy: processes.Process, count: int, deadline_s: float) -> dict:
    """Open C{count} idle connections through C{proxy}, bounded by C{deadline_s}.

    When the deadline passes first, the numbers are for the connections the
    proxy holds by then, and C{held} says how many.
    """
    pid = proxy.pid
    time.sleep(0.5)
    base_fds = processes.fd_count(pid)
    rss0 = processes.rss_kib(pid)
    socks = []
    end = time.monotonic() + deadline_s
    t0 = time.perf_counter()
    try:
        for _ in range(count):
            if time.monotonic() > end:
                break
            s = socket.socket()
            s.settimeout(10)
            s.connect((processes.HOST, proxy.port))
            socks.append(s)
        want = base_fds + 2 * len(socks)
        settle = time.monotonic() + 10
        while processes.fd_count(pid) < want and time.monotonic() < settle:
            time.sleep(0.01)
        accept_s = time.perf_counter() - t0
        held = (processes.fd_count(pid) - base_fds) // 2
        time.sleep(1.0)
        rss1 = processes.rss_kib(pid)
        if not proxy.alive():
            raise RuntimeError(f"{proxy.name} died: {proxy.tail()}")
        return {"kib_per_conn": (rss1 - rss0) / max(held, 1), "accept_s": accept_s,
                "opened": len(socks), "held": held,
                "rss_before_kib": rss0, "rss_after_kib": rss1,
                "nofile": processes.nofile_limit(pid)}
    finally:
        for s in socks:
            s.close()


def run(ctx) -> list[dict]:
    limit = processes.raise_nofile()
    if limit < COUNT + 1000:
        raise RuntimeError(f"this process may open only {limit} files; {COUNT} connections need more")
    per = report.metric("idle", f"{COUNT} idle conns: RSS per conn", "KiB",
                        {"text": "<= 4 KiB", "on": "value", "max": 4}, ratio=False)
    acc = report.metric("idle", f"{COUNT} idle conns: time to accept", "s", ratio=False)
    rss = report.metric("idle", f"{COUNT} idle conns: RSS after", "MiB", ratio=False)
    short: list[str] = []
    with processes.helper("hold") as hold:

        def measure(mode, r):
            with ctx.start(mode, hold.port, extra=["--timeout", "0"]) as proxy:
                res = hold_through(proxy, COUNT, 30 if ctx.quick else 60)
            if res["held"] < COUNT:
                short.append(f"round {r} {mode}: {res['held']} of {COUNT} held when the "
                             f"{30 if ctx.quick else 60} s bound ran out")
            report.add(per, mode, res["kib_per_conn"])
            report.add(acc, mode, res["accept_s"])
            report.add(rss, mode, res["rss_after_kib"] / 1024)
            ctx.log(f"idle round {r} {mode}: {res['held']} held, {res['kib_per_conn']:.2f} KiB/conn, in "
                    f"{res['accept_s']:.2f} s, RSS {res['rss_before_kib']} -> {res['rss_after_kib']} KiB "
                    f"(nofile {res['nofile']})")
            time.sleep(1.0)  # let the hold server see the closes

        ctx.interleave(ctx.proxy_modes, measure)
    per["note"] = (f"{COUNT}, not the issue's 10,000: open files are capped at 20,000 per process "
                   "and each proxied connection takes two")
    if short:
        acc["note"] = "; ".join(short)
    return [per, acc, rss]
