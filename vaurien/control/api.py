"""The HTTP control API: JSON over twisted.web, wire-compatible with the
original Vaurien's (and so with vaurienclient 1.1).

Routes act on the first proxy, or on one by name under C{/proxies/NAME/}:
C{/behavior} and C{/handler} (GET, PUT, POST), C{/behaviors} and
C{/handlers} (GET), C{/backend} (GET, PUT), C{/stats} (GET). C{/proxies},
C{/stats} and C{/metrics} cover every proxy. A proxy is only ever driven
through L{IProxyControl}.
"""
from __future__ import annotations

import hmac
import json
from functools import partial
from typing import Any, Callable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from vaurien.control.metrics import metrics_registry
from vaurien.errors import ConfigError
from vaurien.interfaces import IProxyControl

#: The largest request body accepted, in bytes.
MAX_BODY = 64 * 1024

_OK = {"status": "ok"}
_log = Logger()

#: What a route does for each HTTP method: request to a JSON-ready answer.
Methods = Mapping[str, Callable[[Request], Any]]


class APIError(Exception):
    """A refused request: its HTTP status and the original's error entry.

    @ivar status: the HTTP status code.
    @ivar location: where the fault is (C{"body"}, C{"url"}, C{"header"}).
    @ivar name: the field at fault (C{"name"}, C{"ttl"}, C{"sleep"}, ...).
    @ivar headers: extra response headers (C{Allow}, C{WWW-Authenticate}).
    """

    def __init__(self, status: int, location: str, name: str, description: str,
                 headers: Mapping[bytes, bytes] | None = None):
        super().__init__(description)
        self.status = status
        self.location = location
        self.name = name
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The error as the original API gave it."""
        return {"status": "error", "errors": [
            {"location": self.location, "name": self.name, "description": str(self)}
        ]}


def _refuse_constant(constant: str) -> None:
    raise ValueError(f"{constant} is not a number JSON allows")


def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, of at most L{MAX_BODY} bytes.

    No Content-Type is required: the original client sends none.

    @raise APIError: when it is too large, not JSON or not an object.
    """
    too_large = APIError(400, "body", "body", f"the body is larger than {MAX_BODY} bytes")
    declared = request.getHeader(b"content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > MAX_BODY:
        raise too_large
    request.content.seek(0)
    raw = request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise too_large
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except ValueError as e:
        raise APIError(400, "body", "body", f"the body is not JSON: {e}") from None
    if not isinstance(body, dict):
        raise APIError(400, "body", "body", 'the body must be a JSON object, e.g. {"name": "delay"}')
    return body


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
    return _OK


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
    return _OK


def _proxy_stats(proxy: str, control: IProxyControl, request: Request) -> Any:
    return control.stats()


#: The routes of one proxy: last path segment to its methods.
PROXY_ROUTES: Mapping[str, Mapping[str, Callable[..., Any]]] = {
    "behavior": {"GET": partial(_read_behavior, "behavior"),
                 "PUT": _change_behavior, "POST": _change_behavior},
    "handler": {"GET": partial(_read_behavior, "handler"),
                "PUT": _change_behavior, "POST": _change_behavior},
    "behaviors": {"GET": partial(_list_handlers, "behaviors")},
    "handlers": {"GET": partial(_list_handlers, "handlers")},
    "backend": {"GET": _read_backend, "PUT": _change_backend},
    "stats": {"GET": _proxy_stats},
}


class ControlResource(Resource):
    """Every route of the API, answered in JSON (C{/metrics} in
    Prometheus' text format).

    @ivar controls: proxy name to its control surface, the default first.
    """

    isLeaf = True

    def __init__(self, controls: Mapping[str, IProxyControl], token: str | None = None):
        super().__init__()
        if not controls:
            raise ValueError("the control API needs at least one proxy")
        self.controls = dict(controls)
        self._default = next(iter(self.controls))
        self._authorization = f"Bearer {token}".encode() if token else None
        self._registry = metrics_registry(self.controls)

    def render(self, request: Request) -> bytes:
        request.setHeader(b"content-type", b"application/json")
        try:
            self._authorize(request)
            methods = self._route([segment.decode("utf-8", "replace")
                                   for segment in request.postpath])
            method = request.method.decode("ascii", "replace")
            if method not in methods:
                raise APIError(405, "method", "method",
                               f"{method} is not allowed here; allowed: {', '.join(methods)}",
                               {b"allow": ", ".join(methods).encode()})
            answer = methods[method](request)
        except APIError as error:
            request.setResponseCode(error.status)
            for header, value in error.headers.items():
                request.setHeader(header, value)
            answer = error.body()
        except Exception:
            _log.failure("control API: {method} {uri}", method=request.method, uri=request.uri)
            request.setResponseCode(500)
            answer = APIError(500, "server", "server", "internal error; see the log").body()
        return answer if isinstance(answer, bytes) else json.dumps(answer).encode()

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
            return {"GET": lambda request: {"proxies": {
                name: control.stats() for name, control in self.controls.items()}}}
        if segments == ["metrics"]:
            return {"GET": self._metrics}
        proxy, rest = self._default, segments
        if len(segments) > 1 and segments[0] == "proxies":
            proxy, rest = segments[1], segments[2:]
            if proxy not in self.controls:
                raise APIError(404, "url", "proxy",
                               f"no proxy named {proxy!r}; the proxies: {', '.join(self.controls)}")
        if len(rest) != 1 or rest[0] not in PROXY_ROUTES:
            raise APIError(404, "url", "path", f"no such route: /{'/'.join(segments)}")
        control = self.controls[proxy]
        return {method: partial(action, proxy, control)
                for method, action in PROXY_ROUTES[rest[0]].items()}

    def _metrics(self, request: Request) -> bytes:
        request.setHeader(b"content-type", CONTENT_TYPE_LATEST.encode())
        return generate_latest(self._registry)


def control_site(controls: Mapping[str, IProxyControl], token: str | None = None) -> Site:
    """The control API as a twisted.web site, ready for an endpoint.

    @param controls: proxy name to its control surface, in order: the
        first is the one the un-named routes act on.
    @param token: when given (non-empty), every request must carry
        C{Authorization: Bearer TOKEN}.
    """
    site = Site(ControlResource(controls, token))
    site.displayTracebacks = False
    return site
