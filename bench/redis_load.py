"""redis: redis-benchmark through C{--protocol redis}, at -P 1 and -P 32.

C{redis-benchmark -t ping,set,get -n N -c 50 -P K --csv} against a private
redis-server, direct, through vaurien (100% dummy), through vaurien with
C{20:delay,20:error} (delay 0), through portforward and through HAProxy.
ops/s per test
(PING_INLINE, PING_MBULK, SET, GET).

With C{--compare}, the old vaurien gets both too (modes C{old} and
C{old-faults}).

redis-benchmark 7 exits at the first error reply ("We now immediately exit
on error"), so the faulted runs use this module's own client instead
(C{python -m bench.redis_load PORT N CLIENTS PIPELINE}: asyncio, SET/GET
alternating, an C{-ERR} reply counts as an operation). It is slower than
redis-benchmark, so its rows compare the faulted proxy with the same
client direct and through the 100%-dummy proxy, never with the rows above.
"""
from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
import time

from bench import processes, report

TOOLS = ["redis-benchmark", "redis-server", "haproxy"]
TESTS = ("PING_INLINE", "PING_MBULK", "SET", "GET")
FAULTS = "20:delay,20:error"
#: redis-benchmark reads CONFIG GET at start and exits on an error there,
#: so the faults target the benchmarked commands only.
FAULT_OPTIONS = ["--handler-delay-sleep", "0", "--handler-delay-commands", "PING,SET,GET",
                 "--handler-error-commands", "PING,SET,GET"]


def faulted_mode(mode: str) -> str:
    """The mode of the vaurien of C{mode} with L{FAULTS}: C{faults}, C{old-faults}."""
    return "faults" if mode == report.VAURIEN else f"{mode}-faults"


def faulted_column(mode: str) -> str | None:
    """The column a faulted mode's numbers go to (its vaurien's); C{None}
    for a mode without faults."""
    if mode == "faults":
        return report.VAURIEN
    if mode.endswith("-faults"):
        return mode[:-len("-faults")]
    return None


def modes(ctx) -> list[str]:
    """The context's modes, each vaurien followed by its faulted twin."""
    out = []
    for mode in ctx.modes():
        out.append(mode)
        if mode in ctx.vaurien_modes:
            out.append(faulted_mode(mode))
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


async def _client(port: int, ops: int, pipeline: int, stats: dict, deadline: float) -> None:
    reader, writer = await asyncio.open_connection(processes.HOST, port)
    i = 0
    while i < ops and time.monotonic() < deadline:
        batch = []
        for j in range(pipeline):
            k = f"k{(i + j) % 1000}".encode()
            if (i + j) % 2:
                batch.append(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(k), k))
            else:
                batch.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$3\r\nxyz\r\n" % (len(k), k))
        writer.write(b"".join(batch))
        for _ in range(pipeline):
            line = await reader.readline()
            if line.startswith(b"$") and line[1:2] != b"-":
                await reader.readexactly(int(line[1:]) + 2)
            elif line.startswith(b"-"):
                stats["errors"] += 1
            elif not line:
                raise ConnectionError("closed")
            stats["ops"] += 1
        i += pipeline
    writer.close()


async def _load(port: int, n: int, clients: int, pipeline: int) -> dict:
    stats = {"ops": 0, "errors": 0}
    t0 = time.perf_counter()
    deadline = time.monotonic() + 120
    await asyncio.gather(*(_client(port, n // clients, pipeline, stats, deadline)
                           for _ in range(clients)))
    stats["seconds"] = time.perf_counter() - t0
    stats["ops_per_s"] = stats["ops"] / stats["seconds"]
    return stats


def py_load(port: int, n: int, pipeline: int, timeout: float = 180) -> dict:
    """This module's own client in a subprocess: ops/s, errors counted as ops."""
    out = processes.run([sys.executable, "-m", "bench.redis_load", str(port), str(n), "50",
                         str(pipeline)], timeout)
    return json.loads(out)


def run(ctx) -> list[dict]:
    n = 50_000 if ctx.quick else 200_000
    py_n = 10_000 if ctx.quick else 40_000
    targets = {1: {"text": "ratio >= 0.60", "on": "ratio", "min": 0.6},
               32: {"text": "ratio >= 0.40", "on": "ratio", "min": 0.4}}
    metrics = {}
    for p in (1, 32):
        for t in TESTS:
            metrics[(p, t, "dummy")] = report.metric("redis", f"-P{p} {t}", "ops/s", targets[p])
        metrics[(p, "py", "dummy")] = report.metric("redis", f"py client -P{p} SET/GET dummy", "ops/s")
        metrics[(p, "py", "faults")] = report.metric("redis", f"py client -P{p} SET/GET {FAULTS}",
                                                    "ops/s")
    backend = processes.free_port()
    server = ["redis-server", "--port", str(backend), "--bind", processes.HOST, "--save", "",
              "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no"]
    with processes.Process("redis-server", server, backend), \
            ctx.proxies(backend, "redis") as ports, \
            ctx.proxies(backend, "redis", FAULTS, extra=FAULT_OPTIONS,
                        modes=ctx.vaurien_modes) as faulted:
        ports.update({faulted_mode(mode): faulted[mode] for mode in ctx.vaurien_modes})

        def measure(mode, r):
            column = faulted_column(mode)
            for p in (1, 32):
                if column is None:
                    rps = redis_benchmark(ports[mode], n, p, timeout=600)
                    for t in TESTS:
                        report.add(metrics[(p, t, "dummy")], mode, rps.get(t))
                    ctx.log(f"redis round {r} {mode} -P{p}: " +
                            " ".join(f"{t}={rps.get(t, 0):,.0f}" for t in TESTS))
                if mode not in report.REFERENCES:
                    st = py_load(ports[mode], py_n, p)
                    kind = "dummy" if column is None else "faults"
                    report.add(metrics[(p, "py", kind)], column or mode, st["ops_per_s"])
                    if mode == "direct":
                        report.add(metrics[(p, "py", "faults")], "direct", st["ops_per_s"])
                    ctx.log(f"redis round {r} {mode} py client -P{p}: {st['ops_per_s']:,.0f} ops/s "
                            f"({st['errors']} errors of {st['ops']})")

        ctx.interleave(modes(ctx), measure)
    return ([metrics[(p, t, "dummy")] for p in (1, 32) for t in TESTS]
            + [metrics[(p, "py", k)] for p in (1, 32) for k in ("dummy", "faults")])


if __name__ == "__main__":
    port_, n_, clients_, pipeline_ = (int(x) for x in sys.argv[1:5])
    print(json.dumps(asyncio.run(_load(port_, n_, clients_, pipeline_))))
