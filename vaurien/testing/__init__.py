"""Running Vaurien inside test suites: the C{vaurien_proxy} pytest fixture
(L{vaurien.testing.pytest_plugin}, loaded through the C{pytest11} entry
point) and an in-process proxy for trial (L{vaurien.testing.trial}).
"""
from __future__ import annotations

import socket
from typing import Any, Mapping


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on C{host} nobody listens on (for now)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def command_line(options: Mapping[str, Any]) -> list[str]:
    """Keyword options as C{vaurien} arguments: C{stay_connected=True} is
    C{--stay-connected}, C{handler_delay_sleep=2} is
    C{--handler-delay-sleep 2}; C{False} and C{None} leave an option out.
    """
    arguments = []
    for name, value in options.items():
        option = "--" + name.replace("_", "-")
        if value is True:
            arguments.append(option)
        elif value is not False and value is not None:
            arguments += [option, str(value)]
    return arguments
