"""Flow control: pausing a transport's reading for more than one reason."""
from __future__ import annotations

from typing import Any

from zope.interface import implementer
from twisted.internet.interfaces import IPushProducer


@implementer(IPushProducer)
class PauseGate:
    """Pauses a transport while any reason holds, resumes when none does.

    The connection set-up, a full buffer of our own and a peer whose
    write buffer is full each pause the same transport; a plain
    pause/resume pair would let one of them resume what another paused.

    The gate is also the producer registered on the peer's transport:
    a peer that cannot keep up pauses this side's reading ("peer-full").
    A gate may exist before its transport (the backend's, while it
    connects): reasons then only wait for it.
    """

    __slots__ = ("transport", "_reasons")  # one per side: no dict each

    def __init__(self, transport: Any = None):
        self.transport = transport
        self._reasons: tuple[str, ...] = ()  # the empty tuple is shared: nothing per gate

    @property
    def paused(self) -> bool:
        """Whether any reason holds the transport's reading."""
        return bool(self._reasons)

    def attach(self, transport: Any) -> None:
        """Gate a (new) transport, reading: no reason holds it yet."""
        self.transport = transport
        self._reasons = ()

    def detach(self) -> None:
        """Forget a transport that is gone."""
        self.transport = None
        self._reasons = ()

    def release(self) -> None:
        """Let the transport go, reading (it serves another connection now)."""
        if self._reasons and self.transport is not None:
            self.transport.resumeProducing()
        self.detach()

    def pause(self, reason: str) -> None:
        """Stop reading for C{reason}."""
        if reason in self._reasons:
            return
        if not self._reasons and self.transport is not None:
            self.transport.pauseProducing()
        self._reasons += (reason,)

    def resume(self, reason: str) -> None:
        """Drop C{reason}; read again when it was the last one."""
        if reason in self._reasons:
            self._reasons = tuple(held for held in self._reasons if held != reason)
            if not self._reasons and self.transport is not None:
                self.transport.resumeProducing()

    def pauseProducing(self) -> None:
        """The peer's write buffer is full."""
        self.pause("peer-full")

    def resumeProducing(self) -> None:
        """The peer's write buffer drained."""
        self.resume("peer-full")

    def stopProducing(self) -> None:
        """The peer is gone; the connection decides what becomes of this side."""
