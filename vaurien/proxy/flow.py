"""Flow control: pausing a transport's reading for more than one reason."""
from __future__ import annotations

from typing import Any

from zope.interface import implementer
from twisted.internet.interfaces import IPushProducer


class PauseGate:
    """Pauses a transport while any reason holds, resumes when none does.

    The connection set-up, a full buffer of our own and a peer whose
    write buffer is full each pause the same transport; a plain
    pause/resume pair would let one of them resume what another paused.
    """

    __slots__ = ("transport", "_reasons", "paused")

    def __init__(self, transport: Any):
        self.transport = transport
        self._reasons: list[str] = []  # few, and a list is smaller than a set
        #: Whether any reason holds the transport's reading.
        self.paused = False

    def pause(self, reason: str) -> None:
        """Stop reading for C{reason}."""
        if not self._reasons:
            self.paused = True
            self.transport.pauseProducing()
        if reason not in self._reasons:
            self._reasons.append(reason)

    def resume(self, reason: str) -> None:
        """Drop C{reason}; read again when it was the last one."""
        if reason in self._reasons:
            self._reasons.remove(reason)
            if not self._reasons:
                self.paused = False
                self.transport.resumeProducing()

    def producer_for_peer(self) -> "PeerFullProducer":
        """A producer to register on the other side's transport, so that
        a peer that cannot keep up pauses this side's reading."""
        return PeerFullProducer(self)


@implementer(IPushProducer)
class PeerFullProducer:
    """What the peer's transport pauses when its write buffer is full."""

    def __init__(self, gate: PauseGate):
        self._gate = gate

    def pauseProducing(self) -> None:
        self._gate.pause("peer-full")

    def resumeProducing(self) -> None:
        self._gate.resume("peer-full")

    def stopProducing(self) -> None:
        """The peer is gone; the connection decides what becomes of this side."""
