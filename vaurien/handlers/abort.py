"""abort: the connection is cut between request and response."""
from vaurien.handlers import Handler
from vaurien.handlers.base import NonBlockingHandler


@Handler.register
class Abort(NonBlockingHandler):
    """Passes the request to the backend; when the answer comes, drops it
    and cuts both connections (the backend's with a reset).
    """

    name = "abort"
    options: dict[str, tuple] = {}

    def __call__(self, client_sock, backend_sock, to_backend):
        if to_backend:
            return self.forward(client_sock, backend_sock)
        backend_sock.abort()
        client_sock.close()
        return False
