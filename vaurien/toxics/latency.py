"""latency: each chunk held a while from when the proxy read it."""
from __future__ import annotations

from typing import Any, Mapping

from vaurien.toxics import Toxic
from vaurien.toxics.base import BaseToxic
from vaurien.toxics.timeline import Timeline


@Toxic.register
class Latency(BaseToxic):
    """Holds each chunk C{latency} ms, give or take up to C{jitter} ms
    (uniform), from the moment the proxy read it; the order of the bytes
    and the end of the stream after them are kept."""

    name = "latency"
    attributes = {
        "latency": ("Time each chunk is held, in ms", int, 0),
        "jitter": ("Up to this many ms more or less, uniform, per chunk", int, 0),
    }

    def __init__(self, settings: Mapping[str, Any], output: Any):
        super().__init__(settings, output)
        self.timeline = Timeline(output)

    @property
    def held(self) -> int:
        return self.timeline.held

    def data(self, chunk: bytes, read_at: float) -> None:
        delay = self.ms("latency")
        jitter = self.ms("jitter")
        if jitter:
            delay += self.output.random.uniform(-jitter, jitter)
        self.timeline.data(chunk, read_at, read_at + max(delay, 0.0))

    def end(self, how: str) -> None:
        self.timeline.end(how, self.output.clock.seconds())

    def remove(self) -> None:
        self.timeline.flush()
