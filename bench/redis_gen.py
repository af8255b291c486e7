"""redis-gen (C{bench/redis_gen.c}): a redis load that goes on through error replies.

Built with the system C{cc} on first use (and again when the source is
newer than the binary) into C{bench/build/redis-gen}, which git ignores;
C{bench/install.sh} installs C{gcc} when there is no C{cc}.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile

from bench import processes

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "redis_gen.c")
BINARY = os.path.join(HERE, "build", "redis-gen")
#: Seconds given to compiling it.
BUILD_TIMEOUT = 120.0


def build() -> str:
    """The path of the built generator, compiled first if missing or stale."""
    if os.path.exists(BINARY) and os.path.getmtime(BINARY) >= os.path.getmtime(SOURCE):
        return BINARY
    os.makedirs(os.path.dirname(BINARY), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="redis-gen-", dir=os.path.dirname(BINARY))
    os.close(fd)
    try:
        done = subprocess.run(["cc", "-O2", "-Wall", "-o", tmp, SOURCE], capture_output=True,
                              text=True, timeout=BUILD_TIMEOUT)
        if done.returncode != 0:
            raise RuntimeError(f"cc could not build {SOURCE}:\n{done.stderr[-2000:]}")
        os.replace(tmp, BINARY)  # atomic: a concurrent run sees the old or the new one
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return BINARY


def argv(port: int, *, clients: int = 50, pipeline: int = 1, test: str = "get",
         count: int = 0, seconds: float = 10.0, keys: int = 1000, stall: float = 10.0,
         host: str = processes.HOST) -> list[str]:
    """The command line of one run (L{build} first)."""
    return [BINARY, "-h", host, "-p", str(port), "-c", str(clients), "-P", str(pipeline),
            "-t", test, "-n", str(count), "-d", str(seconds), "-k", str(keys),
            "-s", str(stall)]


def parse(out: str) -> dict:
    """Its JSON line: ops (error replies included), errors, nils, seconds,
    ops_per_s, stopped (C{count} or C{time})."""
    return json.loads(out)


def run(port: int, **options) -> dict:
    """One run, bounded: its seconds plus a minute. Raises L{RuntimeError}
    with its message when it fails (a connection refused or closed by the
    server, an unreadable reply, a stall, no reply at all)."""
    build()
    limit = options.get("seconds", 10.0) + 60.0
    return parse(processes.run(argv(port, **options), timeout=limit))
