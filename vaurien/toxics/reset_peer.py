"""reset_peer: the connection is reset a while after the first data."""
from __future__ import annotations

from typing import Any

from vaurien.toxics import Toxic
from vaurien.toxics.base import HALF_CLOSE, RESET, BaseToxic


@Toxic.register
class ResetPeer(BaseToxic):
    """Drops every byte; C{timeout} ms after the first chunk came, resets
    the connection (the peer sees C{ECONNRESET})."""

    name = "reset_peer"
    attributes = {"timeout": ("Time from the first data to the reset, in ms", int, 0)}
    timer: Any = None

    def data(self, chunk: bytes, read_at: float) -> None:
        if self.timer is None and not self.closed:
            self.timer = self.output.clock.callLater(self.ms("timeout"), self.pass_end, RESET)

    def end(self, how: str) -> None:
        if how != HALF_CLOSE:
            self.remove()
        self.pass_end(how)

    def remove(self) -> None:
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
