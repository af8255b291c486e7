"""What the control API's routes take and give: a JSON object in, and a
refusal (L{APIError}) or a change to make in the workers too
(L{Changed}) out."""
from __future__ import annotations

import json
from typing import Any, Mapping

from attrs import frozen
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


@frozen
class Changed:
    """A route's answer when it changed a proxy of this process: the
    change, as a command of L{vaurien.control.channel}, for the workers.

    @ivar answer: what the route answers once every process made the
        change (C{None}: C{{"status": "ok"}}).
    """

    command: Mapping[str, Any]
    answer: Any = None


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
