"""redis: redis-benchmark and redis-gen through C{--protocol redis}, at -P 1 and -P 32.

C{redis-benchmark -t ping,set,get -n N -c 50 -P K --csv} against a private
redis-server, direct, through vaurien (100% dummy), through portforward
and through HAProxy: ops/s per test (PING_INLINE, PING_MBULK, SET, GET).

redis-benchmark 7 exits at the first error reply ("We now immediately exit
on error"), so the rows with faults use redis-gen (C{bench/redis_gen.c},
built with the system cc on first use): GET, 50 connections, pipelines of
K, for a few seconds; every reply counts as an op, an C{-ERR} too. It
measures direct, through vaurien at 100% dummy, with C{20:error} and
with C{20:delay,20:error} (delay 0). With C{--compare}, the old vaurien
gets all three too (modes C{old}, C{old@20:error}, ...).
"""
from __future__ import annotations

import csv
import io
from contextlib import ExitStack

from bench import processes, redis_gen, report

TOOLS = ["redis-benchmark", "redis-server", "haproxy", "cc"]
TESTS = ("PING_INLINE", "PING_MBULK", "SET", "GET")
#: The faulted proxies redis-gen measures beside the 100%-dummy one: handler, its options.
FAULTS = {"20:error": [],
          "20:delay,20:error": ["--handler-delay-sleep", "0"]}
PIPELINES = (1, 32)
#: redis-gen's targets, per pipeline, on its row with C{20:error}: -P32
#: against direct, -P1 against vaurien's own 100%-dummy figure (rounds
#: kept in the row as C{dummy}).
ERROR_TARGETS = {
    32: {"text": "ratio >= 0.30", "on": "ratio", "min": 0.3},
    1: {"text": ">= 0.50 of dummy", "on": "ratio", "to": "dummy", "min": 0.5},
}


def faulted_mode(mode: str, handler: str) -> str:
    """The mode of the vaurien of C{mode} with C{handler}: C{vaurien@20:error}, ..."""
    return f"{mode}@{handler}"


def faulted_column(mode: str) -> str | None:
    """The column a faulted mode's numbers go to (its vaurien's); C{None}
    for a mode without faults."""
    return mode.split("@", 1)[0] if "@" in mode else None


def fault_of(mode: str) -> str | None:
    """The handler of a faulted mode, C{None} for the others."""
    return mode.split("@", 1)[1] if "@" in mode else None


def modes(ctx) -> list[str]:
    """The context's modes, each vaurien followed by its faulted twins."""
    out = []
    for mode in ctx.modes():
        out.append(mode)
        if mode in ctx.vaurien_modes:
            out.extend(faulted_mode(mode, handler) for handler in FAULTS)
    return out


def redis_benchmark(port: int, n: int, pipeline: int, timeout: float) -> dict[str, float]:
    out = processes.run(["redis-benchmark", "-h", processes.HOST, "-p", str(port),
                         "-t", "ping,set,get", "-n", str(n), "-c", "50",
                         "-P", str(pipeline), "--csv"], timeout)
    rps = {}
    for row in csv.reader(io.StringIO(out)):
        if len(row) >= 2 and row[0] in TESTS:
            rps[row[0]] = float(row[1])
    if not rps:
        raise RuntimeError(f"redis-benchmark printed no results: {out[-500:]!r}")
    return rps


def gen_metrics() -> dict:
    """redis-gen's rows: per pipeline, 100% dummy and each of L{FAULTS}."""
    metrics = {}
    for p in PIPELINES:
        metrics[(p, "dummy")] = report.metric("redis", f"gen -P{p} GET dummy", "ops/s")
        for handler in FAULTS:
            target = ERROR_TARGETS[p] if handler == "20:error" else None
            metrics[(p, handler)] = report.metric("redis", f"gen -P{p} GET {handler}", "ops/s",
                                                  target)
    return metrics


def record_gen(metrics: dict, mode: str, pipeline: int, ops_per_s: float) -> None:
    """Put one redis-gen figure in its rows: direct's in every row of its
    pipeline (the faulted rows' ratio is to direct), vaurien's dummy figure
    also as the C{dummy} of the rows with faults."""
    handler = fault_of(mode)
    column = faulted_column(mode) or mode
    report.add(metrics[(pipeline, handler or "dummy")], column, ops_per_s)
    if handler is None and mode in ("direct", report.VAURIEN):
        for h in FAULTS:
            report.add(metrics[(pipeline, h)], "direct" if mode == "direct" else "dummy",
                       ops_per_s)


def run(ctx) -> list[dict]:
    n = 50_000 if ctx.quick else 200_000
    seconds = 2.0 if ctx.quick else 5.0
    targets = {1: {"text": "ratio >= 0.60", "on": "ratio", "min": 0.6},
               32: {"text": "ratio >= 0.40", "on": "ratio", "min": 0.4}}
    metrics = {}
    for p in PIPELINES:
        for t in TESTS:
            metrics[(p, t)] = report.metric("redis", f"-P{p} {t}", "ops/s", targets[p])
    gen = gen_metrics()
    redis_gen.build()
    backend = processes.free_port()
    server = ["redis-server", "--port", str(backend), "--bind", processes.HOST, "--save", "",
              "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no"]
    with ExitStack() as stack:
        stack.enter_context(processes.Process("redis-server", server, backend))
        ports = stack.enter_context(ctx.proxies(backend, "redis"))
        for handler, options in FAULTS.items():
            faulted = stack.enter_context(ctx.proxies(backend, "redis", handler, extra=options,
                                                      modes=ctx.vaurien_modes))
            ports.update({faulted_mode(mode, handler): faulted[mode]
                          for mode in ctx.vaurien_modes})
        # every key the GETs read holds a value: 50 x 32 SETs cover key:0..999
        redis_gen.run(backend, pipeline=32, test="set", count=1600, seconds=10)

        def measure(mode, r):
            for p in PIPELINES:
                if faulted_column(mode) is None:
                    rps = redis_benchmark(ports[mode], n, p, timeout=600)
                    for t in TESTS:
                        report.add(metrics[(p, t)], mode, rps.get(t))
                    ctx.log(f"redis round {r} {mode} -P{p}: " +
                            " ".join(f"{t}={rps.get(t, 0):,.0f}" for t in TESTS))
                if mode in report.REFERENCES:
                    continue
                st = redis_gen.run(ports[mode], pipeline=p, seconds=seconds)
                record_gen(gen, mode, p, st["ops_per_s"])
                ctx.log(f"redis round {r} {mode} gen -P{p} GET: {st['ops_per_s']:,.0f} ops/s "
                        f"({st['errors']:,} errors of {st['ops']:,})")

        ctx.interleave(modes(ctx), measure)
    return ([metrics[(p, t)] for p in PIPELINES for t in TESTS]
            + [gen[(p, k)] for p in PIPELINES for k in ("dummy", *FAULTS)])
