"""Results: one metric's raw rounds per mode, the table of medians, the JSON file.

A metric is a plain dict (so it goes to JSON as is)::

    {"bench": "bulk", "name": "client->server", "unit": "MB/s",
     "target": {"text": "ratio >= 0.50", "on": "ratio", "min": 0.5},
     "rounds": {"direct": [...], "vaurien": [...], "portforward": [...],
                "haproxy": [...]},
     "note": "..."}

With C{--compare REV}, C{rounds} also holds C{"old"} (vaurien at REV),
and usually not the two references.

C{target.on} is C{"ratio"} (vaurien median / direct median) or C{"value"}
(vaurien's median itself, e.g. added microseconds); C{min}/C{max} bound it.
With C{target.to}, the ratio is to the median of that key of C{rounds}
instead of direct's (redis-gen's C{20:error} row at -P1 against vaurien's
own 100%-dummy rounds, kept in the row as C{"dummy"}); the table prints
that ratio beside yes/NO, as no column shows it.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess

#: The proxy under test: the working tree's vaurien (or C{--new REV}'s).
VAURIEN = "vaurien"
#: Vaurien at C{--compare REV}, measured beside it.
OLD = "old"
#: The proxies measured beside vaurien: Twisted's bare relay and HAProxy.
REFERENCES = ("portforward", "haproxy")
#: Every proxy mode, in table order.
PROXIES = (VAURIEN, OLD) + REFERENCES


def metric(bench: str, name: str, unit: str, target: dict | None = None,
           note: str = "", ratio: bool = True, decimals: int | None = None) -> dict:
    """A new metric; C{ratio=False} when a ratio to direct means nothing.

    @param decimals: the table prints its values with that many decimals
        (e.g. 100.63 ms, where the default would print 101).
    """
    m = {"bench": bench, "name": name, "unit": unit, "target": target,
         "rounds": {}, "note": note, "show_ratio": ratio}
    if decimals is not None:
        m["decimals"] = decimals
    return m


def add(m: dict, mode: str, value: float | None) -> None:
    m["rounds"].setdefault(mode, []).append(value)


def median(values: list | None) -> float | None:
    vals = [v for v in values or [] if v is not None]
    return statistics.median(vals) if vals else None


def summarize(m: dict) -> dict:
    """Medians per mode, ratios to direct, vaurien's ratio to old, and
    whether the target is met (by vaurien)."""
    med = {mode: median(vals) for mode, vals in m["rounds"].items()}
    d = med.get("direct")
    ratios = {}
    for mode in PROXIES:
        v = med.get(mode)
        ratios[mode] = (v / d) if (v is not None and d and m.get("show_ratio", True)) else None
    new, old = med.get(VAURIEN), med.get(OLD)
    met = x = None
    t = m.get("target")
    if t:
        if t.get("to"):
            base = med.get(t["to"])
            x = (new / base) if (new is not None and base) else None
        else:
            x = ratios[VAURIEN] if t["on"] == "ratio" else new
        if x is not None:
            met = (t.get("min") is None or x >= t["min"]) and (t.get("max") is None or x <= t["max"])
    return {"median": med, "ratio": ratios, "met": met, "checked": x,
            "new_over_old": (new / old) if (new is not None and old) else None}


def _fmt(x: float | None, decimals: int | None = None) -> str:
    if x is None:
        return "-"
    if decimals is not None:
        return f"{x:,.{decimals}f}"
    if float(x).is_integer() and abs(x) < 1000:
        return str(int(x))
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


#: Per proxy mode: its column's head and its ratio-to-direct column's head.
_HEADS = {VAURIEN: ("vaurien", "v/d"), OLD: ("old", "o/d"),
          "portforward": ("portfwd", "pf/d"), "haproxy": ("haproxy", "hp/d")}


def modes_in(metrics: list[dict]) -> list[str]:
    """The proxy modes any of C{metrics} has rounds of (vaurien always), in table order."""
    seen = {mode for m in metrics for mode in m["rounds"]}
    return [mode for mode in PROXIES if mode == VAURIEN or mode in seen]


def table(metrics: list[dict]) -> str:
    """Medians, ratios to direct, and with an old vaurien, C{v/o}: new / old."""
    modes = modes_in(metrics)
    head = ["bench", "metric", "unit", "direct"]
    for mode in modes:
        head += _HEADS[mode]
        if mode == OLD:
            head.append("v/o")
    head += ["target", "met"]
    rows = [head]
    for m in metrics:
        s = summarize(m)
        med, r = s["median"], s["ratio"]
        t = m.get("target")
        met = {True: "yes", False: "NO", None: "-" if not t else "?"}[s["met"]]
        if t and t.get("to") and s["checked"] is not None:
            met += f" ({_fmt(s['checked'])})"
        places = m.get("decimals")
        row = [m["bench"], m["name"], m["unit"], _fmt(med.get("direct"), places)]
        for mode in modes:
            row += [_fmt(med.get(mode), places), _fmt(r[mode])]
            if mode == OLD:
                row.append(_fmt(s["new_over_old"]))
        rows.append(row + [t["text"] if t else "", met])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    numbers = range(3, len(head) - 2)
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(c.rjust(w) if i in numbers else c.ljust(w)
                               for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def machine() -> dict:
    facts = {"platform": platform.platform(), "python": platform.python_version(),
             "cpus": os.cpu_count(), "node": platform.node()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    facts["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            facts["mem_total"] = f.readline().split(":", 1)[1].strip()
        facts["loadavg_at_start"] = os.getloadavg()
    except OSError:
        pass
    try:
        import twisted
        facts["twisted"] = twisted.__version__
    except ImportError:
        pass
    return facts


def commit(repo: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        head = out.stdout.strip() or None
        dirty = subprocess.run(["git", "-C", repo, "status", "--porcelain", "--", "vaurien"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return f"{head}+dirty" if head and dirty else head
    except (OSError, subprocess.SubprocessError):
        return None


def write_json(path: str, metrics: list[dict], run_facts: dict) -> None:
    doc = dict(run_facts)
    doc["metrics"] = [dict(m, summary=summarize(m)) for m in metrics]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
