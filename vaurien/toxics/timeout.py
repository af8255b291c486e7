"""timeout: nothing passes, and the connection is closed a while later."""
from __future__ import annotations

from typing import Any, Mapping

from vaurien.toxics import Toxic
from vaurien.toxics.base import CLOSE, HALF_CLOSE, BaseToxic


@Toxic.register
class Timeout(BaseToxic):
    """Drops every byte, and closes the connection C{timeout} ms after it
    started acting or after the last chunk came, whichever is later. With
    C{timeout} 0 the connection is held, its data dropped, until the toxic
    is removed, which closes it (as Toxiproxy does for any C{timeout})."""

    name = "timeout"
    holds_connection = True
    attributes = {
        "timeout": ("Time after which the connection is closed, in ms; 0: held"
                    " until the toxic is removed", int, 0),
    }

    def __init__(self, settings: Mapping[str, Any], output: Any):
        super().__init__(settings, output)
        self.timer: Any = None
        self.arm()

    def arm(self) -> None:
        """Start the timer again (none with C{timeout} 0)."""
        self.disarm()
        if self.settings["timeout"] and not self.closed:
            self.timer = self.output.clock.callLater(self.ms("timeout"), self.pass_end, CLOSE)

    def disarm(self) -> None:
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None

    def data(self, chunk: bytes, read_at: float) -> None:
        self.arm()

    def end(self, how: str) -> None:
        if how != HALF_CLOSE:  # after a half-close, the timer goes on
            self.disarm()
        self.pass_end(how)

    def update(self, settings: Mapping[str, Any]) -> None:
        changed = settings["timeout"] != self.settings["timeout"]
        super().update(settings)
        if changed:
            self.arm()

    def remove(self) -> None:
        self.disarm()
        self.pass_end(CLOSE)

