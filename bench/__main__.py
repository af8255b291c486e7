"""C{python -m bench [--only NAME ...] [--rounds 3] [--quick] [--out FILE] [--compare REV]}.

Runs each benchmark direct, through vaurien, through Twisted's
portforward and through HAProxy, interleaved, for N rounds; prints a table of medians with
the ratio to direct and the issue's targets, and writes every round's raw
numbers to a JSON file.

With C{--compare REV}, vaurien at REV (a temporary git worktree, its C
accelerators built there) is one more mode in the same rounds, and the
table adds its ratio to direct and vaurien's ratio to it.
"""
from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import time
import traceback
from contextlib import ExitStack

from bench import compare, processes, report
from bench.context import Context, log

#: Default set, in run order. C{soak} runs only when named with --only.
DEFAULT = ("latency", "accuracy", "toxics", "bulk", "redis", "http", "memcache", "idle")
ALL = DEFAULT + ("soak",)
_MODULES = {"redis": "redis_load", "http": "http_load", "memcache": "memcache_load"}

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ensure_tools(tools: list[str], ctx: Context) -> None:
    missing = [t for t in tools if not processes.which(t)]
    if not missing:
        return
    ctx.log(f"missing {', '.join(missing)}: running bench/install.sh")
    subprocess.run(["sh", os.path.join(REPO, "bench", "install.sh")], check=True, timeout=900)
    still = [t for t in tools if not processes.which(t)]
    if still:
        raise SystemExit(f"bench: still missing after install.sh: {', '.join(still)}")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    p.add_argument("--only", nargs="+", choices=ALL, metavar="NAME",
                   help=f"benchmarks to run (default: {' '.join(DEFAULT)}; also: soak)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--quick", action="store_true", help="smaller loads (a few minutes in all)")
    p.add_argument("--minutes", type=float, default=10.0, help="soak duration (default 10)")
    p.add_argument("--clients", type=int, default=50, help="soak clients per protocol (default 50)")
    p.add_argument("--out", help="JSON file (default bench/results/RUN-<date>.json)")
    p.add_argument("--compare", metavar="REV",
                   help="also run vaurien at git revision REV (checked out into a temporary "
                        "worktree, its C accelerators built there, removed afterwards) as mode "
                        "'old' in the same interleaved rounds; the table adds o/d and v/o "
                        "(vaurien / old). Portforward and HAProxy are left out to save time "
                        "unless --with-references; soak cannot be compared")
    p.add_argument("--new", metavar="REV",
                   help="with --compare: run vaurien at REV (another temporary worktree) "
                        "instead of the working tree, e.g. HEAD while the working tree is "
                        "being edited")
    p.add_argument("--with-references", action="store_true",
                   help="with --compare: measure portforward and HAProxy too")
    return p


def _trees(a: argparse.Namespace, stack: ExitStack) -> dict[str, compare.Tree | None]:
    """The checkout of each vaurien mode; worktrees close with C{stack}."""
    if not a.compare:
        return {report.VAURIEN: None}
    new = (stack.enter_context(compare.worktree(REPO, a.new, log)) if a.new
           else compare.working_tree(report.commit(REPO)))
    old = stack.enter_context(compare.worktree(REPO, a.compare, log))
    return {report.VAURIEN: new, report.OLD: old}


def main(argv: list[str] | None = None) -> int:
    p = _parser()
    a = p.parse_args(argv)
    if a.rounds < 1:
        p.error("--rounds must be at least 1")
    names = a.only or list(DEFAULT)
    if not a.compare and (a.new or a.with_references):
        p.error("--new and --with-references go with --compare")
    if a.compare and "soak" in names:
        p.error("soak checks one vaurien for faults and growth; run it without --compare")
    with ExitStack() as stack:
        try:
            trees = _trees(a, stack)
        except compare.CompareError as e:
            p.exit(2, f"{p.prog}: {e}\n")
        ctx = Context(a.rounds, a.quick, a.minutes, a.clients, trees,
                      references=not a.compare or a.with_references)
        return _run(a, ctx, names)


def _run(a: argparse.Namespace, ctx: Context, names: list[str]) -> int:
    processes.raise_nofile()
    mods = {n: importlib.import_module(f"bench.{_MODULES.get(n, n)}") for n in names}
    tools = {t for m in mods.values() for t in getattr(m, "TOOLS", ())}
    ensure_tools(sorted(tools if ctx.references else tools - {"haproxy"}), ctx)

    started = time.monotonic()
    new = ctx.trees[report.VAURIEN]
    facts = {"commit": new.commit if new else report.commit(REPO), "date": report.now(),
             "argv": sys.argv[1:], "rounds": a.rounds, "quick": a.quick,
             "soak_minutes": a.minutes, "machine": report.machine(),
             "accelerator": (new or compare.working_tree(None)).accelerator,
             "errors": {}, "durations_s": {}}
    if ctx.compared:
        facts["compare"] = {mode: tree.facts() for mode, tree in ctx.trees.items()}
        facts["references"] = ctx.references
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
    if ctx.compared:
        old = ctx.trees[report.OLD]
        print(f"old: vaurien at {old.rev} = {old.commit}  C accelerator: {old.accelerator}")
        print(f"vaurien: {new.rev}" + (f" = {new.commit}" if new.path else ""))
    print("medians of interleaved rounds; " + _legend(report.modes_in(metrics)) + "\n")
    print(report.table(metrics))
    notes = [f"- {m['bench']} {m['name']}: {m['note']}" for m in metrics if m.get("note")]
    if notes:
        print("\n" + "\n".join(notes))
    for name, err in facts["errors"].items():
        print(f"\n!! {name} failed: {err}")
    print(f"\nJSON: {out}")
    return 1 if facts["errors"] else 0


_LEGEND = {report.VAURIEN: "v/d = vaurien/direct", report.OLD: "o/d = old/direct",
           "portforward": "pf/d = portforward/direct", "haproxy": "hp/d = haproxy/direct"}


def _legend(modes: list[str]) -> str:
    parts = [_LEGEND[mode] for mode in modes]
    if report.OLD in modes:
        parts.append("v/o = vaurien/old (new/old)")
    return ", ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
