"""slicer: chunks cut into small pieces, sent with a pause between them."""
from __future__ import annotations

from typing import Any, Mapping

from vaurien.toxics import Toxic
from vaurien.toxics.base import BaseToxic
from vaurien.toxics.timeline import Timeline


@Toxic.register
class Slicer(BaseToxic):
    """Cuts each chunk into pieces of C{average_size} bytes, give or take
    up to C{size_variation} (uniform, at least 1), and sends them
    C{delay} microseconds apart (C{average_size} 0: chunks pass whole)."""

    name = "slicer"
    attributes = {
        "average_size": ("Average size of a piece, in bytes; 0: no slicing", int, 0),
        "size_variation": ("Up to this many bytes more or less per piece", int, 0),
        "delay": ("Time between two pieces, in microseconds", int, 0),
    }

    def __init__(self, settings: Mapping[str, Any], output: Any):
        super().__init__(settings, output)
        self.timeline = Timeline(output)
        self.next_at = float("-inf")  # when the next piece may go

    @property
    def held(self) -> int:
        return self.timeline.held

    def data(self, chunk: bytes, read_at: float) -> None:
        average = self.settings["average_size"]
        variation = self.settings["size_variation"]
        delay = self.settings["delay"] / 1e6
        at = max(self.output.clock.seconds(), self.next_at)
        if not average:
            self.timeline.data(chunk, read_at, at)
            return
        start = 0
        while start < len(chunk):
            size = average
            if variation:
                size += self.output.random.randint(-variation, variation)
            size = max(1, size)
            self.timeline.data(chunk[start:start + size], read_at, at)
            start += size
            self.next_at = at = at + delay

    def end(self, how: str) -> None:
        self.timeline.end(how, self.output.clock.seconds())

    def remove(self) -> None:
        self.timeline.flush()
