"""Test fixtures: the C{vaurien} command and C{twistd vaurien} as real
subprocesses, run from this source tree."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.utils import getProcessOutputAndValue

#: The top of the source tree: its vaurien package and twisted/plugins.
SOURCE_TREE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

VAURIEN = [sys.executable, "-m", "vaurien"]
TWISTD = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]


def environment() -> dict[str, str]:
    """The test's environment, with this source tree first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [SOURCE_TREE, env.get("PYTHONPATH")]))
    return env


def run(argv: list[str]) -> Deferred:
    """Run C{argv} to its end; fires with C{(stdout, stderr, status)}, as text."""
    d = getProcessOutputAndValue(argv[0], argv[1:], env=environment(), path=SOURCE_TREE)
    return d.addCallback(lambda r: (r[0].decode(), r[1].decode(), r[2]))


def python_output(script: str, timeout: float = 20) -> str:
    """What a Python C{script} prints, run from this source tree, where a
    crash or a hang must not take the test run with it.

    @raise AssertionError: it did not exit 0 within C{timeout} seconds.
    """
    try:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=timeout, env=environment(), cwd=SOURCE_TREE)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"no end within {timeout} s:\n{script}") from None
    if done.returncode:
        raise AssertionError(f"exit status {done.returncode}:\n{done.stderr}")
    return done.stdout


class RunningProcess(ProcessProtocol):
    """A long-running command whose output (stdout and stderr) is kept.

    @ivar output: everything it printed so far.
    @ivar ended: fires when the process has ended.
    """

    def __init__(self) -> None:
        self.output = ""
        self.ended: Deferred = Deferred()
        self._waiting: list[tuple[re.Pattern, Deferred]] = []

    def wait_for(self, pattern: str) -> Deferred:
        """Fire with the first match of C{pattern} in the output; fail if
        the process ends without printing it."""
        d: Deferred = Deferred()
        self._waiting.append((re.compile(pattern), d))
        self._check()
        return d

    def stop(self) -> Deferred:
        """Send SIGTERM (unless it has ended); fires with how it ended."""
        if not self.ended.called:
            self.transport.signalProcess("TERM")
        return self.ended

    def _check(self) -> None:
        for entry in list(self._waiting):
            match = entry[0].search(self.output)
            if match:
                self._waiting.remove(entry)
                entry[1].callback(match)

    def outReceived(self, data: bytes) -> None:
        self.output += data.decode(errors="replace")
        self._check()

    errReceived = outReceived

    def processEnded(self, reason: Any) -> None:
        waiting, self._waiting = self._waiting, []
        for pattern, d in waiting:
            d.errback(AssertionError(f"ended without {pattern.pattern!r}:\n{self.output}"))
        self.ended.callback(reason.value)


def start(test: Any, argv: list[str]) -> RunningProcess:
    """Start C{argv}; the test's cleanup stops it and waits for its end."""
    process = RunningProcess()
    reactor.spawnProcess(process, argv[0], argv, env=environment(), path=SOURCE_TREE)
    test.addCleanup(process.stop)
    return process
