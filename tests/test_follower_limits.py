"""The followers and skimmers at the edges: limits near the largest
integers (C and Python give the same answers, and C reads nothing out of
bounds), a C Follower made without C{__init__}, a follower that fails
some other way (only a L{FramingError} comes out), and the HTTP header
limit, refused at start when out of range.

The C calls that crashed or read out of bounds run in a subprocess.
"""
from __future__ import annotations

import sys
from collections import deque

from twisted.python import usage
from twisted.trial.unittest import TestCase

from tests.accelerators import in_use
from tests.processes import python_output
from tests.test_config import parse
from vaurien.protocols.framing import FramingError
from vaurien.protocols.http.skim import SkimmingHttpFraming
from vaurien.protocols.redis import RedisFraming
from vaurien.protocols.redis.skim import py_skim_commands, py_skim_plain_replies

HUGE = 2**63 - 1
REQUEST = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
RESPONSE = b"HTTP/1.1 204 No Content\r\n\r\n"


def _c_answers(module: str, calls: list[str]) -> list:
    """What the C module answers to each of C{calls}, in a subprocess."""
    script = f"from collections import deque\nimport {module} as c\n" + "".join(
        f"print(repr(c.{call}))\n" for call in calls)
    return [eval(line) for line in python_output(script).splitlines()]


class _CModuleTests(TestCase):
    module = ""

    def setUp(self):
        in_use(self.module)

    def assertFollowersRaiseFramingErrors(self, follower, data: bytes) -> None:
        for follow in (follower.requests, follower.replies):
            with self.assertRaises(FramingError) as caught:
                follow(data)
            self.assertIsInstance(caught.exception.__cause__, ValueError)


class SkimLimitsTests(_CModuleTests):
    module = "vaurien.protocols.redis._skim"

    def test_huge_limits_give_python_answers(self):
        cases = [
            ("skim_commands", (b"*1\r\n$9223372036854775807\r\n", 1, HUGE, 10)),
            ("skim_commands", (b"*1\r\n$9223372036854775800\r\nab\r\n", 1, HUGE, 10)),
            ("skim_plain_replies", (b"$9223372036854775807\r\n", HUGE, 10)),
            ("skim_plain_replies", (b"+OK\r\n:1\r\n", 10, HUGE)),
            ("skim_plain_replies", (b"+OK\r\n-ERR no\r\n", 10, HUGE - 2)),
        ]
        python = {"skim_commands": py_skim_commands, "skim_plain_replies": py_skim_plain_replies}
        expected = [python[name](*args) for name, args in cases]
        self.assertEqual(_c_answers(self.module, [f"{n}{a!r}" for n, a in cases]), expected)
        self.assertEqual(expected[3:], [(9, 2), (14, 2)])

    def test_a_follower_made_without_init_refuses_to_follow(self):
        script = (
            "from vaurien.protocols.redis._skim import Follower\n"
            "follower = Follower.__new__(Follower)\n"
            "for follow in (follower.requests, follower.replies):\n"
            "    try:\n"
            "        follow(b'+OK\\r\\n')\n"
            "    except Exception as e:\n"
            "        print(type(e).__name__)\n"
        )
        self.assertEqual(python_output(script), "FramingError\n" * 2)

    def test_only_framing_errors_come_out_of_a_follower(self):
        from vaurien.protocols.redis._skim import Follower, Tally
        follower = Follower(Tally(), _broken, _broken, (8, 8, 8), (8, 8))
        self.assertFollowersRaiseFramingErrors(follower, b"*1\r\n$4\r\nPING\r\n")


class HttpSkimLimitsTests(_CModuleTests):
    module = "vaurien.protocols.http._skim"

    def test_huge_limits_find_the_end_of_the_head(self):
        """From a start past 0, where the start plus the limit overflows."""
        answers = _c_answers(self.module, [
            f"skim_requests({b'x' + REQUEST!r}, 1, {sys.maxsize})",
            f"skim_responses({b'x' + RESPONSE!r}, 1, {sys.maxsize}, deque([b'GET']))",
        ])
        self.assertEqual(answers, [(1 + len(REQUEST), [b"GET"], 0), (1 + len(RESPONSE), 1, 0)])

    def test_a_follower_made_without_init_refuses_to_follow(self):
        script = (
            "from vaurien.protocols.http._skim import Follower\n"
            "follower = Follower.__new__(Follower)\n"
            "for follow in (follower.requests, follower.replies):\n"
            "    try:\n"
            "        follow(b'GET / HTTP/1.0\\r\\n\\r\\n')\n"
            "    except Exception as e:\n"
            "        print(type(e).__name__)\n"
        )
        self.assertEqual(python_output(script), "FramingError\n" * 2)

    def test_only_framing_errors_come_out_of_a_follower(self):
        from vaurien.protocols.http._skim import Follower

        class Broken:
            plain = False
            feed = staticmethod(_broken)
        follower = Follower(Broken(), Broken(), deque(), 65536)
        self.assertFollowersRaiseFramingErrors(follower, REQUEST)

    def test_a_limit_past_ssize_t_stops_following_only(self):
        """As a C{--protocol-http-max-header-size} past C{sys.maxsize}
        did, before it was refused at start: an OverflowError."""
        framing = SkimmingHttpFraming(2**64, 1024)
        with self.assertRaises(FramingError):
            framing.skim_requests(REQUEST)


def _broken(data: bytes) -> list:
    raise ValueError("a bug")


class FollowerErrorTests(TestCase):
    """The followers in Python."""

    def test_only_framing_errors_come_out_of_python_followers(self):
        framing = SkimmingHttpFraming(65536, 1024)
        framing._skimmed_requests.feed = _broken
        with self.assertRaises(FramingError) as caught:
            framing.skim_requests(REQUEST)
        self.assertIsInstance(caught.exception.__cause__, ValueError)

    def test_keyboard_interrupt_goes_on_up(self):
        framing = RedisFraming()

        def interrupted(data: bytes) -> list:
            raise KeyboardInterrupt()
        framing.replies.follow = interrupted
        framing.expect_reply(None)
        with self.assertRaises(KeyboardInterrupt):
            framing.skim_replies(b"|1\r\n")


class HeaderLimitConfigTests(TestCase):
    def test_extreme_header_limits_are_refused_naming_the_key(self):
        for value in ("3", "0", "99999999999999999999", str((1 << 30) + 1)):
            error = self.assertRaises(
                usage.UsageError, parse, "--protocol", "http",
                "--protocol-http-max-header-size", value)
            self.assertIn("--protocol-http-max-header-size", str(error))
            self.assertIn("from 64 to 1073741824", str(error))

    def test_the_limits_in_range_are_taken(self):
        for value in (64, 1 << 30):
            settings = parse("--protocol", "http", "--protocol-http-max-header-size", str(value))
            self.assertEqual(settings.proxies[0].protocol_options["max_header_size"], value)
