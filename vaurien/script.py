"""The C{vaurien} console command.

It reads the same options as C{twistd vaurien}, logs through
twisted.logger as C{--log-level} and C{--log-output} say, and runs until
SIGINT or SIGTERM. A wrong setting or a port in use ends it at once with
C{vaurien: error: ...} and exit status 2, never a traceback. With
C{--workers N} it starts N - 1 more processes sharing its ports, drives
them from its control API, and stops them when it stops
(L{vaurien.workers}).
"""
from __future__ import annotations

import os
import sys
from typing import NoReturn

from attrs import evolve
from twisted.internet.error import CannotListenError
from twisted.logger import globalLogBeginner
from twisted.python import usage

from vaurien.config import VaurienOptions
from vaurien.errors import VaurienError, cannot_listen_message
from vaurien.log_observer import log_observer
from vaurien.service import makeService
from vaurien.workers import WORKER_MARK, WorkerChannelService, WorkerProcesses

#: Exit status for a wrong setting or an address that cannot be used.
USAGE_ERROR = 2


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
        if WORKER_MARK in os.environ:
            # A worker: the first process serves the control API and sends
            # its changes here.
            service = makeService(evolve(settings, http=False))
            WorkerChannelService(service.controls).setServiceParent(service)
        elif settings.workers > 1:
            service = makeService(settings, workers=WorkerProcesses(argv, settings.workers - 1))
        else:
            service = makeService(settings)
        service.startService()
    except (usage.UsageError, VaurienError) as e:
        _fail(str(e))
    except CannotListenError as e:
        _fail(cannot_listen_message(e))

    from twisted.internet import reactor

    reactor.addSystemEventTrigger("before", "shutdown", service.stopService)
    reactor.run()
    sys.exit(0)


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"vaurien: error: {message}\n")
    sys.exit(USAGE_ERROR)
