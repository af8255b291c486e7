"""How C{twistd vaurien} says it cannot start: a wrong setting in one
paragraph, not twistd's whole usage first, and an address in use in one
line, not a traceback; the exit status stays twistd's (1).

L{vaurien.config.VaurienOptions} calls these when twistd is its parent,
so they hold for any copy of the twistd plugin that uses it.
"""
from __future__ import annotations

import sys
from typing import NoReturn

from twisted.internet.error import CannotListenError

from vaurien.errors import VaurienError, cannot_listen_message

#: twistd's exit status when it cannot start.
TWISTD_FAILURE = 1


def refuse(message: str) -> NoReturn:
    """End twistd with C{message} in one paragraph."""
    sys.__stderr__.write(
        f"twistd vaurien: error: {message} (twistd vaurien --help lists the options.)\n"
    )
    sys.exit(TWISTD_FAILURE)


def one_line_start_errors() -> None:
    """Make an address in use, or another error for a person, that ends
    twistd's start print one line instead of a traceback.

    twistd lets an exception from starting the service end the process
    (after removing its pid file); this changes only how it is printed.
    """
    previous = sys.excepthook

    def hook(kind, value, traceback):
        if issubclass(kind, CannotListenError):
            message = cannot_listen_message(value)
        elif issubclass(kind, VaurienError):
            message = str(value)
        else:
            return previous(kind, value, traceback)
        sys.__stderr__.write(f"twistd vaurien: error: {message}\n")

    sys.excepthook = hook
