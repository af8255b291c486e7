"""What both HTTP APIs share: reading a request's JSON body, bounded in
size, and the control API's refusals."""
from __future__ import annotations

import json
from typing import Any, Mapping

from twisted.web.server import Request

#: The largest request body accepted, in bytes.
MAX_BODY = 64 * 1024


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


class BodyError(ValueError):
    """A request body that cannot be read: too large, or not JSON."""


def _refuse_constant(constant: str) -> None:
    raise ValueError(f"{constant} is not a number JSON allows")


def read_json(request: Request) -> Any:
    """The request body as JSON, of at most L{MAX_BODY} bytes. No
    Content-Type is required: the original client sends none.

    @raise BodyError: when it is too large or not JSON.
    """
    too_large = BodyError(f"the body is larger than {MAX_BODY} bytes")
    declared = request.getHeader(b"content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > MAX_BODY:
        raise too_large
    request.content.seek(0)
    raw = request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise too_large
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except ValueError as e:
        raise BodyError(f"the body is not JSON: {e}") from None


def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object (L{read_json}).

    @raise APIError: when it is too large, not JSON or not an object.
    """
    try:
        body = read_json(request)
    except BodyError as e:
        raise APIError(400, "body", "body", str(e)) from None
    if not isinstance(body, dict):
        raise APIError(400, "body", "body", 'the body must be a JSON object, e.g. {"name": "delay"}')
    return body
