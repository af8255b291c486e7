"""tcp with C{keep_alive} always on: the base of protocols the original
named without framing them (mysql, smtp)."""
from __future__ import annotations

from typing import Any, Mapping

from vaurien.protocols.tcp import TCP


class KeepAliveTCP(TCP):
    """Plain tcp whose settings always carry C{keep_alive=True}, whatever
    was configured or assigned."""

    options = {name: spec for name, spec in TCP.options.items() if name != "keep_alive"}

    @property
    def settings(self) -> dict[str, Any]:
        """The loaded options, C{keep_alive} forced on."""
        return self._settings

    @settings.setter
    def settings(self, value: Mapping[str, Any]) -> None:
        self._settings = {**value, "keep_alive": True}
