"""Start and stop the benchmarks' servers and proxies on free loopback ports.

Every wait here is bounded: a process that does not listen within its
readiness timeout is killed and reported, never waited on forever.
"""
from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.compare import Tree

HOST = "127.0.0.1"
#: Seconds a started server has to accept a connection.
READY_TIMEOUT = 15.0

#: Runs vaurien's console script after raising the soft open-files limit
#: to the hard one (vaurien may not raise it itself).
_VAURIEN_WRAPPER = (
    "import resource, sys\n"
    "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
    "resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))\n"
    "from vaurien.script import main\n"
    "main(sys.argv[1:])\n"
)


def raise_nofile() -> int:
    """Raise this process's soft open-files limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen | None = None,
                   timeout: float = READY_TIMEOUT) -> None:
    """Wait until C{port} accepts a connection, at most C{timeout} seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before listening")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {HOST}:{port} after {timeout}s")


def wait_bound(port: int, proc: subprocess.Popen | None = None,
               timeout: float = READY_TIMEOUT) -> None:
    """Wait until a socket is in LISTEN on C{port}, without connecting to it.

    For servers that count every connection (C{iperf3 -s -1} serves one).
    """
    needle = f":{port:04X} "
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before listening")
        with open("/proc/net/tcp") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 3 and (fields[1] + " ").endswith(needle) and fields[3] == "0A":
                    return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {HOST}:{port} after {timeout}s")


class Process:
    """A child process, stopped with SIGTERM then SIGKILL (bounded)."""

    def __init__(self, name: str, argv: list[str], port: int | None = None,
                 ready: bool | str = True, files: tuple[str, ...] = (), **popen):
        """
        @param files: paths the process reads (its config), removed when
            it stops.
        """
        self.name = name
        self.port = port
        self.files = list(files)
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, **popen)
        if port is not None and ready:
            try:
                if ready == "bound":
                    wait_bound(port, self.proc)
                else:
                    wait_listening(port, self.proc)
            except Exception:
                self.stop()
                raise RuntimeError(f"{name} did not start: {self.tail()}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tail(self, n: int = 2000) -> str:
        try:
            with open(self.log.name, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self.log.close()
        for path in [self.log.name] + self.files:
            try:
                os.unlink(path)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def vaurien(backend_port: int, protocol: str = "tcp", handler: str = "100:dummy", *,
            extra: list[str] | None = None, port: int | None = None,
            tree: Tree | None = None) -> Process:
    """Start vaurien as a subprocess in front of C{backend_port}.

    @param tree: the checkout whose vaurien runs (C{--compare}); by
        default the one this process imports.
    """
    port = port or free_port()
    argv = [sys.executable, "-c", _VAURIEN_WRAPPER,
            "--proxy", f"{HOST}:{port}", "--backend", f"{HOST}:{backend_port}",
            "--protocol", protocol, "--handler", handler, "--log-level", "warning"]
    argv += extra or []
    name = f"vaurien-{protocol}" if tree is None or tree.path is None else \
        f"vaurien-{tree.commit[:12]}-{protocol}"
    return Process(name, argv, port, **(tree.popen_options() if tree else {}))


def portforward(backend_port: int, port: int | None = None) -> Process:
    """Start Twisted's own portforward (the reference proxy)."""
    port = port or free_port()
    argv = [sys.executable, "-m", "bench.portforward", str(port), str(backend_port)]
    return Process("portforward", argv, port, cwd=_repo_root())


_HAPROXY = """\
global
    nbthread 1
    maxconn 9000
defaults
    mode {mode}
    timeout connect 5s
    timeout client 10m
    timeout server 10m
frontend proxy
    bind {host}:{port}
    default_backend backend
backend backend
    server only {host}:{backend}
"""


def haproxy(backend_port: int, mode: str = "tcp", port: int | None = None) -> Process:
    """Start HAProxy from Debian in front of C{backend_port}: one thread,
    as vaurien runs in one process, in C{mode} tcp or http."""
    port = port or free_port()
    fd, conf = tempfile.mkstemp(prefix="bench-haproxy-", suffix=".cfg")
    with os.fdopen(fd, "w") as f:
        f.write(_HAPROXY.format(mode=mode, host=HOST, port=port, backend=backend_port))
    return Process("haproxy", [which("haproxy") or "haproxy", "-db", "-f", conf], port,
                   files=(conf,))


def helper(kind: str, port: int | None = None) -> Process:
    """Start one of bench/servers.py's tiny servers (echo, hold)."""
    port = port or free_port()
    argv = [sys.executable, "-m", "bench.servers", kind, str(port)]
    return Process(f"server-{kind}", argv, port, cwd=_repo_root())


def _repo_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_kib(pid: int) -> int:
    """VmRSS of process C{pid} in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def nofile_limit(pid: int) -> int:
    """The soft open-files limit of process C{pid}."""
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    return 0


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def which(tool: str) -> str | None:
    found = shutil.which(tool)
    if found:
        return found
    for d in ("/usr/sbin", "/sbin", "/usr/bin"):
        p = os.path.join(d, tool)
        if os.access(p, os.X_OK):
            return p
    return None


@contextmanager
def tempdir(prefix: str):
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run(argv: list[str], timeout: float) -> str:
    """Run a load tool to completion, bounded by C{timeout}; its stdout."""
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, timeout=timeout, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {done.returncode}: {done.stderr[-1000:]}")
    return done.stdout
