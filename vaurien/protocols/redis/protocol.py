"""redis: RESP2 and RESP3 framed by command; errors answer as Redis does."""
from __future__ import annotations

from typing import Any, Callable

from attrs import evolve
from zope.interface import implementer

from vaurien.interfaces import IProtocol, IWholeRequests
from vaurien.protocols import Protocol
from vaurien.protocols.framing import Frame, FramingError, only_framing_errors
from vaurien.protocols.pairing import PairedFraming
from vaurien.protocols.redis.framing import RespReplyFramer, RespRequestFramer
from vaurien.protocols.redis.skim import Follower, Tally

_SETUP = frozenset({b"HELLO", b"AUTH", b"SELECT"})
#: CLIENT MAINT_NOTIFICATIONS: sent by redis-py 7 and later on connect.
_CLIENT_SETUP = (
    [b"CLIENT", b"SETNAME"], [b"CLIENT", b"SETINFO"], [b"CLIENT", b"MAINT_NOTIFICATIONS"]
)


def _words(data: bytes, count: int) -> list[bytes]:
    """The first C{count} words of a whole request frame, in upper case.

    @param data: a RESP array of bulk strings or an inline command.
    """
    if data[:1] != b"*":
        return [word.upper() for word in data.split(None, count)[:count]]
    words: list[bytes] = []
    pos = data.index(b"\r\n") + 2
    while len(words) < count and pos < len(data):
        end = data.index(b"\r\n", pos)
        start = end + 2
        size = int(data[pos + 1 : end])
        words.append(data[start : start + size].upper())
        pos = start + size + 2
    return words


@implementer(IWholeRequests)
class RedisFraming(PairedFraming):
    """The framing of one Redis connection.

    Connection set-up (C{HELLO}, C{AUTH}, C{SELECT}, C{CLIENT
    SETNAME}/C{SETINFO}/C{MAINT_NOTIFICATIONS}) is not faultable unless asked. C{CLIENT REPLY
    OFF}/C{SKIP} silence the server: the requests it will not answer get
    C{expects_reply=False}. RESP3 push frames answer no request.
    """

    def __init__(self, fault_setup: bool = False) -> None:
        """
        @param fault_setup: let faults touch connection set-up.
        """
        super().__init__(RespRequestFramer(), RespReplyFramer())
        self._fault_setup = fault_setup
        self._tally = Tally()  # the replies owed, shared with the C followers
        self._replies_off = False
        self._skip_next = False
        #: Why following stopped within a chunk whose earlier requests were
        #: counted: raised at the next chunk either way.
        self._skim_failure: FramingError | None = None
        self._stray = b""  # replies cut but not given out: they answer nothing
        self._note_rest()

    def _note_rest(self) -> None:
        """Tell the tally whether each direction's next chunk may be
        followed in one step: no frame held, no failure to raise, no
        C{CLIENT REPLY} mode. Every change to those ends here."""
        clear = self._skim_failure is None
        self._tally.plain_requests = clear and self.requests.idle and not (
            self._replies_off or self._skip_next)
        self._tally.plain_replies = clear and self.replies.idle

    def followers(self) -> tuple[Callable[[bytes], int], Callable[[bytes], None]]:
        """What the lane shows each chunk to, requests then replies: C
        followers that count a chunk of whole plain frames themselves and
        give any other to L{skim_requests} or L{skim_replies}, with the
        same answers; those two when the C build is missing."""
        if Follower is None:  # pragma: no cover - no compiler at install
            return self.skim_requests, self.skim_replies
        follower = Follower(self._tally, self.skim_requests, self.skim_replies,
                            self.requests.skim_limits, self.replies.skim_limits)
        return follower.requests, follower.replies

    def feed_requests(self, data: bytes) -> list[Frame]:
        return self._marked(super().feed_requests, data)

    def _marked(self, feed: Callable[[bytes], list[Frame]], data: bytes) -> list[Frame]:
        """The requests C{feed} makes of C{data}, marked."""
        try:
            return [self._mark(frame) for frame in feed(data)]
        finally:
            self._note_rest()

    def _mark(self, frame: Frame) -> Frame:
        """Set what the framer cannot know alone on a request."""
        if frame.command is None:
            return frame
        words = [frame.command]
        if frame.command == b"CLIENT":  # the framer's words, or the frame's
            words = frame.meta or _words(frame.data, 3)
        changes: dict[str, bool] = {}
        if not self._fault_setup and (words[0] in _SETUP or words[:2] in _CLIENT_SETUP):
            changes["faultable"] = False
        if self._silenced(words):
            changes["expects_reply"] = False
        return evolve(frame, **changes) if changes else frame

    def _silenced(self, words: list[bytes]) -> bool:
        """Whether the server will not answer the request of C{words},
        following C{CLIENT REPLY ON|OFF|SKIP} as Redis does."""
        if words[:2] == [b"CLIENT", b"REPLY"] and len(words) == 3:
            if words[2] == b"ON":
                self._replies_off = self._skip_next = False
                return False
            if words[2] == b"OFF":
                self._replies_off = True
                return True
            if words[2] == b"SKIP":
                self._skip_next = not self._replies_off
                return True
        silenced = self._replies_off or self._skip_next
        self._skip_next = False
        return silenced

    def expect_reply(self, request: Frame) -> None:
        self._tally.expected += 1

    def feed_replies(self, data: bytes) -> list[Frame]:
        """Bytes from the backend; return the replies they complete, push
        frames included.

        @raise FramingError: a reply came that no request awaits.
        """
        frames = self._replies(super().feed_replies, data)
        expected = self._tally.expected - sum(frame.command != b">" for frame in frames)
        if expected < 0:
            self._stray = b"".join(frame.data for frame in frames)
            self.pending += len(self._stray)
            raise FramingError("redis reply to no request")
        self._tally.expected = expected
        return frames

    def _replies(self, feed: Callable[[bytes], list[Frame]], data: bytes) -> list[Frame]:
        """The replies C{feed} makes of C{data}."""
        try:
            return feed(data)
        finally:
            self._note_rest()

    @property
    def resting(self) -> bool:
        return (not (self.pending or self._tally.expected) and self._skim_failure is None
                and self.requests.idle and self.replies.idle)

    def whole_requests(self, data: bytes) -> int:
        """How many requests C{data} is, when it is exactly that many whole
        plain requests (none watched: L{skim_requests} follows them in one
        step), else 0."""
        if self._skim_failure is not None or self._replies_off or self._skip_next:
            return 0
        end, count = self.requests.skim(data)
        return count if end == len(data) else 0

    @only_framing_errors
    def skim_requests(self, data: bytes) -> int:
        """Follow requests already passed on: the plain ones at C{data}'s
        start in one call (C when built), the rest followed by the framer,
        which keeps none of their bytes.

        @return: how many requests C{data} holds, up to a tunnel command
            or bytes that are not RESP (L{FramingError} then comes with
            the next chunk, unless no request came before them).
        """
        if self._skim_failure is not None:
            raise self._skim_failure
        if self._replies_off or self._skip_next:
            end, count = 0, 0
        else:
            end, count = self.requests.skim(data)
            self._tally.expected += count
        if end < len(data):
            try:
                for request in self._marked(self.requests.follow, data[end:] if end else data):
                    if request.tunnel:
                        raise FramingError(f"{request.command!r} makes it a tunnel")
                    self._tally.expected += request.expects_reply
                    count += 1
            except FramingError as e:
                if not count:
                    raise
                self._skim_failure = e
                self._note_rest()
        return count

    @only_framing_errors
    def skim_replies(self, data: bytes) -> None:
        """Follow replies already passed on, as L{skim_requests} does."""
        if self._skim_failure is not None:
            raise self._skim_failure
        end, count = self.replies.skim(data)
        if end < len(data):
            frames = self._replies(self.replies.follow, data[end:] if end else data)
            count += sum(frame.command != b">" for frame in frames)
        self._tally.expected -= count
        if self._tally.expected < 0:
            raise FramingError("redis reply to no request")

    def unframed(self) -> tuple[bytes, bytes]:
        """The bytes held, C{(from_client, from_backend)}, replies to no
        request included."""
        requests, replies = super().unframed()
        return requests, self._stray + replies


@Protocol.register
@implementer(IProtocol)
class Redis:
    """Redis: one call per command; an injected error is a Redis error
    reply (C{-ERR ...}), after which the connection goes on."""

    name = "redis"
    options = {
        "error_prefix": (
            "First word of injected errors, e.g. LOADING, READONLY, OOM, BUSY",
            str,
            "ERR",
        ),
        "error_message": ("Message of injected errors", str, "Vaurien injected error"),
        "fault_setup": (
            "Let faults touch connection set-up: HELLO, AUTH, SELECT,"
            " CLIENT SETNAME/SETINFO/MAINT_NOTIFICATIONS",
            bool,
            False,
        ),
    }
    per_call = True

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self.settings = dict(settings or {})

    def _option(self, name: str) -> Any:
        return self.settings.get(name, self.options[name][2])

    def framing(self) -> RedisFraming:
        """A new framing for one connection."""
        return RedisFraming(bool(self._option("fault_setup")))

    def unavailable_response(self, request: bytes | None) -> None:
        """Nothing: a client of a dead backend is closed."""
        return None

    def error_response(self, request: bytes | None) -> bytes:
        """C{-PREFIX message}, on one line whatever the options hold."""
        text = f"-{self._option('error_prefix')} {self._option('error_message')}"
        return " ".join(text.splitlines()).encode() + b"\r\n"
