"""A scripted client and a scripted server over real loopback sockets, for
differential tests: the same L{tests.peer_scripts.Script} played against
the server directly and through a proxy must leave the client with the
same observations.

Both peers are plain blocking sockets in threads, so their behaviour is
the script's and nothing else's; every wait is bounded. The client does
not know what it should get: the direct run is the reference. The model
in L{Script.expected} only tells the direct run how long to wait (so that
no run waits for a quiet period after each round); the proxied run then
waits for what the direct run got.
"""
from __future__ import annotations

import errno
import fcntl
import socket
import struct
import termios
import threading
import time

import h11

from tests.peer_scripts import Script, Seen

#: Longest wait for bytes or an end that should come (seconds).
HARD = 2.0
#: How long the client keeps listening, at the end of the script, for
#: bytes or an end that should not come.
QUIET = 0.15
#: Pause between the pieces of one side's writes, so that they arrive as
#: separate reads.
PIECE_PAUSE = 0.002


def _send_in_pieces(sock: socket.socket, data: bytes, cuts: tuple[int, ...]) -> None:
    start = 0
    for cut in (*cuts, len(data)):
        if cut > start:
            if start:
                time.sleep(PIECE_PAUSE)
            sock.sendall(data[start:cut])
            start = cut


def _wait_sent(sock: socket.socket) -> None:
    """Wait (bounded) until the peer has acknowledged every byte written:
    a reset drops what is still queued, so without this what the peer
    gets before the reset would depend on timing."""
    deadline = time.monotonic() + HARD
    while time.monotonic() < deadline:
        queued = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, struct.pack("i", 0))
        if struct.unpack("i", queued)[0] == 0:
            return
        time.sleep(0.002)


def _reset(sock: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class _Connection:
    """One accepted connection: what it received and whether it ended."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.received = bytearray()
        self.ended = False
        self.done = threading.Event()

    def read(self, until: int) -> bool:
        """Read until C{until} bytes have come in all; C{False} on the end
        of the stream, a reset or a timeout."""
        while len(self.received) < until:
            if not self.read_some():
                return False
        return True

    def read_some(self) -> bool:
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            self.ended = True
            return False
        if not data:
            self.ended = True
            return False
        self.received += data
        return True

    def drain(self) -> None:
        """Read until the client leaves (bounded)."""
        while self.read_some():
            pass

    def play(self, script: Script | None) -> None:
        """The server's side of C{script}; C{None}: only read."""
        try:
            self.sock.settimeout(HARD)
            self._play(script)
        except OSError:
            pass
        finally:
            if self.sock.fileno() != -1:
                self.sock.close()
            self.done.set()

    def _play(self, script: Script | None) -> None:
        wanted = 0
        for exchange in script.exchanges if script is not None else ():
            wanted += len(exchange.request)
            if not self.read(wanted):
                return
            _send_in_pieces(self.sock, exchange.reply, exchange.cuts)
            if exchange.end == "reset":
                _wait_sent(self.sock)
                _reset(self.sock)
                self.ended = True
                return
            if exchange.end is not None:
                self.sock.shutdown(socket.SHUT_WR)
                break
        self.drain()


class ScriptedServer:
    """A loopback server that plays the current script's server side on
    the first connection of each run and only reads on any other."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.script: Script | None = None
        self.connections: list[_Connection] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            # No Nagle: a piece written just before a reset is sent, not
            # held for an ACK and discarded by the reset.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = _Connection(sock)
            with self._lock:
                first = not self.connections
                self.connections.append(connection)
            script = self.script if first else None
            threading.Thread(target=connection.play, args=(script,), daemon=True).start()

    def begin(self, script: Script) -> None:
        """Play C{script} on the next connection."""
        with self._lock:
            self.script = script
            self.connections = []

    def finish(self) -> tuple[bytes, bool, tuple[bytes, ...]]:
        """Wait (bounded) for this run's connections to end; what the first
        received, whether it ended, what the others received."""
        deadline = time.monotonic() + HARD + 0.5
        with self._lock:
            connections = list(self.connections)
        for connection in connections:
            connection.done.wait(max(0.0, deadline - time.monotonic()))
        if not connections:
            return b"", False, ()
        first = connections[0]
        return (bytes(first.received), first.ended,
                tuple(bytes(c.received) for c in connections[1:]))

    def stop(self) -> None:
        self._stopping.set()
        self.listener.close()
        self._thread.join(1.0)


def _observe(sock: socket.socket, want: int, want_state: str, state: str,
             quiet: float) -> tuple[bytes, str]:
    """Read until C{want} bytes and C{want_state} have come (or L{HARD}
    has passed), then for C{quiet} seconds more unless the stream ended."""
    data = bytearray()
    deadline = time.monotonic() + HARD
    while state == "open":
        satisfied = len(data) >= want and want_state == "open"
        remaining = deadline - time.monotonic()
        wait = min(quiet, remaining) if satisfied else remaining
        if wait <= 0:
            break
        sock.settimeout(wait)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            return bytes(data), "reset"
        except OSError as e:
            return bytes(data), f"recv failed ({_errno_name(e)})"
        if not chunk:
            state = "eof"
        data += chunk
    return bytes(data), state


def _errno_name(error: OSError) -> str:
    return errno.errorcode.get(error.errno or 0, str(error.errno))


def play_client(script: Script, port: int, expected: list[tuple[int, str]]) -> tuple:
    """The client's side of C{script} against C{127.0.0.1:port}; per
    round, what it received and the state of the stream after it."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=HARD)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rounds: list[tuple[bytes, str]] = []
    state = "open"
    try:
        for index, round_ in enumerate(script.rounds):
            if state != "open" and not (state == "eof" and script.talks_after_eof):
                break
            last = index == len(script.rounds) - 1
            failed = ""
            try:
                _send_in_pieces(sock, round_.payload, round_.cuts)
            except OSError as e:
                failed = f"send failed ({_errno_name(e)}), then "
            if last and script.half_close and not failed:
                try:
                    sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass  # the server reset first (racing the shutdown): reading shows it
            want, want_state = expected[index] if index < len(expected) else (0, "open")
            data, state = _observe(sock, want, want_state, state, QUIET if last else 0.0)
            rounds.append((data, failed + state))
            if failed:
                break
    finally:
        if script.finish == "reset":
            _wait_sent(sock)
            _reset(sock)
        else:
            sock.close()
    return tuple(rounds)


def run(script: Script, server: ScriptedServer, port: int,
        reference: Seen | None = None) -> Seen:
    """Play C{script} with the client connecting to C{port} (the server's
    own, or a proxy's in front of it). Without C{reference}, the model
    says how long to wait; with it, what the reference run got."""
    if reference is None:
        expected = script.expected()
    else:
        expected = [(len(data), state) for data, state in reference.rounds]
    server.begin(script)
    rounds = play_client(script, port, expected)
    received, ended, others = server.finish()
    return Seen(rounds, received, ended, others)


#: A GET of C{/page/N} (C{GET % n}).
GET = b"GET /page/%d HTTP/1.1\r\nHost: example.test\r\n\r\n"


def pipelined_answers(port: int, count: int) -> tuple[bytes, int]:
    """Send C{count} GETs in one write, read until that many answers have
    come (or L{HARD} has passed); the raw bytes and how many answers."""
    parser = h11.Connection(h11.CLIENT)
    answers, raw = 0, bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=HARD) as sock:
        sock.sendall(b"".join(GET % n for n in range(count)))
        try:
            for answers in range(count):
                parser.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
                parser.send(h11.EndOfMessage())
                while not isinstance(event := parser.next_event(), h11.EndOfMessage):
                    if event is h11.NEED_DATA:
                        data = sock.recv(65536)
                        if not data:
                            return bytes(raw), answers
                        raw += data
                        parser.receive_data(data)
                parser.start_next_cycle()
            answers = count
        except socket.timeout:
            pass
    return bytes(raw), answers
