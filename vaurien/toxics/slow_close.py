"""slow_close: data flows, the end of the stream is passed on late."""
from __future__ import annotations

from typing import Any, Mapping

from vaurien.toxics import Toxic
from vaurien.toxics.base import BaseToxic
from vaurien.toxics.timeline import Timeline


@Toxic.register
class SlowClose(BaseToxic):
    """Passes the data at once and the end of the stream (close,
    half-close or reset) C{delay} ms after it came."""

    name = "slow_close"
    attributes = {"delay": ("Time the end of the stream is held, in ms", int, 0)}

    def __init__(self, settings: Mapping[str, Any], output: Any):
        super().__init__(settings, output)
        self.timeline = Timeline(output)  # holds ends only: no bytes

    def data(self, chunk: bytes, read_at: float) -> None:
        self.timeline.data(chunk, read_at, self.output.clock.seconds())

    def end(self, how: str) -> None:
        self.timeline.end(how, self.output.clock.seconds() + self.ms("delay"))

    def remove(self) -> None:
        self.timeline.flush()
