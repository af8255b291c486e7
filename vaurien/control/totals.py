"""The counters of several processes (C{--workers N}) as one: what
C{GET /stats} and C{GET /metrics} answer."""
from __future__ import annotations

from typing import Any, Mapping, Sequence


def summed(readings: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One proxy's C{stats()} read in several processes, as one.

    Numbers are added, key by key down nested mappings (a handler counted
    in one process only is kept); words (C{behavior}, C{backend},
    C{protocol}) are the first reading's, as every process has the same.
    """
    total: dict[str, Any] = {}
    for reading in readings:
        for key, value in reading.items():
            if key not in total:
                total[key] = summed([value]) if isinstance(value, Mapping) else value
            elif isinstance(value, Mapping):
                total[key] = summed([total[key], value])
            elif _is_number(value) and _is_number(total[key]):
                total[key] += value
    return total


def totals(readings: Sequence[Mapping[str, Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Every proxy's counters over several processes.

    @param readings: for each process, proxy name to its C{stats()}; the
        first process's first (its proxies, in their order, are the ones
        answered).
    """
    return {name: summed([reading[name] for reading in readings if name in reading])
            for name in readings[0]}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
