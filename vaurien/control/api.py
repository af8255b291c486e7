"""The HTTP control API: JSON over twisted.web, wire-compatible with the
original Vaurien's (and so with vaurienclient 1.1).

Routes act on the first proxy, or on one by name under C{/proxies/NAME/}:
C{/behavior} and C{/handler} (GET, PUT, POST, DELETE: back to the
configured handlers), C{/behavior/options} and C{/handler/options} (GET),
C{/behaviors} and C{/handlers} (GET), C{/backend} (GET, PUT), C{/enabled}
(GET, PUT: take the proxy down, bring it back), C{/stats} (GET), C{/toxics}
and C{/toxics/NAME} (L{vaurien.control.toxic_routes}). C{/proxies}, C{/stats}
and C{/metrics} cover every proxy, those added while running too. A proxy is
only ever driven through L{IProxyControl}, and the running proxies through
L{IProxies}.

With C{--workers N} the API runs in the first process: a change is checked
and made there, then made in every worker, and answered once every worker
said it is done; the counters are totalled over every process.
"""
from __future__ import annotations

import hmac
import json
import os
from functools import partial
from typing import Any, Callable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST
from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from vaurien.control.sites import ApiSite
from vaurien.control.answers import APIError, Changed, json_body
from vaurien.control.channel import (
    STATS, WorkerError, backend_command, behavior_command, reset_command,
)
from vaurien.control.metrics import metrics_text
from vaurien.control.toxic_routes import TOXIC_ROUTES
from vaurien.control.totals import totals
from vaurien.errors import ConfigError, Conflict
from vaurien.interfaces import IProxies, IProxyControl

_OK = {"status": "ok"}
_log = Logger()

#: What a route does for each HTTP method: request to a JSON-ready answer.
Methods = Mapping[str, Callable[[Request], Any]]


def behavior_change(body: Mapping[str, Any]) -> tuple[str, dict[str, dict[str, Any]], Any]:
    """Read a C{PUT /behavior} body into what L{IProxyControl.set_behavior}
    takes.

    C{{"name": "delay", "sleep": 2, "ttl": 10}}: the keys other than
    C{name} and C{ttl} are options of that handler.
    C{{"name": "20:delay,5:error", "delay": {"sleep": 1}}}: an object value
    holds the options of the handler named by its key.

    @return: the handler spec, options by handler name, and the ttl.
    @raise APIError: naming the field at fault.
    """
    spec = body.get("name")
    if not isinstance(spec, str) or not spec.strip():
        raise APIError(400, "body", "name",
                       'name the handler: {"name": "delay"} or {"name": "20:delay,5:error"}')
    spec = spec.strip()
    options: dict[str, dict[str, Any]] = {}
    for key, value in body.items():
        if key in ("name", "ttl"):
            continue
        if isinstance(value, dict):
            options.setdefault(key, {}).update(value)
        elif ":" not in spec:
            options.setdefault(spec, {})[key] = value
        else:
            raise APIError(400, "body", key,
                           f"{key!r}: with shares of several handlers, give options by handler,"
                           ' e.g. {"delay": {"sleep": 1}}')
    return spec, options, body.get("ttl")


def _refusal(error: ConfigError, options: Mapping[str, Mapping[str, Any]]) -> APIError:
    """A proxy's refusal as a 400, naming the field its message is about:
    an option (the message starts C{handler.option}), C{ttl}, else C{name}."""
    message = str(error)
    field = "ttl" if message.startswith("ttl") else "name"
    for handler, given in options.items():
        for key in given:
            if message.startswith(f"{handler}.{key} "):
                field = key
    return APIError(400, "body", field, message)


def _read_behavior(word: str, proxy: str, control: IProxyControl, request: Request) -> Any:
    return {word: control.behavior()}


def _list_handlers(word: str, proxy: str, control: IProxyControl, request: Request) -> Any:
    return {word: control.handler_names()}


def _change_behavior(proxy: str, control: IProxyControl, request: Request) -> Any:
    spec, options, ttl = behavior_change(json_body(request))
    try:
        control.set_behavior(spec, options, ttl)
    except ConfigError as e:
        raise _refusal(e, options) from None
    _log.info("proxy {proxy}: handlers set to {behavior} with {options}, ttl {ttl}",
              proxy=proxy, behavior=control.behavior(), options=options, ttl=ttl)
    return Changed(behavior_command(proxy, spec, options, ttl))


def _read_options(proxy: str, control: IProxyControl, request: Request) -> Any:
    return {"options": control.behavior_options()}


def _reset_behavior(proxy: str, control: IProxyControl, request: Request) -> Any:
    control.reset_behavior()
    _log.info("proxy {proxy}: handlers back to the configured {behavior}",
              proxy=proxy, behavior=control.behavior())
    return Changed(reset_command(proxy))


def _read_backend(proxy: str, control: IProxyControl, request: Request) -> Any:
    return {"backend": control.backend()}


def _change_backend(proxy: str, control: IProxyControl, request: Request) -> Any:
    address = json_body(request).get("backend")
    if not isinstance(address, str):
        raise APIError(400, "body", "backend", 'give the address: {"backend": "host:port"}')
    try:
        control.set_backend(address)
    except ConfigError as e:
        raise APIError(400, "body", "backend", str(e)) from None
    _log.info("proxy {proxy}: backend set to {backend}", proxy=proxy, backend=control.backend())
    return Changed(backend_command(proxy, address))


#: The routes of one proxy: path (after C{/proxies/NAME/}) to its methods.
PROXY_ROUTES: Mapping[str, Mapping[str, Callable[..., Any]]] = {
    "behavior": {"GET": partial(_read_behavior, "behavior"), "PUT": _change_behavior,
                 "POST": _change_behavior, "DELETE": _reset_behavior},
    "handler": {"GET": partial(_read_behavior, "handler"), "PUT": _change_behavior,
                "POST": _change_behavior, "DELETE": _reset_behavior},
    "behavior/options": {"GET": _read_options},
    "handler/options": {"GET": _read_options},
    "behaviors": {"GET": partial(_list_handlers, "behaviors")},
    "handlers": {"GET": partial(_list_handlers, "handlers")},
    "backend": {"GET": _read_backend, "PUT": _change_backend},
}


class ControlResource(Resource):
    """Every route of the API, answered in JSON (C{/metrics} in
    Prometheus' text format).

    @ivar controls: proxy name to its control surface, the default first
        (a live mapping: proxies added later are in it).
    @ivar proxies: the running proxies (L{IProxies}), or C{None}: then no
        proxy can be taken down.
    @ivar workers: the other processes of C{--workers N}, or C{None}: an
        object whose C{broadcast(command)} gives a Deferred firing with each
        worker's C{(number, pid, result)}, or failing with L{WorkerError}.
    """

    isLeaf = True

    def __init__(self, controls: Mapping[str, IProxyControl], token: str | None = None,
                 workers: Any = None, proxies: IProxies | None = None):
        super().__init__()
        self.controls = controls
        self.proxies = proxies
        self.workers = workers
        self._authorization = f"Bearer {token}".encode() if token else None

    def render(self, request: Request) -> Any:
        request.setHeader(b"content-type", b"application/json")
        connection_lost: list[Failure] = []
        request.notifyFinish().addErrback(connection_lost.append)
        answer = maybeDeferred(self._answer, request)
        answer.addErrback(self._refusal, request)
        answer.addCallback(self._send, request, connection_lost)
        answer.addErrback(lambda failure: _log.failure(
            "control API: answering {method} {uri}", failure, method=request.method, uri=request.uri))
        return NOT_DONE_YET

    def _answer(self, request: Request) -> Any:
        """What the request asks for: a JSON-ready answer, bytes, or a
        Deferred of them (when the workers are asked too)."""
        self._authorize(request)
        methods = self._route([segment.decode("utf-8", "replace") for segment in request.postpath])
        method = request.method.decode("ascii", "replace")
        if method not in methods:
            raise APIError(405, "method", "method",
                           f"{method} is not allowed here; allowed: {', '.join(methods)}",
                           {b"allow": ", ".join(methods).encode()})
        answer = methods[method](request)
        if isinstance(answer, Changed):
            return self._in_workers(answer.command, _OK if answer.answer is None else answer.answer)
        return answer

    def _refusal(self, failure: Failure, request: Request) -> dict[str, Any]:
        """The error body of a refused request; its status set."""
        if failure.check(APIError):
            error = failure.value
        else:
            _log.failure("control API: {method} {uri}", failure,
                         method=request.method, uri=request.uri)
            error = APIError(500, "server", "server", "internal error; see the log")
        request.setResponseCode(error.status)
        for header, value in error.headers.items():
            request.setHeader(header, value)
        return error.body()

    @staticmethod
    def _send(answer: Any, request: Request, connection_lost: list[Failure]) -> None:
        if connection_lost:
            return
        body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        request.setHeader(b"content-length", str(len(body)).encode())
        request.write(body)
        request.finish()

    def _in_workers(self, command: Mapping[str, Any], answer: Any) -> Any:
        """Make a change this process made in every worker too; C{answer}
        once all are done."""
        if self.workers is None:
            return answer
        done = self.workers.broadcast(command)
        done.addErrback(_worker_refusal, "the change is in force in every other process")
        return done.addCallback(lambda _: answer)

    def _counters(self) -> Deferred:
        """Fires with C{(totals, readings)}: proxy name to its counters
        (over every process), and each process's counters (C{None} with
        one process)."""
        local = {name: control.stats() for name, control in self.controls.items()}
        if self.workers is None:
            return succeed((local, None))
        asked = self.workers.broadcast(STATS)
        asked.addErrback(_worker_refusal, "the counters cannot be totalled without it")

        def gathered(answers: list[tuple[int, int, Any]]) -> tuple[Any, Any]:
            readings = [(0, os.getpid(), local), *answers]
            return totals([reading for _, _, reading in readings]), [
                {"worker": number, "pid": pid, "proxies": reading}
                for number, pid, reading in readings
            ]

        return asked.addCallback(gathered)

    def _authorize(self, request: Request) -> None:
        if self._authorization is None:
            return
        given = request.getHeader(b"authorization") or b""
        if not hmac.compare_digest(given, self._authorization):
            raise APIError(401, "header", "Authorization",
                           "this API needs the header Authorization: Bearer TOKEN",
                           {b"www-authenticate": b'Bearer realm="vaurien"'})

    def _route(self, segments: list[str]) -> Methods:
        """The methods of the route at C{segments}.

        @raise APIError: 404 for an unknown route or proxy.
        """
        if len(segments) > 1 and segments[-1] == "":
            segments = segments[:-1]
        if segments == ["proxies"]:
            return {"GET": lambda request: {"proxies": list(self.controls)}}
        if segments == ["stats"]:
            return {"GET": lambda request: self._counters().addCallback(_all_stats)}
        if segments == ["metrics"]:
            return {"GET": self._metrics}
        proxy, rest = next(iter(self.controls), None), segments
        if len(segments) > 1 and segments[0] == "proxies":
            proxy, rest = segments[1], segments[2:]
        if proxy is None:
            raise APIError(404, "url", "proxy", "no proxy yet: add one first")
        if proxy not in self.controls:
            raise APIError(404, "url", "proxy",
                           f"no proxy named {proxy!r}; the proxies: {', '.join(self.controls)}")
        if rest == ["enabled"]:
            return {"GET": partial(self._read_enabled, proxy),
                    "PUT": partial(self._change_enabled, proxy)}
        if rest == ["stats"]:
            return {"GET": lambda request: self._counters().addCallback(lambda c: c[0][proxy])}
        route, named = "/".join(rest), rest[1:]  # named: the NAME of toxics/NAME
        if rest[:1] == ["toxics"] and len(rest) <= 2:
            route = "/".join(("toxics", "NAME")[:len(rest)])
        routes = {**PROXY_ROUTES, **TOXIC_ROUTES}
        if route not in routes:
            raise APIError(404, "url", "path", f"no such route: /{'/'.join(segments)}")
        control = self.controls[proxy]
        arguments = named if route.startswith("toxics") else []
        return {method: partial(action, proxy, control, *arguments)
                for method, action in routes[route].items()}

    def _read_enabled(self, proxy: str, request: Request) -> Any:
        return {"enabled": self._running(proxy).describe(proxy)["enabled"]}

    def _change_enabled(self, proxy: str, request: Request) -> Deferred:
        enabled = json_body(request).get("enabled")
        if not isinstance(enabled, bool):
            raise APIError(400, "body", "enabled", 'give true or false: {"enabled": false}')
        if self.workers is not None:
            raise APIError(409, "body", "enabled",
                           "with --workers N every process listens on the proxy's port:"
                           " a proxy cannot be taken down from the API")
        done = self._running(proxy).set_enabled(proxy, enabled)
        done.addErrback(_address_taken)

        def changed(described: Mapping[str, Any]) -> dict[str, Any]:
            _log.info("proxy {proxy}: {state}", proxy=proxy,
                      state="listening" if enabled else "down, its connections closed")
            return {"enabled": described["enabled"]}

        return done.addCallback(changed)

    def _running(self, proxy: str) -> IProxies:
        """The running proxies, which hold C{proxy}.

        @raise APIError: 404 when C{proxy} is not one of them (the demo's).
        """
        if self.proxies is None or proxy not in self.proxies.controls:
            raise APIError(404, "url", "proxy",
                           f"proxy {proxy!r} cannot be taken down (the demo's proxy)")
        return self.proxies

    def _metrics(self, request: Request) -> Deferred:
        def text(counters: tuple[Any, Any]) -> bytes:
            request.setHeader(b"content-type", CONTENT_TYPE_LATEST.encode())
            return metrics_text(counters[0])

        return self._counters().addCallback(text)


def _all_stats(counters: tuple[Any, Any]) -> dict[str, Any]:
    """C{GET /stats}: every proxy's counters, and with workers each
    process's."""
    proxies, readings = counters
    return {"proxies": proxies} if readings is None else {"proxies": proxies, "workers": readings}


def _address_taken(failure: Failure) -> None:
    """A proxy's address taken (L{Conflict}), as the API's 409."""
    failure.trap(Conflict)
    raise APIError(409, "body", "enabled", str(failure.value))


def _worker_refusal(failure: Failure, consequence: str) -> None:
    """A worker's failure as the API's 5xx error, naming the worker."""
    failure.trap(WorkerError)
    error = failure.value
    _log.error("control API: {error}; {consequence}", error=error, consequence=consequence)
    raise APIError(error.status, "worker", error.worker, f"{error}; {consequence}")


def control_site(controls: Mapping[str, IProxyControl], token: str | None = None,
                 workers: Any = None, proxies: IProxies | None = None) -> Site:
    """The control API as a twisted.web site, ready for an endpoint.

    @param controls: proxy name to its control surface, in order: the
        first is the one the un-named routes act on.
    @param token: when given (non-empty), every request must carry
        C{Authorization: Bearer TOKEN}.
    @param workers: the other processes of C{--workers N}, as
        L{ControlResource.workers}; C{None} with one process.
    @param proxies: the running proxies, as L{ControlResource.proxies}.
    """
    return ApiSite(ControlResource(controls, token, workers, proxies), "vaurien control API")
