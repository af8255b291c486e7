"""bandwidth: the direction passes at most C{rate} KB/s."""
from __future__ import annotations

from typing import Any, Mapping

from vaurien.toxics import Toxic
from vaurien.toxics.base import BaseToxic
from vaurien.toxics.timeline import Timeline

#: How much time one slice of a large chunk stands for, in seconds.
SLICE_TIME = 0.1


@Toxic.register
class Bandwidth(BaseToxic):
    """Passes at most C{rate} KB/s (1 KB = 1000 bytes; 0: no limit): a
    large chunk goes in slices of at most C{rate} x 100 ms, each when the
    ones before it had their time."""

    name = "bandwidth"
    attributes = {"rate": ("Most kilobytes (1000 bytes) a second; 0: no limit", int, 0)}

    def __init__(self, settings: Mapping[str, Any], output: Any):
        super().__init__(settings, output)
        self.timeline = Timeline(output)
        self.free_at = float("-inf")  # when the bytes sent so far had their time

    @property
    def held(self) -> int:
        return self.timeline.held

    def data(self, chunk: bytes, read_at: float) -> None:
        rate = self.settings["rate"] * 1000
        now = self.output.clock.seconds()
        if not rate:
            self.timeline.data(chunk, read_at, now)
            return
        size = max(1, int(rate * SLICE_TIME))
        for start in range(0, len(chunk), size):
            piece = chunk[start:start + size]
            at = max(now, self.free_at)
            self.free_at = at + len(piece) / rate
            self.timeline.data(piece, read_at, at)

    def end(self, how: str) -> None:
        self.timeline.end(how, self.output.clock.seconds())

    def remove(self) -> None:
        self.timeline.flush()
