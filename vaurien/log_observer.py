"""Where the C{vaurien} command's log events go, and from which level."""
from __future__ import annotations

import sys

from twisted.logger import (
    FilteringLogObserver,
    ILogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    textFileLogObserver,
)

from vaurien.errors import ConfigError


def log_observer(level: str, output: str) -> ILogObserver:
    """An observer writing events of C{level} and above as text lines.

    @param level: C{debug}, C{info}, C{warning}, C{error} or C{critical}.
    @param output: C{"-"} for standard output, or a file to append to.
    @raise ConfigError: when the file cannot be opened.
    """
    if output == "-":
        stream = sys.stdout
    else:
        try:
            stream = open(output, "a", encoding="utf-8")
        except OSError as e:
            raise ConfigError(
                f"--log-output {output!r}: cannot open the file for writing: {e.strerror}."
                " Give a writable file, or - for standard output."
            ) from None
    twisted_level = LogLevel.levelWithName("warn" if level == "warning" else level)
    predicate = LogLevelFilterPredicate(defaultLogLevel=twisted_level)
    return FilteringLogObserver(textFileLogObserver(stream), [predicate])
