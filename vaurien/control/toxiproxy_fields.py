"""Reading the bodies of Toxiproxy's API: a proxy's fields, a toxic's,
and what an update may repeat. Every refusal is a L{ToxiproxyError} with
Toxiproxy's status and a message for a person."""
from __future__ import annotations

import json
from typing import Any, Mapping

from attrs import frozen
from twisted.web.server import Request

from vaurien.config import ANY_LOOPBACK_PORT
from vaurien.control.answers import MAX_BODY
from vaurien.control.toxiproxy_toxics import STREAMS


class ToxiproxyError(Exception):
    """A refused request: its HTTP status and message, as Toxiproxy's API
    answers them (C{{"error": message, "status": code}}).

    @ivar status: the HTTP status code.
    """

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status

    def body(self) -> dict[str, Any]:
        """The error's JSON body."""
        return {"error": str(self), "status": self.status}


@frozen
class ProxyFields:
    """A proxy as a request gives it.

    @ivar protocol: Vaurien's protocol name, C{None}: tcp.
    """

    name: str
    listen: str
    upstream: str
    enabled: bool
    protocol: str | None


@frozen
class ToxicFields:
    """A new toxic as a request gives it, defaults filled in."""

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: Mapping[str, Any]


def read_body(request: Request) -> Any:
    """The request's body: any JSON value (C{/populate} takes a list), of
    at most L{MAX_BODY} bytes.

    @raise ToxiproxyError: 400 when it is larger, or not JSON.
    """
    request.content.seek(0)
    raw = request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise ToxiproxyError(400, f"bad request body: larger than {MAX_BODY} bytes")
    try:
        return json.loads(raw)
    except ValueError as e:
        raise ToxiproxyError(400, f"bad request body: not JSON: {e}") from None


def an_object(body: Any, example: str) -> dict[str, Any]:
    """C{body}, which must be a JSON object.

    @raise ToxiproxyError: 400 otherwise.
    """
    if not isinstance(body, dict):
        raise ToxiproxyError(400, f"bad request body: expected a JSON object, e.g. {example}")
    return body


def proxy_fields(body: Any) -> ProxyFields:
    """A new proxy: C{name} and C{upstream} required, C{listen} (default
    L{ANY_LOOPBACK_PORT}), C{enabled} (default true) and C{protocol}
    optional.

    @raise ToxiproxyError: 400, naming the field at fault.
    """
    body = an_object(body, '{"name": "redis", "listen": "127.0.0.1:26379",'
                           ' "upstream": "127.0.0.1:6379"}')
    for field in ("name", "upstream"):
        if not body.get(field):
            raise ToxiproxyError(400, f"missing required field: {field}")
    for field in ("name", "upstream", "listen", "protocol"):
        if body.get(field) is not None and not isinstance(body[field], str):
            raise ToxiproxyError(400, f"{field} must be a string, not {body[field]!r}")
    return ProxyFields(body["name"], body.get("listen") or ANY_LOOPBACK_PORT, body["upstream"],
                       enabled_field(body, True), body.get("protocol"))


def enabled_field(body: Mapping[str, Any], default: bool | None) -> bool | None:
    """The body's C{enabled}, else C{default}.

    @raise ToxiproxyError: 400 when it is not true or false.
    """
    value = body.get("enabled", default)
    if value is not None and not isinstance(value, bool):
        raise ToxiproxyError(400, f"enabled must be true or false, not {value!r}")
    return value


def toxic_fields(body: Any) -> ToxicFields:
    """A new toxic: C{type} required; C{stream} downstream, C{toxicity}
    1.0, C{name} C{TYPE_STREAM} and no C{attributes} unless given.

    @raise ToxiproxyError: 400, naming the field at fault.
    """
    body = an_object(body, '{"type": "latency", "attributes": {"latency": 100}}')
    type_ = body.get("type")
    if not type_ or not isinstance(type_, str):
        raise ToxiproxyError(400, "missing required field: type")
    stream = body.get("stream") or "downstream"
    if stream not in STREAMS:
        raise ToxiproxyError(
            400, f"stream was invalid, can be either upstream or downstream, not {stream!r}")
    name = body.get("name") or f"{type_}_{stream}"
    if not isinstance(name, str) or "/" in name:
        raise ToxiproxyError(400, f"name {name!r}: a toxic's name is a string without '/'")
    toxicity = checked_toxicity(body.get("toxicity", 1.0))
    return ToxicFields(name, type_, stream, 1.0 if toxicity is None else toxicity,
                       attributes(body) or {})


def checked_toxicity(value: Any) -> float | None:
    """A toxicity, a number from 0 to 1 (C{None} stays C{None}).

    @raise ToxiproxyError: 400 otherwise.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ToxiproxyError(400, f"toxicity must be a number from 0 to 1, not {value!r}")
    return float(value)


def attributes(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The body's C{attributes}, if given.

    @raise ToxiproxyError: 400 when they are not an object.
    """
    given = body.get("attributes")
    if given is not None and not isinstance(given, dict):
        raise ToxiproxyError(400, f"attributes must be an object, not {given!r}")
    return given


def same_fields(body: Mapping[str, Any], current: Mapping[str, Any], fixed: tuple[str, ...]) -> None:
    """An update may repeat the object's fields: equal values are no
    change, but these C{fixed} ones cannot change.

    @raise ToxiproxyError: 400 naming a fixed field given another value.
    """
    for field in fixed:
        if field in body and body[field] is not None and body[field] != current[field]:
            raise ToxiproxyError(
                400, f"{field} cannot change ({current[field]!r}, not {body[field]!r});"
                " remove it and add another")
