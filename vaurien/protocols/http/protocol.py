"""http: HTTP/1.0 and 1.1, one call per request and its response.

What is framed, what falls back and what an error looks like are told
in C{docs/protocols/http.rst}; the framing itself is
L{vaurien.protocols.http.framing}.
"""
from __future__ import annotations

import random
from http import HTTPStatus
from typing import Any

from zope.interface import implementer

from vaurien.endpoints import backend_authority
from vaurien.interfaces import IProtocol
from vaurien.protocols import Protocol
from vaurien.protocols.http.framing import HttpFraming
from vaurien.protocols.http.skim import SkimmingHttpFraming
from vaurien.registry import convert

#: The header block limits allowed: room for a request line, at most 1 GiB.
MAX_HEADER_SIZES = range(64, (1 << 30) + 1)

#: The codes an injected error picks from when C{error_code} is 0.
RANDOM_ERROR_CODES = (500, 501, 502, 503)

_ERROR_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>{code} {reason}</title></head>\n"
    "<body><h1>{code} {reason}</h1>\n"
    "<p>{detail}</p></body></html>\n"
)

_INJECTED = "Injected by vaurien, the chaos proxy."
_UNREACHABLE = (
    "The backend is unreachable: vaurien, the chaos proxy, could not connect to it"
    " (this error was not injected)."
)


@Protocol.register
@implementer(IProtocol)
class HTTP:
    """HTTP/1.x: requests and responses framed with h11, errors as
    well-formed 5xx responses."""

    name = "http"
    options = {
        "overwrite_host_header": (
            "Rewrite the Host header of requests to the backend address",
            bool,
            False,
        ),
        "host": (
            "Host header value to send when overwrite_host_header is true;"
            " empty: the backend address",
            str,
            "",
        ),
        "error_code": (
            "HTTP status of injected errors; 0: one of 500, 501, 502, 503"
            " at random, as the original",
            int,
            0,
            (0, 500, 501, 502, 503, 504),
        ),
        "error_close": (
            "Close the connection after an injected error, as the original"
            " did (Connection: close)",
            bool,
            False,
        ),
        "max_header_size": (
            "Largest request or response header block; a larger one ends"
            " framing",
            int,
            65536,
            MAX_HEADER_SIZES,
        ),
        "max_body_size": (
            "Largest request or response body held to frame it; a larger"
            " one ends framing",
            int,
            64 * 1024 * 1024,
        ),
    }
    per_call = True

    def __init__(self, settings: dict[str, Any] | None = None):
        self.settings = dict(settings or {})

    def option(self, name: str) -> Any:
        """The value of option C{name}, converted to its declared type."""
        type_, default = self.options[name][1:3]
        return convert(self.settings.get(name, default), type_)

    def framing(self) -> HttpFraming:
        """A new framing for one connection: one that can skim
        (L{vaurien.interfaces.ISkimming}) unless requests are rewritten
        with another Host, which needs every request cut."""
        host = ""
        if self.option("overwrite_host_header"):
            host = self.option("host") or self._backend_authority()
        if not host:
            return SkimmingHttpFraming(self.option("max_header_size"),
                                       self.option("max_body_size"))
        return HttpFraming(self.option("max_header_size"),
                           self.option("max_body_size"),
                           host.encode("idna"))

    def _backend_authority(self) -> str:
        proxy = getattr(self, "proxy", None)
        if proxy is None:
            return ""
        return backend_authority(proxy.settings.backend) or ""

    def error_response(self, request: bytes | None) -> bytes:
        """A well-formed 5xx response to C{request}.

        It has a Content-Length, so the connection stays usable unless
        C{error_close} asks for C{Connection: close}. A HEAD request gets
        the headers only; an HTTP/1.0 request gets an HTTP/1.0 status line.
        """
        code = self.option("error_code") or random.choice(RANDOM_ERROR_CODES)
        return _response(request, code, self.option("error_close"))

    def unavailable_response(self, request: bytes | None) -> bytes:
        """A 502 Bad Gateway, closing the connection: the backend is down."""
        return _response(request, 502, close=True, detail=_UNREACHABLE)


def _response(
    request: bytes | None, code: int, close: bool, detail: str = _INJECTED
) -> bytes:
    """An HTML error response with status C{code}, fit for C{request}."""
    reason = HTTPStatus(code).phrase
    body = _ERROR_PAGE.format(code=code, reason=reason, detail=detail).encode()
    method, version = _method_and_version(request or b"")
    head = [
        f"{version} {code} {reason}",
        "Content-Type: text/html; charset=utf-8",
        f"Content-Length: {len(body)}",
    ]
    if close:
        head.append("Connection: close")
    head_bytes = "\r\n".join(head).encode() + b"\r\n\r\n"
    return head_bytes if method == b"HEAD" else head_bytes + body


def _method_and_version(request: bytes) -> tuple[bytes, str]:
    """The method and the HTTP version to answer C{request} with."""
    line = request.split(b"\n", 1)[0].split()
    method = line[0] if line else b""
    version = "HTTP/1.0" if line[-1:] == [b"HTTP/1.0"] else "HTTP/1.1"
    return method, version
