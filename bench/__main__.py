"""C{python -m bench [--only NAME ...] [--rounds 3] [--quick] [--out FILE]}.

Runs each benchmark direct, through vaurien, through Twisted's
portforward and through HAProxy, interleaved, for N rounds; prints a table of medians with
the ratio to direct and the issue's targets, and writes every round's raw
numbers to a JSON file.
"""
from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import time
import traceback

from bench import processes, report

#: Default set, in run order. C{soak} runs only when named with --only.
DEFAULT = ("latency", "accuracy", "bulk", "redis", "http", "memcache", "idle")
ALL = DEFAULT + ("soak",)
_MODULES = {"redis": "redis_load", "http": "http_load", "memcache": "memcache_load"}

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Context:
    """What a benchmark is given: rounds, quick mode, a log line writer."""

    def __init__(self, rounds: int, quick: bool, minutes: float, clients: int):
        self.rounds = rounds
        self.quick = quick
        self.minutes = minutes
        self.clients = clients
        self.failures: list[str] = []

    def log(self, msg: str) -> None:
        sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {msg}\n")
        sys.stderr.flush()

    def interleave(self, modes: list[str], measure) -> None:
        """Call C{measure(mode, round)} for each round, rotating the mode order."""
        for r in range(self.rounds):
            k = r % len(modes)
            for mode in modes[k:] + modes[:k]:
                try:
                    measure(mode, r)
                except Exception as e:  # keep the other modes and rounds
                    self.failures.append(f"round {r} {mode}: {type(e).__name__}: {e}")
                    self.log(f"round {r} {mode} failed: {e}")


def ensure_tools(tools: list[str], ctx: Context) -> None:
    missing = [t for t in tools if not processes.which(t)]
    if not missing:
        return
    ctx.log(f"missing {', '.join(missing)}: running bench/install.sh")
    subprocess.run(["sh", os.path.join(REPO, "bench", "install.sh")], check=True, timeout=900)
    still = [t for t in tools if not processes.which(t)]
    if still:
        raise SystemExit(f"bench: still missing after install.sh: {', '.join(still)}")


#: The optional C modules (setup.py); without them the same code runs in Python.
ACCELERATORS = ("vaurien._skim", "vaurien._http_skim", "vaurien._pump")


def accelerator() -> str:
    """Whether the vaurien the benchmarks run has its C accelerators."""
    missing = []
    for name in ACCELERATORS:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        return f"not built: {', '.join(missing)} (Python instead; see scripts/ensure-venv.sh)"
    return "built"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    p.add_argument("--only", nargs="+", choices=ALL, metavar="NAME",
                   help=f"benchmarks to run (default: {' '.join(DEFAULT)}; also: soak)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--quick", action="store_true", help="smaller loads (a few minutes in all)")
    p.add_argument("--minutes", type=float, default=10.0, help="soak duration (default 10)")
    p.add_argument("--clients", type=int, default=50, help="soak clients per protocol (default 50)")
    p.add_argument("--out", help="JSON file (default bench/results/RUN-<date>.json)")
    a = p.parse_args(argv)
    if a.rounds < 1:
        p.error("--rounds must be at least 1")

    ctx = Context(a.rounds, a.quick, a.minutes, a.clients)
    processes.raise_nofile()
    names = a.only or list(DEFAULT)
    mods = {n: importlib.import_module(f"bench.{_MODULES.get(n, n)}") for n in names}
    ensure_tools(sorted({t for m in mods.values() for t in getattr(m, "TOOLS", ())}), ctx)

    started = time.monotonic()
    facts = {"commit": report.commit(REPO), "date": report.now(), "argv": sys.argv[1:],
             "rounds": a.rounds, "quick": a.quick, "soak_minutes": a.minutes, "machine": report.machine(),
             "accelerator": accelerator(), "errors": {}, "durations_s": {}}
    metrics: list[dict] = []
    for name, mod in mods.items():
        t0 = time.monotonic()
        ctx.log(f"== {name}")
        try:
            metrics.extend(mod.run(ctx))
        except Exception as e:  # one broken benchmark must not lose the others
            facts["errors"][name] = f"{type(e).__name__}: {e}"
            ctx.log(f"{name} failed:\n{traceback.format_exc()}")
        facts["durations_s"][name] = round(time.monotonic() - t0, 1)
        if ctx.failures:
            facts["errors"][name] = "; ".join(ctx.failures)
            ctx.failures = []
    facts["duration_s"] = round(time.monotonic() - started, 1)

    out = a.out or os.path.join(REPO, "bench", "results",
                                f"RUN-{time.strftime('%Y%m%d-%H%M%S')}.json")
    report.write_json(out, metrics, facts)
    print(f"vaurien bench  commit {facts['commit']}  {facts['date']}  "
          f"rounds {a.rounds}{'  quick' if a.quick else ''}"
          f"{f'  soak {a.minutes} min' if 'soak' in names else ''}  ({facts['duration_s']} s)"
          f"  C accelerator: {facts['accelerator']}")
    print("medians of interleaved rounds; v/d = vaurien/direct, pf/d = portforward/direct, "
          "hp/d = haproxy/direct\n")
    print(report.table(metrics))
    notes = [f"- {m['bench']} {m['name']}: {m['note']}" for m in metrics if m.get("note")]
    if notes:
        print("\n" + "\n".join(notes))
    for name, err in facts["errors"].items():
        print(f"\n!! {name} failed: {err}")
    print(f"\nJSON: {out}")
    return 1 if facts["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
