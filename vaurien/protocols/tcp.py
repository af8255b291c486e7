"""tcp: frames nothing; one handler serves the whole connection."""
import os
from typing import Any

from zope.interface import implementer

from vaurien.interfaces import IProtocol
from vaurien.protocols import Protocol


@Protocol.register
@implementer(IProtocol)
class TCP:
    """Plain TCP: a call is whatever chunk arrived, and the handler is
    chosen once per connection.

    An error in tcp's language is random bytes, as the original sent.
    """

    name = "tcp"
    options = {
        "keep_alive": (
            "Keep the client connected when the backend closes; its next"
            " data opens a new backend connection",
            bool,
            False,
        ),
        "reuse_socket": (
            "Keep a backend connection whose client left, for the next client",
            bool,
            False,
        ),
        "buffer": ("Bytes read from a socket at a time", int, 65536),
    }
    per_call = False

    def __init__(self, settings: dict[str, Any] | None = None):
        self.settings = dict(settings or {})

    def framing(self):
        """tcp frames nothing: the proxy never asks (C{per_call} is false)."""
        raise NotImplementedError("tcp does not frame; per_call is False")

    def unavailable_response(self, request: bytes | None) -> None:
        """Nothing: a client of a dead backend is closed."""
        return None

    def error_response(self, request: bytes | None) -> bytes:
        """1,000 random bytes."""
        return os.urandom(1000)
