"""What a benchmark is given: rounds, load size, the proxy modes in play.

A mode is where a load goes: C{direct} (the backend itself), C{vaurien}
(the tree under test), C{old} (vaurien at C{--compare REV}), and the
references C{portforward} and C{haproxy}. L{Context.proxies} starts one
proxy per mode in play, so a benchmark names its load, not its proxies.
"""
from __future__ import annotations

import sys
import time
from contextlib import ExitStack, contextmanager
from typing import Callable, Iterator

from bench import processes
from bench.compare import Tree
from bench.report import OLD, REFERENCES, VAURIEN

DIRECT = "direct"


def log(msg: str) -> None:
    """One timestamped progress line on stderr."""
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


class Context:
    """Rounds, quick mode, soak size, and which proxies a benchmark runs.

    @ivar trees: per vaurien mode (C{vaurien}, and C{old} with
        C{--compare}), the checkout it runs; C{None} for this one.
    @ivar references: whether portforward and HAProxy are measured too.
    @ivar failures: what failed in L{interleave} since the last benchmark.
    """

    def __init__(self, rounds: int, quick: bool, minutes: float = 10.0, clients: int = 50,
                 trees: dict[str, Tree | None] | None = None, references: bool = True):
        self.rounds = rounds
        self.quick = quick
        self.minutes = minutes
        self.clients = clients
        self.trees: dict[str, Tree | None] = dict(trees or {VAURIEN: None})
        self.references = references
        self.failures: list[str] = []

    @property
    def compared(self) -> bool:
        return OLD in self.trees

    @property
    def vaurien_modes(self) -> list[str]:
        """C{["vaurien"]}, or C{["vaurien", "old"]} with C{--compare}."""
        return [mode for mode in (VAURIEN, OLD) if mode in self.trees]

    @property
    def proxy_modes(self) -> list[str]:
        """The vaurien modes, then the references when they are measured."""
        return self.vaurien_modes + (list(REFERENCES) if self.references else [])

    def modes(self) -> list[str]:
        """Every mode of a row: C{direct} first, then L{proxy_modes}."""
        return [DIRECT] + self.proxy_modes

    def log(self, msg: str) -> None:
        log(msg)

    def interleave(self, modes: list[str], measure: Callable[[str, int], None]) -> None:
        """Call C{measure(mode, round)} for each round, rotating the mode order."""
        for r in range(self.rounds):
            k = r % len(modes)
            for mode in modes[k:] + modes[:k]:
                try:
                    measure(mode, r)
                except Exception as e:  # keep the other modes and rounds
                    self.failures.append(f"round {r} {mode}: {type(e).__name__}: {e}")
                    self.log(f"round {r} {mode} failed: {e}")

    def start(self, mode: str, backend_port: int, protocol: str = "tcp",
              handler: str = "100:dummy", extra: list[str] | None = None,
              haproxy_mode: str = "tcp") -> processes.Process:
        """Start the proxy of C{mode} in front of C{backend_port}.

        @param protocol: vaurien's C{--protocol}.
        @param handler: vaurien's C{--handler}; C{extra}, more of its options.
        @param haproxy_mode: HAProxy's C{mode}, C{tcp} or C{http}.
        """
        if mode in self.trees:
            return processes.vaurien(backend_port, protocol, handler, extra=extra,
                                     tree=self.trees[mode])
        if mode == "portforward":
            return processes.portforward(backend_port)
        if mode == "haproxy":
            return processes.haproxy(backend_port, haproxy_mode)
        raise ValueError(f"no proxy for mode {mode!r}")

    @contextmanager
    def proxies(self, backend_port: int, protocol: str = "tcp", handler: str = "100:dummy", *,
                extra: list[str] | None = None, haproxy_mode: str = "tcp",
                modes: list[str] | None = None) -> Iterator[dict[str, int]]:
        """Start the proxies of C{modes} (default L{proxy_modes}), stop them on exit.

        @return: the port of each mode, C{direct} (the backend) included.
        """
        with ExitStack() as stack:
            ports = {DIRECT: backend_port}
            for mode in self.proxy_modes if modes is None else modes:
                proc = stack.enter_context(self.start(mode, backend_port, protocol, handler,
                                                      extra, haproxy_mode))
                ports[mode] = proc.port
            yield ports
