"""blackout: the client is closed at once."""
from vaurien.handlers import Handler
from vaurien.handlers.base import NonBlockingHandler


@Handler.register
class Blackout(NonBlockingHandler):
    """Closes the client connection at once; nothing reaches the backend."""

    name = "blackout"
    options: dict[str, tuple] = {}

    def __call__(self, client_sock, backend_sock, to_backend):
        client_sock.close()
        backend_sock.close()
        return False
