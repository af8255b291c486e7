"""limit_data: so many bytes pass, then the connection is closed."""
from __future__ import annotations

from typing import Any, Mapping

from vaurien.toxics import Toxic
from vaurien.toxics.base import CLOSE, BaseToxic


@Toxic.register
class LimitData(BaseToxic):
    """Passes exactly C{bytes} bytes of this connection's direction, then
    closes the connection (what comes after is dropped)."""

    name = "limit_data"
    attributes = {"bytes": ("Bytes passed on before the connection is closed", int, 0)}

    def __init__(self, settings: Mapping[str, Any], output: Any):
        super().__init__(settings, output)
        self.passed = 0

    def data(self, chunk: bytes, read_at: float) -> None:
        if self.closed:
            return
        room = self.settings["bytes"] - self.passed
        if room > 0:
            piece = chunk[:room]
            self.passed += len(piece)
            self.output.data(piece, read_at)
        if self.passed >= self.settings["bytes"]:
            self.pass_end(CLOSE)
