"""Toxiproxy's HTTP API (C{--toxiproxy-api HOST:PORT}) over Vaurien's
running proxies, so that Toxiproxy's clients drive Vaurien unchanged:

    GET /version                          200 {"version": ...}
    GET /proxies                          200 {NAME: proxy, ...}
    POST /proxies                         201 proxy
    POST /populate                        201 {"proxies": [proxy, ...]}
    POST /reset                           204
    GET, POST, PATCH, DELETE /proxies/P   200 proxy (DELETE: 204)
    GET, POST /proxies/P/toxics           200 [toxic, ...], 200 toxic
    GET, POST, PATCH, DELETE /proxies/P/toxics/T   200 toxic (DELETE: 204)

A proxy is C{{name, listen, upstream, enabled, toxics, protocol}} (the
last is Vaurien's: a C{POST /proxies} may name one), a toxic C{{name,
type, stream, toxicity, attributes}}; an error is C{{"error": message,
"status": code}}. The proxies are the same the native API, C{/stats} and
C{/metrics} see: they are reached through L{IProxies} and
L{IProxyControl} only.
"""
from __future__ import annotations

import json
from functools import partial
from typing import Any, Awaitable, Callable, Mapping
from urllib.parse import unquote

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

import vaurien
from vaurien.control.sites import ApiSite
from vaurien.control.toxiproxy_fields import (
    ToxiproxyError, an_object, attributes, checked_toxicity, enabled_field, proxy_fields,
    read_body, same_fields, toxic_fields,
)
from vaurien.control.toxiproxy_toxics import ProxyToxics
from vaurien.errors import ConfigError, Conflict, NotFound, VaurienError
from vaurien.interfaces import IProxies

#: What a request is answered with: its status and its JSON body (C{None}:
#: no body).
Answer = tuple[int, Any]

_log = Logger()

#: The status of each kind of refusal a proxy or toxic raises.
_STATUS = ((NotFound, 404), (Conflict, 409), (ConfigError, 400))


class ToxiproxyResource(Resource):
    """Every route of Toxiproxy's API.

    @ivar proxies: the running proxies.
    """

    isLeaf = True

    def __init__(self, proxies: IProxies):
        super().__init__()
        self.proxies = proxies
        self._toxics: dict[str, ProxyToxics] = {}

    def render(self, request: Request) -> Any:
        lost: list[Failure] = []
        request.notifyFinish().addErrback(lost.append)
        answer = Deferred.fromCoroutine(self._answer(request))
        answer.addErrback(self._refusal, request)
        answer.addCallback(_send, request, lost)
        answer.addErrback(lambda failure: _log.failure(
            "Toxiproxy API: answering {method} {uri}", failure, method=request.method,
            uri=request.uri))
        return NOT_DONE_YET

    async def _answer(self, request: Request) -> Answer:
        segments = [unquote(segment.decode("utf-8", "replace")) for segment in request.postpath]
        if len(segments) > 1 and segments[-1] == "":
            segments = segments[:-1]
        methods = self._route(segments)
        method = request.method.decode("ascii", "replace")
        if method not in methods:
            raise ToxiproxyError(405, f"{method} is not allowed here; allowed: {', '.join(methods)}")
        return await methods[method](request)

    def _route(self, segments: list[str]) -> Mapping[str, Callable[[Request], Awaitable[Answer]]]:
        match segments:
            case ["version"]:
                return {"GET": self._version}
            case ["proxies"]:
                return {"GET": self._list_proxies, "POST": self._create_proxy}
            case ["populate"]:
                return {"POST": self._populate}
            case ["reset"]:
                return {"POST": self._reset}
            case ["proxies", proxy]:
                return {"GET": partial(self._show_proxy, proxy),
                        "POST": partial(self._update_proxy, proxy),
                        "PATCH": partial(self._update_proxy, proxy),
                        "DELETE": partial(self._delete_proxy, proxy)}
            case ["proxies", proxy, "toxics"]:
                return {"GET": partial(self._list_toxics, proxy),
                        "POST": partial(self._add_toxic, proxy)}
            case ["proxies", proxy, "toxics", toxic]:
                return {"GET": partial(self._show_toxic, proxy, toxic),
                        "POST": partial(self._update_toxic, proxy, toxic),
                        "PATCH": partial(self._update_toxic, proxy, toxic),
                        "DELETE": partial(self._remove_toxic, proxy, toxic)}
        raise ToxiproxyError(404, f"no such route: /{'/'.join(segments)}")

    def _refusal(self, failure: Failure, request: Request) -> Answer:
        """A refused request's status and error body."""
        for kind, status in _STATUS:
            if failure.check(kind):
                return status, ToxiproxyError(status, str(failure.value)).body()
        if not failure.check(ToxiproxyError):
            _log.failure("Toxiproxy API: {method} {uri}", failure, method=request.method,
                         uri=request.uri)
            return 500, ToxiproxyError(500, "internal error; see the log").body()
        return failure.value.status, failure.value.body()

    async def _version(self, request: Request) -> Answer:
        return 200, {"version": vaurien.__version__}

    async def _list_proxies(self, request: Request) -> Answer:
        return 200, {name: self._proxy(name) for name in self.proxies.controls}

    async def _create_proxy(self, request: Request) -> Answer:
        fields = proxy_fields(read_body(request))
        await self.proxies.create(fields.name, fields.listen, fields.upstream, fields.enabled,
                                  fields.protocol)
        _log.info("Toxiproxy API: proxy {name} added", name=fields.name)
        return 201, self._proxy(fields.name)

    async def _show_proxy(self, proxy: str, request: Request) -> Answer:
        return 200, self._proxy(proxy)

    async def _update_proxy(self, proxy: str, request: Request) -> Answer:
        body = an_object(read_body(request), '{"enabled": false}')
        same_fields(body, self.proxies.describe(proxy), ("name", "protocol"))
        enabled = enabled_field(body, None)
        for field in ("listen", "upstream"):
            if body.get(field) is not None and not isinstance(body[field], str):
                raise ToxiproxyError(400, f"{field} must be a string, not {body[field]!r}")
        await self.proxies.move(proxy, body.get("listen"), body.get("upstream"))
        if enabled is not None:
            await self.proxies.set_enabled(proxy, enabled)
        return 200, self._proxy(proxy)

    async def _delete_proxy(self, proxy: str, request: Request | None = None) -> Answer:
        await self.proxies.remove(proxy)
        self._toxics.pop(proxy, None)
        _log.info("Toxiproxy API: proxy {name} removed", name=proxy)
        return 204, None

    async def _populate(self, request: Request) -> Answer:
        body = read_body(request)
        if not isinstance(body, list):
            raise ToxiproxyError(400, 'bad request body: expected a list of proxies, [{"name": ...}]')
        given = [proxy_fields(entry) for entry in body]
        names = [fields.name for fields in given]
        if len(set(names)) < len(names):
            raise ToxiproxyError(400, "bad request body: a proxy is named twice")
        created: list[str] = []
        try:
            for fields in given:
                if fields.name in self.proxies.controls:
                    now = self.proxies.describe(fields.name)
                    if (now["listen"], now["upstream"]) == (fields.listen, fields.upstream):
                        continue
                    await self._delete_proxy(fields.name)
                await self.proxies.create(fields.name, fields.listen, fields.upstream,
                                          fields.enabled, fields.protocol)
                created.append(fields.name)
        except VaurienError:
            for name in created:
                await self.proxies.remove(name)
            raise
        return 201, {"proxies": [self._proxy(name) for name in names]}

    async def _reset(self, request: Request) -> Answer:
        refused = []
        for name in list(self.proxies.controls):
            self._toxics_of(name).clear()
            try:
                await self.proxies.set_enabled(name, True)
            except Conflict as e:
                refused.append(f"{name}: {e}")
        if refused:
            raise Conflict("every toxic is removed, but these proxies cannot listen again: "
                           + "; ".join(refused))
        return 204, None

    async def _list_toxics(self, proxy: str, request: Request) -> Answer:
        return 200, self._toxics_of(proxy).listed()

    async def _add_toxic(self, proxy: str, request: Request) -> Answer:
        toxics = self._toxics_of(proxy)
        fields = toxic_fields(read_body(request))
        toxic = toxics.add(fields.name, fields.type, fields.stream, fields.toxicity,
                           fields.attributes)
        _log.info("Toxiproxy API: proxy {proxy}: toxic {toxic}", proxy=proxy, toxic=toxic)
        return 200, toxic

    async def _show_toxic(self, proxy: str, toxic: str, request: Request) -> Answer:
        return 200, self._toxics_of(proxy).get(toxic)

    async def _update_toxic(self, proxy: str, toxic: str, request: Request) -> Answer:
        toxics = self._toxics_of(proxy)
        body = an_object(read_body(request), '{"attributes": {"latency": 200}}')
        same_fields(body, toxics.get(toxic), ("name", "type", "stream"))
        return 200, toxics.update(toxic, attributes(body), checked_toxicity(body.get("toxicity")))

    async def _remove_toxic(self, proxy: str, toxic: str, request: Request) -> Answer:
        self._toxics_of(proxy).remove(toxic)
        return 204, None

    def _proxy(self, name: str) -> dict[str, Any]:
        """The proxy C{name} as the API shows it, with its toxics."""
        return {**self.proxies.describe(name), "toxics": self._toxics_of(name).listed()}

    def _toxics_of(self, name: str) -> ProxyToxics:
        """The toxics of proxy C{name} (new ones for a proxy made anew).

        @raise NotFound: no such proxy.
        """
        control = self.proxies.controls.get(name)
        if control is None:
            raise NotFound(f"proxy not found: {name!r}")
        toxics = self._toxics.get(name)
        if toxics is None or toxics.control is not control:
            toxics = self._toxics[name] = ProxyToxics(control)
        return toxics


def _send(answer: Answer, request: Request, lost: list[Failure]) -> None:
    if lost:
        return
    status, body = answer
    request.setResponseCode(status)
    data = b"" if body is None else json.dumps(body).encode()
    if body is not None:
        request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"content-length", str(len(data)).encode())
    request.write(data)
    request.finish()


def toxiproxy_site(proxies: IProxies) -> Site:
    """Toxiproxy's API over C{proxies}, as a twisted.web site."""
    return ApiSite(ToxiproxyResource(proxies), "vaurien Toxiproxy API")
