"""error: the answer is replaced by an error."""
import os
import socket

from vaurien.handlers import Handler
from vaurien.handlers.base import NonBlockingHandler


@Handler.register
class Error(NonBlockingHandler):
    """Answers with an error instead of the backend's data.

    On a protocol that frames requests, the request is answered with that
    protocol's own error and never reaches the backend. On C{tcp}, as the
    original did, the request passes and the answer is replaced by 1,000
    random bytes (or, with C{inject}, 100 random bytes are slipped into
    the middle of it).

    C{warmup} lets that many calls pass untouched first. A call here is one
    the error would answer (a request on a framed protocol, a chunk of the
    backend's answer on tcp), counted across every connection of the proxy.
    """

    name = "error"
    options = {
        "inject": ("Inject errors inside valid data", bool, False),
        "warmup": ("Number of calls before erroring out", int, 0),
    }

    def __init__(self, settings=None, proxy=None):
        super().__init__(settings, proxy)
        self._calls = 0

    def _counts(self, to_backend: bool) -> int:
        """Count the call if it is one an error would answer: the request on
        a framed protocol, the backend's data on tcp.

        @return: the number of such calls so far, or 0 for any other call.
        """
        if to_backend != self.proxy.protocol.per_call:
            return 0
        self._calls += 1
        return self._calls

    def __call__(self, client_sock, backend_sock, to_backend):
        if self._counts(to_backend) > self.option("warmup"):
            return self.fail(client_sock, backend_sock, to_backend)
        return self.forward(*self.sides(client_sock, backend_sock, to_backend))

    def fail(self, client_sock, backend_sock, to_backend):
        """Answer this call with an error."""
        protocol = self.proxy.protocol
        if to_backend:
            if protocol.per_call:
                request, _ = self.drain(client_sock)
                client_sock.sendall(protocol.error_response(request))
                return True
            return self.forward(client_sock, backend_sock)
        data, ended = self.drain(backend_sock)
        if self.option("inject"):
            middle = len(data) // 2
            client_sock.sendall(data[:middle] + os.urandom(100) + data[middle:])
        elif data:
            client_sock.sendall(protocol.error_response(None))
        if ended:
            client_sock.shutdown(socket.SHUT_WR)
        return True
