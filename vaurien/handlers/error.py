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
        self.calls = 0

    def errs(self) -> bool:
        """Whether the call just counted in L{calls} gets an error."""
        return self.calls > self.option("warmup")

    def __call__(self, client_sock, backend_sock, to_backend):
        source, dest = self.sides(client_sock, backend_sock, to_backend)
        protocol = self.proxy.protocol
        if to_backend != protocol.per_call:
            return self.forward(source, dest)
        data, ended = self.drain(source)
        if data:
            self.calls += 1
            if not self.errs():
                dest.sendall(data)
            elif to_backend:
                client_sock.sendall(protocol.error_response(data))
            elif self.option("inject"):
                middle = len(data) // 2
                dest.sendall(data[:middle] + os.urandom(100) + data[middle:])
            else:
                dest.sendall(protocol.error_response(None))
        if ended:
            dest.shutdown(socket.SHUT_WR)
        return True
