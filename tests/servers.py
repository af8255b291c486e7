"""Test fixtures: Debian's redis-server and memcached as subprocesses on
free loopback ports, stopped by the test's cleanup."""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from typing import Any

from twisted.trial.unittest import SkipTest

from vaurien.util import end_process

#: How long a server may take to accept connections, in seconds.
READY_WITHIN = 10.0


def free_port() -> int:
    """A loopback TCP port nobody listens on (for now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(test: Any, argv: list[str], port: int) -> int:
    """Run C{argv}, wait until C{port} accepts connections, return it.

    @raise SkipTest: the server's binary is not installed.
    """
    if shutil.which(argv[0]) is None:
        raise SkipTest(f"{argv[0]} is not installed (Debian package {argv[0]!r})")
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def stop() -> None:
        end_process(process)
        assert process.stdout is not None
        process.stdout.close()

    test.addCleanup(stop)
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline:
        if process.poll() is not None:
            assert process.stdout is not None
            raise AssertionError(f"{argv[0]} ended at start:\n{process.stdout.read().decode()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return port
        except OSError:
            time.sleep(0.02)
    raise AssertionError(f"{argv[0]} did not listen on port {port} within {READY_WITHIN}s")


def start_redis(test: Any) -> int:
    """Start redis-server on a free loopback port, without persistence.

    @param test: the test whose cleanup stops it.
    @return: its port.
    """
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--daemonize", "no", "--dir", _directory(test)]
    return _start(test, argv, port)


def start_memcached(test: Any) -> int:
    """Start memcached on a free loopback port, UDP off, as the current
    user (memcached refuses root without C{-u}).

    @param test: the test whose cleanup stops it.
    @return: its port.
    """
    port = free_port()
    user = pwd.getpwuid(os.getuid()).pw_name
    argv = ["memcached", "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-u", user]
    return _start(test, argv, port)


def _directory(test: Any) -> str:
    """A fresh directory for the test's server files."""
    path = test.mktemp()
    os.makedirs(path)
    return path
