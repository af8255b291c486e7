"""A backend for the examples: a TCP echo server on a thread, and a client
that sends a few bytes and reads their echo."""
import socket
import socketserver
import threading


class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(65536):
            self.request.sendall(data)


class EchoBackend:
    """An echo server on a free loopback port, until stop()."""

    def __init__(self):
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.address = f"127.0.0.1:{self.port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


def ping(port, message=b"ping"):
    """Send message to loopback port; what came back before the echo was
    whole or the connection ended (b"" when it was cut)."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        try:
            connection.sendall(message)
            while len(received) < len(message):
                chunk = connection.recv(65536)
                if not chunk:
                    break
                received += chunk
        except ConnectionError:
            pass
    return received
