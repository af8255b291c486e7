"""Opening a connection's backend side: the connect (bounded by the
proxy's timeout, cancelled when the client leaves meanwhile), joining the
two sides once it is made, and a backend that cannot be reached."""
from __future__ import annotations

from typing import Any

from twisted.python.failure import Failure

from vaurien.proxy.flow import PauseGate


class OpensTheBackend:
    """The opening part of L{vaurien.proxy.relay.Relay}."""

    def start(self) -> None:
        """Open the backend connection. Meanwhile the client is read into
        its wrapper (up to C{max_buffer}), so that its leaving is seen and
        the connect cancelled at once."""
        self.log.info(
            "{proxy}: {peer} connected, {handling}",
            proxy=self.proxy.name, peer=self.peer, handling=self._handler_label(),
        )
        self._idle.start()
        self._connect_backend()

    def _connect_backend(self) -> None:
        connecting = self.proxy.connect_backend(self)
        if not connecting.called:  # a reused connection is attached at once
            self._connecting = connecting
        connecting.addErrback(self._backend_failed)

    def backend_connected(self, backend_side: Any) -> None:
        """The backend accepted: pass bytes both ways from now on."""
        self._connecting = None
        self.backend_side = backend_side
        transport = backend_side.transport
        if self.closed:
            transport.loseConnection()
            return
        client_transport = self.client.transport
        self.backend.attach(transport)
        self.backend_gate = PauseGate(transport)
        if client_transport.producer is not None:
            client_transport.unregisterProducer()
        client_transport.registerProducer(self.backend_gate.producer_for_peer(), True)
        transport.registerProducer(self.client_gate.producer_for_peer(), True)
        self.passthrough = self._joins_directly()
        if self.passthrough and self.client.buffered:
            transport.write(self.client.recv(self.client.buffered))
        self._run_calls()

    def _backend_failed(self, failure: Failure) -> None:
        self._connecting = None
        if not self.closed:
            self._note_backend_failure(failure)
            self.close()

    def _note_backend_failure(self, failure: Failure) -> None:
        self.proxy.backend_failed()
        self.log.warn(
            "{proxy}: backend {backend} unreachable for {peer}: {reason}",
            proxy=self.proxy.name, backend=self.proxy.settings.backend,
            peer=self.peer, reason=failure.getErrorMessage() or failure.type.__name__,
        )
