"""accuracy: how close C{delay} with sleep 0.1 comes to 100 ms.

A tcp echo through C{--handler 100:delay --handler-delay-sleep 0.1}; each
round trip minus the median direct round trip of the same round is one
sample of the added delay. Target: p99 within 100 ms +- 2 ms. No reference
proxy has a delay to measure; with C{--compare}, the old vaurien does.
"""
from __future__ import annotations

import statistics

from bench import processes, report
from bench.latency import pct, round_trips

TOOLS: list[str] = []
SLEEP = 0.1


def run(ctx) -> list[dict]:
    n = 50 if ctx.quick else 200
    p50 = report.metric("accuracy", "delay 100ms: added p50", "ms",
                        {"text": "100 +- 2 ms", "on": "value", "min": 98, "max": 102},
                        ratio=False)
    p99 = report.metric("accuracy", "delay 100ms: added p99", "ms",
                        {"text": "100 +- 2 ms", "on": "value", "min": 98, "max": 102},
                        ratio=False)
    base: dict[int, float] = {}
    rtts: dict[tuple[int, str], list[float]] = {}
    with processes.helper("echo") as echo, \
            ctx.proxies(echo.port, "tcp", "100:delay", extra=["--handler-delay-sleep", str(SLEEP)],
                        modes=ctx.vaurien_modes) as ports:

        def measure(mode, r):
            if mode == "direct":
                # The direct round trip after the same 100 ms of silence: an
                # idle machine wakes up slower (CPU sleep states), and that
                # is not the proxy's doing.
                base[r] = statistics.median(round_trips(echo.port, 30, warmup=2, pause_s=SLEEP))
            else:
                rtts[(r, mode)] = round_trips(ports[mode], n, warmup=2,
                                              deadline_s=n * SLEEP * 3 + 10)

        ctx.interleave(["direct"] + ctx.vaurien_modes, measure)
    for r in sorted(base):
        report.add(p50, "direct", base[r] * 1e3)
        report.add(p99, "direct", base[r] * 1e3)
        for mode in ctx.vaurien_modes:
            if (r, mode) not in rtts:
                continue  # that measurement failed (in ctx.failures)
            extra = [(t - base[r]) * 1e3 for t in rtts[(r, mode)]]
            report.add(p50, mode, pct(extra, 50))
            report.add(p99, mode, pct(extra, 99))
            ctx.log(f"accuracy round {r} {mode}: added p50 {pct(extra, 50):.2f} ms "
                    f"p99 {pct(extra, 99):.2f} ms min {min(extra):.2f} max {max(extra):.2f} "
                    f"({len(extra)} samples)")
    p50["note"] = ("direct column: direct round trip after 100 ms of silence (ms); vaurien "
                   "column: round trip through delay minus that direct median")
    return [p50, p99]
