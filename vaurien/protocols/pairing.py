"""The part of an L{IFraming} that most protocols share: a request framer
for the client's stream and a reply framer for the backend's."""
from __future__ import annotations

import typing

from vaurien.protocols.framing import Frame


class Framer(typing.Protocol):
    """What L{PairedFraming} needs of a framer."""

    def feed(self, data: bytes) -> list[Frame]:
        """Take the next bytes of the stream; return the frames they complete."""

    def held(self) -> bytes:
        """The bytes not given out in frames."""


class PairedFraming:
    """Feeds each direction to its framer; requests go to the backend as
    they came, and the end of the backend's stream completes no reply.

    Subclasses say how a reply is announced (L{expect_reply}) and declare
    C{@implementer(IFraming)}.

    @ivar requests: the framer of the client's stream.
    @ivar replies: the framer of the backend's stream.
    @ivar pending: bytes fed to either framer and not yet given out in a
        frame.
    """

    def __init__(self, requests: Framer, replies: Framer) -> None:
        self.requests = requests
        self.replies = replies
        self.pending = 0

    def _feed(self, framer: Framer, data: bytes) -> list[Frame]:
        """Feed C{framer}, keeping L{pending}."""
        self.pending += len(data)
        frames = framer.feed(data)
        self.pending -= sum(len(frame.data) for frame in frames)
        return frames

    def feed_requests(self, data: bytes) -> list[Frame]:
        """Bytes from the client; return the requests they complete."""
        return self._feed(self.requests, data)

    def expect_reply(self, request: Frame) -> None:
        """C{request} went to the backend: its reply comes next in order."""
        raise NotImplementedError()

    def feed_replies(self, data: bytes) -> list[Frame]:
        """Bytes from the backend; return the replies they complete."""
        return self._feed(self.replies, data)

    def replies_ended(self) -> list[Frame]:
        """A reply never ends with the stream: nothing more to give."""
        return []

    def unframed(self) -> tuple[bytes, bytes]:
        """The bytes each framer holds, C{(from_client, from_backend)},
        for the fall-back to tcp."""
        return self.requests.held(), self.replies.held()

    def rewrite_request(self, request: Frame) -> bytes:
        """Requests go to the backend as they came."""
        return request.data
