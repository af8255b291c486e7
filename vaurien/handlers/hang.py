"""hang: reads what comes and never answers."""
from vaurien.handlers import Handler
from vaurien.handlers.base import NonBlockingHandler


@Handler.register
class Hang(NonBlockingHandler):
    """Swallows the client's data and never answers, like a server stopped
    in a debugger.

    The connection stays open until the client closes it; the proxy's
    idle C{timeout} does not close it.
    """

    name = "hang"
    options: dict[str, tuple] = {}
    #: The proxy's idle timeout leaves a hung connection alone.
    holds_connection = True

    def __call__(self, client_sock, backend_sock, to_backend):
        source, _ = self.sides(client_sock, backend_sock, to_backend)
        _, ended = self.drain(source)
        return not (ended and to_backend)
