"""The heads of HTTP/1.x messages as the skimming followers
(L{vaurien.protocols.http.skim}) check them: start lines, field lines,
chunk lines, and how the body after a head is delimited."""
from __future__ import annotations

import re

from vaurien.protocols.framing import FramingError

_TOKEN = rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+"
#: A field value with the whitespace around it, as h11 takes it: any byte
#: but NUL and the whitespace other than space and tab.
_VALUE = rb"[^\x00\n\r\x0b\x0c]*"
REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") [\x21-\x7e]+ HTTP/1\.([01])\r\n")
STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([0-9]{3})(?: " + _VALUE + rb")?\r\n")
#: The field lines after the start line, and the blank line, with no
#: obsolete line folding.
_FIELD_LINES = re.compile(rb"(?:" + _TOKEN + rb":" + _VALUE + rb"\r\n)*\r\n")
FIELD_LINE = re.compile(_TOKEN + rb":" + _VALUE)
#: The fields that change how messages are delimited, in a head checked
#: and put in lower case (the value is stripped after: a lazy match of it
#: would be quadratic).
_FRAMING_FIELD = re.compile(rb"\r\n(content-length|transfer-encoding|upgrade|expect|host):([^\r\n]*)")
CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]{1,20})(?:;[^\r\n]*)?[ \t]*")
TOKEN_BYTES = frozenset(b"!#$%&'*+-.^_`|~0123456789"
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
#: The body of a message: none, chunked, or a length.
NO_BODY = -1
CHUNKED = -2


def framing_fields(head: bytes, start: int) -> list[tuple[bytes, bytes]]:
    """Check the field lines of C{head} from C{start}, just after the
    start line; return the fields that delimit messages, in lower case, as
    C{(name, stripped value)}.

    @raise FramingError: a malformed or folded field line.
    """
    if _FIELD_LINES.fullmatch(head, start) is None:
        raise FramingError(f"malformed header fields: {head[start:start + 80]!r}")
    return [(name, value.strip(b" \t"))
            for name, value in _FRAMING_FIELD.findall(head.lower(), start - 2)]


def body_of(fields: list[tuple[bytes, bytes]]) -> int:
    """How the body after a head with C{fields} is delimited: a length,
    L{CHUNKED} or L{NO_BODY}.

    @raise FramingError: the fields are ambiguous or not understood.
    """
    lengths: set[bytes] = set()
    codings = []
    for name, value in fields:
        if name == b"content-length":
            lengths.update(length.strip() for length in value.split(b","))
        elif name == b"transfer-encoding":
            codings.append(value)
    if codings:
        if lengths:
            raise FramingError("both Content-Length and Transfer-Encoding")
        if len(codings) > 1 or codings[0] != b"chunked":
            raise FramingError(f"transfer coding {b', '.join(codings)!r} is not chunked alone")
        return CHUNKED
    if not lengths:
        return NO_BODY
    if len(lengths) > 1:
        raise FramingError(f"conflicting Content-Length values {sorted(lengths)!r}")
    length = lengths.pop()
    if not length.isdigit() or len(length) > 20:
        raise FramingError(f"bad Content-Length {length!r}")
    return int(length)
