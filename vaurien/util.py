"""The original's test helpers: L{start_proxy} runs C{vaurien} as a
subprocess for a test suite, L{stop_proxy} ends it.

They block (they are for synchronous test code, as the original's were);
code on a running reactor wants L{vaurien.testing.trial.run_proxy}.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from typing import Sequence

#: Seconds a starting proxy gets at least to accept connections, and a
#: stopping one to end after SIGTERM.
READY_WITHIN = 10.0

_PROXIES: dict[int, subprocess.Popen] = {}


def start_proxy(
    proxy_host: str = "localhost",
    proxy_port: int = 8000,
    backend_host: str = "localhost",
    backend_port: int = 8888,
    protocol: str = "tcp",
    http: bool = True,
    warmup: float = 2,
    http_host: str = "localhost",
    http_port: int = 8080,
    options: Sequence[str] | None = None,
    log_level: str = "info",
    log_output: str = "-",
) -> int:
    """Start C{vaurien} with these settings; return its process id once it
    accepts connections (and its control API too, with C{http}).

    @param options: more command-line arguments (C{["--handler", "20:delay"]}).
    @param warmup: the original slept this long; here the call returns as
        soon as the proxy is ready, and gives up after C{warmup} or
        L{READY_WITHIN} seconds, whichever is longer.
    @raise ValueError: when the proxy ended at start or was not ready in
        time (the original's exception); its messages are on its standard
        error.
    """
    arguments = [
        "--proxy", f"{proxy_host}:{proxy_port}",
        "--backend", f"{backend_host}:{backend_port}",
        "--protocol", protocol,
        "--log-level", log_level,
        "--log-output", log_output,
    ]
    ready = [(proxy_host, proxy_port)]
    if http:
        arguments += ["--http", "--http-host", http_host, "--http-port", str(http_port)]
        ready.append((http_host, http_port))
    process = spawn_vaurien(arguments + list(options or ()), ready, max(warmup, READY_WITHIN))
    _PROXIES[process.pid] = process
    return process.pid


def stop_proxy(pid: int) -> None:
    """Stop the proxy L{start_proxy} started as C{pid} and wait for its end.

    @raise ValueError: when C{pid} is not such a proxy (the original's
        exception).
    """
    try:
        process = _PROXIES.pop(pid)
    except KeyError:
        raise ValueError(f"no proxy started by start_proxy has process id {pid}") from None
    end_process(process)


def spawn_vaurien(
    arguments: Sequence[str], ready: Sequence[tuple[str, int]], within: float = READY_WITHIN
) -> subprocess.Popen:
    """Run C{python -m vaurien ARGUMENTS}; return once each address in
    C{ready} accepts TCP connections.

    @param within: seconds to wait at most.
    @raise ValueError: when it ended, or was not ready in time (it is then
        stopped).
    """
    process = subprocess.Popen([sys.executable, "-m", "vaurien", *arguments])
    deadline = time.monotonic() + within
    waiting = list(ready)
    while waiting:
        status = process.poll()
        if status is not None:
            raise ValueError(
                f"vaurien ended at start with status {status}; see its standard error."
            )
        if time.monotonic() > deadline:
            end_process(process)
            raise ValueError(
                f"vaurien did not accept connections at {waiting[0][0]}:{waiting[0][1]}"
                f" within {within:g} seconds."
            )
        try:
            socket.create_connection(waiting[0], timeout=1).close()
            waiting.pop(0)
        except OSError:
            time.sleep(0.05)
    return process


def end_process(process: subprocess.Popen) -> None:
    """SIGTERM C{process} and wait for its end: L{READY_WITHIN} seconds,
    then SIGKILL."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(READY_WITHIN)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
