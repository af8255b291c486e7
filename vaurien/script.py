"""The C{vaurien} console command.

It reads the same options as C{twistd vaurien}, logs through
twisted.logger as C{--log-level} and C{--log-output} say, and runs until
SIGINT or SIGTERM. A wrong setting or a port in use ends it at once with
C{vaurien: error: ...} and exit status 2, never a traceback. With
C{--workers N} it starts N - 1 more processes sharing its ports, and
stops them when it stops.
"""
from __future__ import annotations

import os
import subprocess
import sys
from typing import NoReturn

from twisted.internet.error import CannotListenError
from twisted.logger import globalLogBeginner
from twisted.python import usage

from vaurien.config import VaurienOptions
from vaurien.errors import VaurienError
from vaurien.log_observer import log_observer
from vaurien.service import makeService

#: Exit status for a wrong setting or an address that cannot be used.
USAGE_ERROR = 2
#: Set in the environment of the worker processes the first one starts.
WORKER_MARK = "VAURIEN_WORKER"
#: Seconds a worker has to stop before it is killed.
WORKER_STOP_WITHIN = 10


def main(argv: list[str] | None = None) -> NoReturn:
    """Run Vaurien with the command-line arguments C{argv}.

    @param argv: the arguments, without the program name (C{sys.argv[1:]}
        if C{None}).
    """
    if argv is None:
        argv = sys.argv[1:]
    try:
        options = VaurienOptions()
        options.parseOptions(argv)
        settings = options.settings
        globalLogBeginner.beginLoggingTo(
            [log_observer(settings.log_level, settings.log_output)], redirectStandardIO=False
        )
        service = makeService(settings)
        service.startService()
    except (usage.UsageError, VaurienError) as e:
        _fail(str(e))
    except CannotListenError as e:
        _fail(
            f"cannot listen on {e.interface or '*'}:{e.port}: {e.socketError}."
            " Choose another address with --proxy (or proxy = in [vaurien]"
            " or [proxy:NAME]), or --http-port for the control API."
        )

    from twisted.internet import reactor

    reactor.addSystemEventTrigger("before", "shutdown", service.stopService)
    if settings.workers > 1 and WORKER_MARK not in os.environ:
        workers = _start_workers(argv, settings.workers - 1)
        reactor.addSystemEventTrigger("before", "shutdown", _stop_workers, workers)
    reactor.run()
    sys.exit(0)


def _start_workers(argv: list[str], count: int) -> list[subprocess.Popen]:
    """Start C{count} more processes with the same arguments; each listens
    on the same ports (C{SO_REUSEPORT})."""
    environment = {**os.environ, WORKER_MARK: "1"}
    command = [sys.executable, "-m", "vaurien", *argv]
    return [subprocess.Popen(command, env=environment) for _ in range(count)]


def _stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(WORKER_STOP_WITHIN)
        except subprocess.TimeoutExpired:
            worker.kill()


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"vaurien: error: {message}\n")
    sys.exit(USAGE_ERROR)
