"""delay: waits before the request or before the response."""
from vaurien.handlers import Handler
from vaurien.handlers.base import NonBlockingHandler
from vaurien.waiting import wait


@Handler.register
class Delay(NonBlockingHandler):
    """Waits C{sleep} seconds, then passes the data on.

    With C{before} (the default) the wait comes before the data goes to
    the backend; otherwise before the backend's answer goes to the client.
    The wait is on the proxy's clock (the reactor's): nothing blocks, and
    it ends on time (L{vaurien.waiting.wait}).
    """

    name = "delay"
    options = {
        "sleep": ("Delay in seconds", float, 1.0),
        "before": ("Wait before the backend is called (else after)", bool, True),
    }

    async def __call__(self, client_sock, backend_sock, to_backend):
        if to_backend == self.option("before"):
            await wait(self.proxy.clock, self.option("sleep"))
        return self.forward(*self.sides(client_sock, backend_sock, to_backend))
