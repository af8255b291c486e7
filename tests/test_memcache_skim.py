"""Tests for skimming memcached traffic: L{vaurien.protocols.memcache.skim}'s
skimmers and L{MemcacheFraming}'s L{vaurien.interfaces.ISkimming} side,
held to what the framers of L{vaurien.protocols.memcache.framing} cut."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.test_memcache_framer import (
    QUIET, _chunks, meta, reply_to, retrieval, simple, storage,
)
from vaurien.interfaces import ISkimming
from vaurien.protocols.framing import FramingError
from vaurien.protocols.memcache import MemcacheFraming

_SETTINGS = settings(max_examples=200, deadline=None)

#: Requests that keep a connection framed, as C{(bytes, command,
#: expects_reply)}: storage with data blocks, retrievals over several
#: keys, delete/incr/touch, noreply, version, stats, meta commands.
_request = st.one_of(
    storage(), simple(), retrieval(), meta().filter(lambda request: request[2] != QUIET),
    st.sampled_from([(b"version\r\n", b"VERSION", True), (b"stats\r\n", b"STATS", True),
                     (b"stats slabs\r\n", b"STATS", True)]),
)
_requests = st.lists(_request, min_size=1, max_size=10)


@st.composite
def _exchanges(draw):
    """Requests, each with its reply (C{b""} when none comes)."""
    return [(raw, draw(reply_to(command)) if expects else b"")
            for raw, command, expects in draw(_requests)]


def _cut_count(stream: bytes) -> int:
    """How many requests the framer cuts from C{stream}."""
    return len(MemcacheFraming().feed_requests(stream))


def _mutated(draw, stream: bytes) -> bytes:
    """C{stream} with a few bytes inserted, deleted or replaced."""
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(stream)))
        edit = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.one_of(st.binary(min_size=1, max_size=4),
                               st.sampled_from([b"\r\n", b"\r", b"\n", b" ", b"0", b"q",
                                                b"\x80", b"\x81", b"noreply", b"END"])))
        if edit == "insert":
            stream = stream[:at] + piece + stream[at:]
        elif edit == "delete":
            stream = stream[:at] + stream[at + len(piece):]
        else:
            stream = stream[:at] + piece + stream[at + len(piece):]
    return stream


class SkimmingTests(SynchronousTestCase):
    """L{MemcacheFraming} follows a connection it does not cut."""

    def test_interface(self) -> None:
        verifyObject(ISkimming, MemcacheFraming())

    @_SETTINGS
    @given(_exchanges(), st.data())
    def test_any_split_counts_what_cutting_cuts(self, exchanges, data) -> None:
        """However the streams are cut, the skim counts the requests the
        framer cuts, and the framing rests once every reply is in, and
        not before."""
        up = b"".join(raw for raw, _ in exchanges)
        down = b"".join(reply for _, reply in exchanges)
        framing = MemcacheFraming()
        count = sum(framing.skim_requests(chunk) for chunk in _chunks(data.draw, up))
        self.assertEqual(count, _cut_count(up))
        self.assertEqual(count, len(exchanges))
        consumed = 0
        for chunk in _chunks(data.draw, down):
            self.assertEqual(framing.resting, consumed == len(down))
            framing.skim_replies(chunk)
            consumed += len(chunk)
        self.assertTrue(framing.resting)

    @_SETTINGS
    @given(_exchanges(), st.data())
    def test_cutting_and_skimming_take_turns_at_rest(self, exchanges, data) -> None:
        """Request by request, in any chunks, skimmed or cut: the framing
        rests exactly between exchanges, and either way takes over from
        the other there."""
        framing = MemcacheFraming()
        for raw, reply in exchanges:
            skim = data.draw(st.booleans())
            requests, fed = [], 0
            for chunk in _chunks(data.draw, raw):
                self.assertEqual(framing.resting, not fed or (fed == len(raw) and not reply))
                fed += len(chunk)
                if skim:
                    requests += [None] * framing.skim_requests(chunk)
                else:
                    for request in framing.feed_requests(chunk):
                        requests.append(request)
                        if request.expects_reply:
                            framing.expect_reply(request)
            self.assertEqual(len(requests), 1)
            replies, fed = [], 0
            for chunk in _chunks(data.draw, reply):
                self.assertEqual(framing.resting, fed == len(reply))
                fed += len(chunk)
                if skim:
                    framing.skim_replies(chunk)
                    replies = [None] if reply and framing.resting else []
                else:
                    replies += framing.feed_replies(chunk)
            self.assertEqual(len(replies), bool(reply))
            self.assertTrue(framing.resting)
            if not skim and reply:
                self.assertEqual(replies[0].data, reply)

    @_SETTINGS
    @given(_exchanges(), st.data())
    def test_near_misses_end_as_cutting_does(self, exchanges, data) -> None:
        """Valid streams with a few bytes changed: the skim fails where
        cutting fails or turns into a tunnel, and otherwise counts the
        same requests and replies."""
        up = b"".join(raw for raw, _ in exchanges)
        down = b"".join(reply for _, reply in exchanges)
        if data.draw(st.booleans()):
            up = _mutated(data.draw, up)
        else:
            down = _mutated(data.draw, down)
        up_chunks, down_chunks = _chunks(data.draw, up), _chunks(data.draw, down)
        cut, skimmed = MemcacheFraming(), MemcacheFraming()
        try:
            requests = [frame for chunk in up_chunks for frame in cut.feed_requests(chunk)]
            if any(request.tunnel for request in requests):
                raise FramingError("a tunnel")
            for request in requests:
                if request.expects_reply:
                    cut.expect_reply(request)
            replies = [frame for chunk in down_chunks for frame in cut.feed_replies(chunk)]
        except FramingError:
            with self.assertRaises(FramingError):
                for chunk in up_chunks:
                    skimmed.skim_requests(chunk)
                for chunk in down_chunks:
                    skimmed.skim_replies(chunk)
                skimmed.skim_replies(b"")  # a failure after whole requests is told next
            return
        self.assertEqual(sum(skimmed.skim_requests(chunk) for chunk in up_chunks),
                         len(requests))
        for chunk in down_chunks:
            skimmed.skim_replies(chunk)
        self.assertEqual(list(skimmed.replies.awaited), list(cut.replies.awaited))
        self.assertEqual(skimmed.resting, cut.resting)
        self.assertEqual(len(replies) + len(cut.replies.awaited),
                         sum(request.expects_reply for request in requests))

    @_SETTINGS
    @given(st.lists(st.binary(max_size=30), max_size=8),
           st.lists(st.binary(max_size=30), max_size=8))
    def test_random_bytes(self, up, down) -> None:
        """Random bytes either way raise nothing but L{FramingError}."""
        framing = MemcacheFraming()
        framing.skim_requests(b"get a b\r\nstats\r\nmg k v\r\nset k 0 0 1\r\nx\r\ngets c\r\n")
        for chunks, skim in ((up, framing.skim_requests), (down, framing.skim_replies)):
            try:
                for chunk in chunks:
                    skim(chunk)
            except FramingError:
                pass

    def test_quiet_mode_is_a_tunnel(self) -> None:
        """A meta request in quiet mode ends skimming, as it ends cutting:
        it counts, as the requests before it do, and the next bytes either
        way raise L{FramingError}."""
        for request in (b"mg k v q\r\n", b"md k q\r\n", b"ms k 2 q T0\r\nab\r\n"):
            for skim in ("skim_requests", "skim_replies"):
                framing = MemcacheFraming()
                self.assertEqual(framing.skim_requests(b"get a\r\n" + request + b"mn\r\n"), 2)
                self.assertFalse(framing.resting)
                self.assertRaises(FramingError, getattr(framing, skim), b"END\r\n")

    def test_quiet_set_fails_once_its_block_is_in(self) -> None:
        framing = MemcacheFraming()
        self.assertEqual(framing.skim_requests(b"ms k 2 q\r\na"), 0)
        self.assertEqual(framing.skim_requests(b"b\r\n"), 1)
        self.assertRaises(FramingError, framing.skim_requests, b"mn\r\n")

    def test_failure_alone_raises_at_once(self) -> None:
        """Bytes that complete no request before failing raise at once."""
        framing = MemcacheFraming()
        self.assertEqual(framing.skim_requests(b"get a\r\n"), 1)
        self.assertRaises(FramingError, framing.skim_requests, b"set k 0 0\r\n")

    def test_binary_protocol(self) -> None:
        """The binary protocol's magic bytes end skimming."""
        self.assertRaises(FramingError, MemcacheFraming().skim_requests, b"\x80\x00\x00\x05")
        framing = MemcacheFraming()
        framing.skim_requests(b"get k\r\n")
        self.assertRaises(FramingError, framing.skim_replies, b"\x81\x00")

    def test_reply_to_no_request(self) -> None:
        framing = MemcacheFraming()
        framing.skim_replies(b"STOR")
        self.assertFalse(framing.resting)
        self.assertRaises(FramingError, framing.skim_replies, b"ED\r\n")

    def test_data_blocks_are_skipped_not_kept(self) -> None:
        """A large value fed byte by byte is counted once and never held."""
        framing = MemcacheFraming()
        value = b"\r\n" * 50_000
        raw = b"set k 0 0 100000\r\n" + value + b"\r\n"
        count = 0
        for at in range(len(raw)):
            count += framing.skim_requests(raw[at:at + 1])
            self.assertLessEqual(len(framing._request_skimmer._carry), 20)
        self.assertEqual(count, 1)
        reply = b"VALUE k 0 100000\r\n" + value + b"\r\nEND\r\n"
        framing.skim_requests(b"get k\r\n")
        framing.skim_replies(b"STORED\r\n")
        for at in range(0, len(reply), 7):
            self.assertFalse(framing.resting)
            framing.skim_replies(reply[at:at + 7])
            self.assertLessEqual(len(framing._reply_skimmer._carry), 20)
        self.assertTrue(framing.resting)

    def test_block_end_split_across_chunks(self) -> None:
        """The C{\\r\\n} after a data block is checked across chunks, and
        the fault is said once the block is whole, as cutting says it."""
        framing = MemcacheFraming()
        self.assertEqual(framing.skim_requests(b"set k 0 0 2\r\nab\r"), 0)
        self.assertEqual(framing.skim_requests(b"\nget k\r"), 1)
        self.assertEqual(framing.skim_requests(b"\n"), 1)
        framing = MemcacheFraming()
        self.assertEqual(framing.skim_requests(b"set k 0 0 2\r\nab\n"), 0)
        self.assertRaises(FramingError, framing.skim_requests, b"\r")

    def test_line_limit(self) -> None:
        """A line over 8 KiB ends skimming, even without its end."""
        framing = MemcacheFraming()
        framing.skim_requests(b"get " + b"k" * 8000)
        self.assertRaises(FramingError, framing.skim_requests, b"k" * 200)
        framing = MemcacheFraming()
        self.assertEqual(framing.skim_requests(b"get " + b"k" * 8187 + b"\r"), 0)
        self.assertEqual(framing.skim_requests(b"\n"), 1)
        self.assertRaises(FramingError, framing.skim_requests, b"get " + b"k" * 8188 + b"\r")

    def test_stats_and_meta_replies(self) -> None:
        framing = MemcacheFraming()
        framing.skim_requests(b"stats\r\nmg k v\r\nmn\r\n")
        framing.skim_replies(b"STAT pid 1\r\nSTAT uptime 2\r\nEND\r\nVA 2 t\r\nxy")
        self.assertFalse(framing.resting)
        framing.skim_replies(b"\r\nMN\r\n")
        self.assertTrue(framing.resting)
        self.assertEqual([f.command for f in framing.feed_requests(b"version\r\n")],
                         [b"VERSION"])

