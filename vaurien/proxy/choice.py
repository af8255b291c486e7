"""Choosing a handler for a call, by the configured shares."""
from __future__ import annotations

import bisect
import random
from typing import Any, Sequence


class HandlerChoice:
    """Picks among weighted entries: C{20:delay,5:error} gives C{delay} to
    20% of the calls, C{error} to 5%, and the rest to C{dummy}.

    @ivar entries: what is chosen among, each with a C{percent}.
    """

    def __init__(self, entries: Sequence[Any], seed: int | None = None):
        """
        @param entries: objects with a C{percent}; the shares add up to 100.
        @param seed: seed of the random sequence, for repeatable runs.
        """
        self.entries = [entry for entry in entries if entry.percent > 0]
        self._bounds = []
        total = 0
        for entry in self.entries:
            total += entry.percent
            self._bounds.append(total)
        self._total = total
        self._random = random.Random(seed)

    def choose(self) -> Any:
        """The entry for the next call."""
        if len(self.entries) == 1:
            return self.entries[0]
        point = self._random.random() * self._total
        return self.entries[bisect.bisect_right(self._bounds, point)]

    def run_of(self, entry: Any) -> tuple[int, Any]:
        """Draw until an entry other than C{entry} comes: how many calls
        drew C{entry} before it, and that entry (the draws L{choose} would
        make, in the same order)."""
        count = 0
        while (drawn := self.choose()) is entry:
            count += 1
        return count, drawn
