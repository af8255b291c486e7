"""dummy: every byte passes untouched."""
from vaurien.handlers import Handler
from vaurien.handlers.base import NonBlockingHandler


@Handler.register
class Dummy(NonBlockingHandler):
    """Passes every byte on, in both directions, unaltered.

    With nothing else in play the proxy does not even call it: the two
    connections are joined directly (C{passthrough}).
    """

    name = "dummy"
    options: dict[str, tuple] = {}
    #: The proxy may join the connections without calling this handler.
    passthrough = True

    def __call__(self, client_sock, backend_sock, to_backend):
        return self.forward(*self.sides(client_sock, backend_sock, to_backend))
