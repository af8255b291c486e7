"""What a toxic holds back: chunks and ends passed on in order, each not
before its time, on one timer of the proxy's clock."""
from __future__ import annotations

from collections import deque
from typing import Any


class Timeline:
    """A queue of chunks and ends, each with the time it may go.

    Times never go back: an item due before the one ahead of it waits for
    it, so the order is kept. What is due now passes at once.

    @ivar held: the bytes queued.
    """

    __slots__ = ("output", "held", "last", "_items", "_timer")

    def __init__(self, output: Any):
        """
        @param output: where items go (L{vaurien.interfaces.IToxicOutput}).
        """
        self.output = output
        self.held = 0
        #: The time of the last item queued.
        self.last = float("-inf")
        self._items: deque[tuple[float, bytes | None, Any]] = deque()
        self._timer: Any = None

    def data(self, chunk: bytes, read_at: float, due: float) -> None:
        """Pass C{chunk} on at C{due} (or after what is ahead of it)."""
        self.held += len(chunk)
        self._queue((max(due, self.last), chunk, read_at))

    def end(self, how: str, due: float) -> None:
        """Pass the end C{how} on at C{due}, after what is ahead of it."""
        self._queue((max(due, self.last), None, how))

    def flush(self) -> None:
        """Pass on everything queued, now."""
        self.cancel()
        self._pass(float("inf"))

    def cancel(self) -> None:
        """Stop the timer; what is queued stays."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _queue(self, item: tuple[float, bytes | None, Any]) -> None:
        self.last = item[0]
        self._items.append(item)
        if self._timer is None:
            self._run()

    def _run(self) -> None:
        self._timer = None
        clock = self.output.clock
        self._pass(clock.seconds())
        if self._items and self._timer is None:
            self._timer = clock.callLater(max(0.0, self._items[0][0] - clock.seconds()), self._run)

    def _pass(self, now: float) -> None:
        items = self._items
        while items and items[0][0] <= now:
            _, chunk, detail = items.popleft()
            if chunk is None:
                self.output.end(detail)
            else:
                self.held -= len(chunk)
                self.output.data(chunk, detail)
