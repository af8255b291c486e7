"""The command channel between the first process of C{vaurien --workers N}
and each worker it started: one JSON object a line, over a pair of pipes.

The first process sends a command; the worker does it on its own proxies
and answers, in the order the commands came::

    first -> worker   {"id": 7, "op": "set_behavior", "proxy": "default",
                       "spec": "error", "options": {}, "ttl": null}
    worker -> first   {"id": 7, "ok": true, "result": null}
                      {"id": 7, "ok": false, "error": "unknown handler ..."}

A worker says C{{"ready": true}} once, when its proxies listen. The
commands are those of L{vaurien.interfaces.IProxyControl} that change a
proxy (C{set_behavior}, C{reset_behavior}, C{set_backend}, C{add_toxic},
C{update_toxic}, C{remove_toxic}, C{remove_toxics}) and C{stats}, which
answers the counters of every proxy of the worker.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Mapping

from twisted.internet.defer import Deferred, fail
from twisted.logger import Logger
from twisted.protocols.basic import LineOnlyReceiver

from vaurien.errors import VaurienError
from vaurien.interfaces import IProxyControl

#: The longest line either end accepts, in bytes.
MAX_LINE = 1 << 20
#: Seconds a ready worker has to answer a command.
ANSWER_WITHIN = 5.0
#: Seconds a worker that is not ready yet has to start and answer.
START_WITHIN = 30.0

#: The command asking a worker for the counters of its proxies.
STATS: Mapping[str, Any] = {"op": "stats"}

_READY = {"ready": True}
_log = Logger()


def behavior_command(proxy: str, spec: str, options: Mapping[str, Any], ttl: Any) -> dict[str, Any]:
    """The command doing L{IProxyControl.set_behavior} on C{proxy}."""
    return {"op": "set_behavior", "proxy": proxy, "spec": spec, "options": dict(options), "ttl": ttl}


def reset_command(proxy: str) -> dict[str, Any]:
    """The command doing L{IProxyControl.reset_behavior} on C{proxy}."""
    return {"op": "reset_behavior", "proxy": proxy}


def backend_command(proxy: str, address: str) -> dict[str, Any]:
    """The command doing L{IProxyControl.set_backend} on C{proxy}."""
    return {"op": "set_backend", "proxy": proxy, "backend": address}


def toxic_command(proxy: str, op: str, **arguments: Any) -> dict[str, Any]:
    """The command doing the toxic method C{op} of L{IProxyControl}
    (C{add_toxic}, C{update_toxic}, C{remove_toxic}, C{remove_toxics}) on
    C{proxy}, with its keyword C{arguments}."""
    return {"op": op, "proxy": proxy, "arguments": arguments}


#: The toxic methods a command may call.
_TOXIC_OPS = ("add_toxic", "update_toxic", "remove_toxic", "remove_toxics")


class WorkerError(Exception):
    """One or more workers did not do what they were asked: gone, silent
    or refusing.

    @ivar worker: the (first) worker at fault, as messages name it:
        C{"worker 2 (pid 4242)"}.
    @ivar status: the HTTP status it is worth: 503 when the worker is gone
        or silent, 500 when it refused what the first process accepted.
    """

    def __init__(self, worker: str, description: str, status: int = 503):
        super().__init__(description)
        self.worker = worker
        self.status = status

    @classmethod
    def of_all(cls, errors: list[WorkerError]) -> WorkerError:
        """One error telling every one of C{errors}."""
        status = 500 if any(error.status == 500 for error in errors) else 503
        return cls(errors[0].worker, "; ".join(map(str, errors)), status)


def obey(controls: Mapping[str, IProxyControl], command: Mapping[str, Any]) -> Any:
    """Do C{command} on this process's proxies; its result (JSON-ready).

    @raise VaurienError: the proxy refused the change.
    @raise LookupError: an unknown proxy or a missing field.
    @raise ValueError: an unknown command.
    """
    op = command.get("op")
    if op == "stats":
        return {name: control.stats() for name, control in controls.items()}
    control = controls[command["proxy"]]
    if op == "set_behavior":
        control.set_behavior(command["spec"], command.get("options"), command.get("ttl"))
    elif op == "reset_behavior":
        control.reset_behavior()
    elif op == "set_backend":
        control.set_backend(command["backend"])
    elif op in _TOXIC_OPS:
        getattr(control, op)(**command["arguments"])
    else:
        raise ValueError(f"unknown command {op!r}")
    return None


class CommandReceiver(LineOnlyReceiver):
    """A worker's end of the channel: does each command on the worker's
    proxies and answers it.

    @ivar controls: proxy name to its control surface, in this worker.
    """

    delimiter = b"\n"
    MAX_LENGTH = MAX_LINE

    def __init__(self, controls: Mapping[str, IProxyControl], lost: Callable[[], None]):
        """
        @param lost: called when the channel is closed: the first process
            is gone (or stopping).
        """
        self.controls = controls
        self._lost = lost

    def connectionMade(self) -> None:
        self.sendLine(json.dumps(_READY).encode())

    def lineReceived(self, line: bytes) -> None:
        try:
            command = json.loads(line)
            answer: dict[str, Any] = {"id": command["id"]}
        except (ValueError, LookupError, TypeError):
            _log.error("worker: not a command from the first process: {line!r}", line=line[:200])
            return
        try:
            answer.update(ok=True, result=obey(self.controls, command))
        except (VaurienError, LookupError, ValueError, TypeError) as e:
            answer.update(ok=False, error=str(e))
        except Exception as e:
            _log.failure("worker: command {command}", command=command)
            answer.update(ok=False, error=f"internal error ({type(e).__name__}); see its log")
        self.sendLine(json.dumps(answer).encode())

    def connectionLost(self, reason: Any = None) -> None:
        self._lost()


class CommandSender:
    """The first process's end of one worker's channel: sends commands,
    matches the answers by id, and waits a bounded time for each.

    @ivar worker: the worker as messages name it.
    @ivar ready: the worker said its proxies listen.
    @ivar gone: why the worker is gone (C{None} while it runs).
    """

    def __init__(self, write: Callable[[bytes], None], worker: str, clock: Any):
        """
        @param write: writes bytes to the worker's end.
        @param clock: what the waits are timed on (the reactor).
        """
        self.worker = worker
        self.ready = False
        self.gone: str | None = None
        self._write = write
        self._clock = clock
        self._next_id = 1
        self._pending: dict[int, tuple[Deferred, Any]] = {}
        self._partial = b""

    def call(self, command: Mapping[str, Any]) -> Deferred:
        """Send C{command}; fires with its result, or fails with
        L{WorkerError} when the worker refuses it, is gone, or has not
        answered within L{ANSWER_WITHIN} seconds (L{START_WITHIN} while it
        starts)."""
        if self.gone is not None:
            return fail(WorkerError(self.worker, f"{self.worker} is gone ({self.gone})"))
        number, self._next_id = self._next_id, self._next_id + 1
        within = ANSWER_WITHIN if self.ready else START_WITHIN
        d: Deferred = Deferred()
        timer = self._clock.callLater(within, self._silent, number, within)
        self._pending[number] = (d, timer)
        self._write(json.dumps({"id": number, **command}).encode() + b"\n")
        return d

    def data_received(self, data: bytes) -> None:
        """Bytes from the worker: the answers they complete."""
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        if len(self._partial) > MAX_LINE:
            _log.error("{worker} sent a line over {limit} bytes; dropped",
                       worker=self.worker, limit=MAX_LINE)
            self._partial = b""
        for line in lines:
            self._answer(line)

    def lost(self, why: str) -> None:
        """The worker is gone (C{why}): every command waiting fails."""
        self.gone = why
        pending, self._pending = self._pending, {}
        for d, timer in pending.values():
            timer.cancel()
            d.errback(WorkerError(self.worker, f"{self.worker} is gone ({why})"))

    def _answer(self, line: bytes) -> None:
        try:
            answer = json.loads(line)
            if answer == _READY:
                self.ready = True
                return
            d, timer = self._pending.pop(answer["id"])
        except (ValueError, LookupError, TypeError):
            # An answer to a command given up on (silent too long) lands here too.
            _log.warn("{worker}: unexpected answer {line!r}", worker=self.worker, line=line[:200])
            return
        timer.cancel()
        if answer.get("ok"):
            d.callback(answer.get("result"))
        else:
            d.errback(WorkerError(
                self.worker, f"{self.worker} refused: {answer.get('error')}", 500))

    def _silent(self, number: int, within: float) -> None:
        d, _ = self._pending.pop(number)
        d.errback(WorkerError(self.worker, f"{self.worker} did not answer within {within:g} seconds"))
