"""What protocol framers give: whole frames cut from a byte stream.

A framer is fed the bytes of one direction of one connection as they
arrive and returns the frames they complete, in order. It keeps only the
bytes of the frame in progress, scans each byte a bounded number of times
(never re-scanning a growing buffer), and raises L{FramingError} when the
stream stops being framable, so that the connection can fall back to
plain tcp.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from attrs import define, field

_Follow = TypeVar("_Follow", bound=Callable[..., Any])


class FramingError(Exception):
    """The stream is not (or no longer) in the protocol's format."""


def only_framing_errors(follow: _Follow) -> _Follow:
    """Let nothing but L{FramingError} out of C{follow}, a follower of
    bytes passed on already: any other error (a bug, a limit out of
    range, a MemoryError) becomes one, and the connection only stops
    being followed. A C{KeyboardInterrupt} or C{SystemExit} goes on up.
    """
    @functools.wraps(follow)
    def following(*args: Any) -> Any:
        try:
            return follow(*args)
        except FramingError:
            raise
        except Exception as e:
            raise FramingError(f"{type(e).__name__}: {e}") from e
    return following  # type: ignore[return-value]


@define
class Frame:
    """One request or one response, as bytes exactly as they were sent.

    Frames are values: nothing changes one once made (C{attrs.evolve}
    makes a changed copy). They are not frozen only because a frozen
    class costs three times as much to build, once per request and reply.

    @ivar data: the frame's bytes.
    @ivar command: for requests, the command or method in upper case
        (C{b"GET"}, C{b"SET"}); C{None} for responses.
    @ivar expects_reply: C{False} for a request that gets no response
        (memcache's C{noreply}).
    @ivar tunnel: after this frame the connection stops being framed
        (Redis C{SUBSCRIBE}/C{MONITOR}, HTTP Upgrade): the rest passes as
        plain tcp.
    @ivar faultable: C{False} for a request no fault may touch (Redis
        connection set-up: clients take a failed handshake for a dead
        server); it always gets C{dummy}.
    @ivar target: for HTTP requests, the request target (C{b"/api/x"}).
    @ivar meta: what the framing keeps about the frame for itself (an
        HTTP request's method, to read its response), opaque to others.
    """

    data: bytes
    command: bytes | None = None
    expects_reply: bool = True
    tunnel: bool = False
    faultable: bool = True
    target: bytes | None = None
    meta: Any = field(default=None, eq=False)
