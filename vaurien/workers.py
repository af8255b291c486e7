"""The processes of C{vaurien --workers N}.

The first process listens, serves the control API, and starts N - 1
workers: the same command, marked with L{WORKER_MARK} in their
environment, sharing its listening ports (C{SO_REUSEPORT}). Each worker is
joined to the first process by two pipes, its L{COMMANDS_FD} and
L{ANSWERS_FD}, over which L{vaurien.control.channel} runs: the first
process makes every change of the control API in each worker
(L{WorkerProcesses.broadcast}) and asks them their counters.

A worker that dies is logged; the others go on serving, and whatever the
control API asks of every worker fails with a 503 naming it until vaurien
is restarted. A worker whose first process is gone (its command pipe
closed) stops.
"""
from __future__ import annotations

import os
import sys
from functools import partial
from typing import Any, Callable, Mapping, Sequence

from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList, gatherResults
from twisted.internet.error import ProcessDone, ProcessExitedAlready, ReactorNotRunning
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from vaurien.control.channel import CommandReceiver, CommandSender, WorkerError
from vaurien.errors import VaurienError
from vaurien.interfaces import IProxyControl

#: Set in the environment of the workers the first process starts.
WORKER_MARK = "VAURIEN_WORKER"
#: The worker's end of the pipe it reads commands from.
COMMANDS_FD = 3
#: The worker's end of the pipe it writes answers to.
ANSWERS_FD = 4
#: Seconds a worker has to stop after SIGTERM before it is killed.
STOP_WITHIN = 10.0

_log = Logger()


class WorkerProcess(ProcessProtocol):
    """One worker, as the first process sees it.

    @ivar number: 1 to N - 1 (the first process is 0).
    @ivar pid: its process id.
    @ivar name: how messages name it: C{"worker 2 (pid 4242)"}.
    @ivar channel: its end of the command channel.
    @ivar ended: fires when it has ended.
    """

    def __init__(self, number: int, clock: Any, on_end: Callable[[WorkerProcess, str], None]):
        self.number = number
        self.pid: int | None = None
        self.name = f"worker {number}"
        self.channel: CommandSender | None = None
        self.ended: Deferred = Deferred()
        self._clock = clock
        self._on_end = on_end

    def connectionMade(self) -> None:
        self.pid = self.transport.pid
        self.name = f"worker {self.number} (pid {self.pid})"
        write = partial(self.transport.writeToChild, COMMANDS_FD)
        self.channel = CommandSender(write, self.name, self._clock)

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        if childFD == ANSWERS_FD:
            self.channel.data_received(data)

    def processEnded(self, reason: Failure) -> None:
        how = _how_it_ended(reason)
        self.channel.lost(f"{how}; restart vaurien to run every worker again")
        self._on_end(self, how)
        self.ended.callback(None)

    def call(self, command: Mapping[str, Any]) -> Deferred:
        """Send C{command}; fires with C{(number, pid, result)}."""
        return self.channel.call(command).addCallback(lambda result: (self.number, self.pid, result))

    def signal(self, name: str) -> None:
        """Send it a signal (C{"TERM"}, C{"KILL"}), unless it has ended."""
        try:
            self.transport.signalProcess(name)
        except ProcessExitedAlready:
            pass


class WorkerProcesses(Service):
    """The workers the first process starts when it starts, commands, and
    stops when it stops.

    @ivar workers: every worker started, gone or not.
    """

    def __init__(self, argv: Sequence[str], count: int, reactor: Any = None, clock: Any = None):
        """
        @param argv: the first process's arguments, given to each worker.
        @param count: how many workers to start.
        @param reactor: spawns the processes (the global reactor if C{None}).
        @param clock: what waits are timed on (the reactor if C{None}).
        """
        if reactor is None:
            from twisted.internet import reactor
        self._argv = list(argv)
        self._count = count
        self._reactor = reactor
        self._clock = reactor if clock is None else clock
        self.workers: list[WorkerProcess] = []

    def startService(self) -> None:
        """Start the workers (each binds its ports; its messages go where
        the first process's go)."""
        super().startService()
        environment = {**os.environ, WORKER_MARK: "1"}
        command = [sys.executable, "-m", "vaurien", *self._argv]
        for number in range(1, self._count + 1):
            worker = WorkerProcess(number, self._clock, self._ended)
            self._reactor.spawnProcess(
                worker, sys.executable, command, env=environment,
                childFDs={0: 0, 1: 1, 2: 2, COMMANDS_FD: "w", ANSWERS_FD: "r"},
            )
            self.workers.append(worker)
            _log.info("started {worker}", worker=worker.name)

    def stopService(self) -> Deferred:
        """SIGTERM every worker; SIGKILL those still running after
        L{STOP_WITHIN} seconds. Fires when all have ended."""
        super().stopService()
        running = [worker for worker in self.workers if not worker.ended.called]
        for worker in running:
            worker.signal("TERM")
        kill = self._clock.callLater(STOP_WITHIN, self._kill, running)
        ended = gatherResults([worker.ended for worker in running])
        return ended.addBoth(lambda result: kill.cancel() if kill.active() else None)

    def broadcast(self, command: Mapping[str, Any]) -> Deferred:
        """Send C{command} to every worker.

        @return: fires with each worker's C{(number, pid, result)} once all
            answered; fails with one L{WorkerError} telling every worker
            that refused, is gone, or was silent too long.
        """
        calls = DeferredList([worker.call(command) for worker in self.workers], consumeErrors=True)
        return calls.addCallback(_every_answer)

    def _kill(self, workers: list[WorkerProcess]) -> None:
        for worker in workers:
            if not worker.ended.called:
                _log.warn("{worker} did not stop within {seconds:g} s; killing it",
                          worker=worker.name, seconds=STOP_WITHIN)
                worker.signal("KILL")

    def _ended(self, worker: WorkerProcess, how: str) -> None:
        if self.running:
            _log.error("{worker} ended ({how}); the other processes go on serving, and the"
                       " control API answers 503 for changes and counters until vaurien"
                       " is restarted", worker=worker.name, how=how)
        else:
            _log.info("{worker} stopped ({how})", worker=worker.name, how=how)


def _every_answer(results: list[tuple[bool, Any]]) -> list[Any]:
    errors = [result.value for ok, result in results if not ok]
    if errors:
        unexpected = [e for e in errors if not isinstance(e, WorkerError)]
        if unexpected:
            raise unexpected[0]
        raise WorkerError.of_all(errors)
    return [result for _, result in results]


def _how_it_ended(reason: Failure) -> str:
    if reason.check(ProcessDone):
        return "exit status 0"
    if reason.value.signal is not None:
        return f"killed by signal {reason.value.signal}"
    return f"exit status {reason.value.exitCode}"


class WorkerChannelService(Service):
    """A worker's end of the command channel: does the first process's
    commands on this worker's proxies, and stops the worker when the first
    process is gone. Started after the proxies, it tells the first process
    they listen."""

    def __init__(self, controls: Callable[[], Mapping[str, IProxyControl]], reactor: Any = None):
        """
        @param controls: gives each proxy's name and control surface, once
            the proxies started.
        """
        if reactor is None:
            from twisted.internet import reactor
        self._controls = controls
        self._reactor = reactor
        self._transport: Any = None

    def startService(self) -> None:
        """Read commands on L{COMMANDS_FD}, answer on L{ANSWERS_FD}.

        @raise VaurienError: when this process has no such pipes (it was
            not started by a first process).
        """
        from twisted.internet.stdio import StandardIO

        for fd in (COMMANDS_FD, ANSWERS_FD):
            try:
                os.fstat(fd)
            except OSError:
                raise VaurienError(
                    f"{WORKER_MARK} is set, but this process has no command channel from a"
                    " first process (vaurien --workers N sets it for the workers it starts);"
                    f" unset {WORKER_MARK}."
                ) from None
        super().startService()
        receiver = CommandReceiver(self._controls(), self._first_process_gone)
        self._transport = StandardIO(
            receiver, stdin=COMMANDS_FD, stdout=ANSWERS_FD, reactor=self._reactor
        )

    def stopService(self) -> None:
        super().stopService()
        if self._transport is not None:
            self._transport.loseConnection()

    def _first_process_gone(self) -> None:
        if not self.running:
            return
        _log.warn("worker: the first process is gone; stopping")
        try:
            self._reactor.stop()
        except ReactorNotRunning:
            pass
