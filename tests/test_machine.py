"""The connection's state machine, driven input by input, without sockets."""
from __future__ import annotations

from automat import NoTransition
from twisted.trial.unittest import SynchronousTestCase

from vaurien.proxy import machine
from vaurien.proxy.machine import ConnectionMachine

MODES = [
    machine.CONNECTING, machine.JOINED, machine.RELAYING, machine.IN_LANE,
    machine.SPLICED, machine.FRAMED, machine.SKIMMING,
    machine.SKIMMING_IN_LANE, machine.SWITCHING, machine.TUNNEL, machine.CLOSED,
]


class Core:
    """Records the modes the machine puts it in."""

    def __init__(self) -> None:
        self.modes: list[str] = []

    def enter(self, mode: str) -> None:
        self.modes.append(mode)


def drive(*inputs: str) -> list[str]:
    """The modes a fresh machine goes through for C{inputs}."""
    core = Core()
    connection = ConnectionMachine(core)
    for name in inputs:
        getattr(connection, name)()
    return core.modes


class TcpLifeTests(SynchronousTestCase):
    def test_joined_then_the_fast_paths(self):
        self.assertEqual(
            drive("connected", "lane_entered", "handed_back", "spliced", "close"),
            ["joined", "in_lane", "joined", "spliced", "closed"],
        )

    def test_a_call_per_chunk(self):
        self.assertEqual(drive("connected_for_calls", "close"), ["relaying", "closed"])

    def test_keep_alive_opens_the_backend_again(self):
        self.assertEqual(
            drive("connected", "backend_dropped", "connected"),
            ["joined", "relaying", "joined"],
        )

    def test_a_joined_connection_never_skims(self):
        with self.assertRaises(NoTransition):
            drive("connected", "quiet")

    def test_a_spliced_connection_stays_spliced_until_the_end(self):
        with self.assertRaises(NoTransition):
            drive("connected", "spliced", "handed_back")


class FramedLifeTests(SynchronousTestCase):
    def test_skimming_and_back_to_framing_when_handlers_change(self):
        self.assertEqual(
            drive("connected_framed", "quiet", "lane_entered", "handed_back", "handlers_changed"),
            ["framed", "skimming", "skimming_in_lane", "skimming", "framed"],
        )

    def test_framing_stops_then_joins_once_no_call_runs(self):
        self.assertEqual(
            drive("connected_framed", "framing_stopped", "connected_framed", "switched"),
            ["framed", "switching", "switching", "tunnel"],
        )

    def test_framing_stops_while_skimming_joins_at_once(self):
        self.assertEqual(
            drive("connected_framed", "quiet", "framing_stopped"),
            ["framed", "skimming", "tunnel"],
        )

    def test_an_unreachable_backend_answered_by_the_protocol(self):
        self.assertEqual(drive("unreachable"), ["framed"])

    def test_a_skimming_connection_is_never_spliced(self):
        with self.assertRaises(NoTransition):
            drive("connected_framed", "quiet", "spliced")

    def test_a_tunnel_never_frames_again(self):
        with self.assertRaises(NoTransition):
            drive("connected_framed", "framing_stopped", "switched", "quiet")


class EndTests(SynchronousTestCase):
    def test_every_mode_closes(self):
        paths = {
            machine.CONNECTING: [],
            machine.JOINED: ["connected"],
            machine.RELAYING: ["connected_for_calls"],
            machine.IN_LANE: ["connected", "lane_entered"],
            machine.SPLICED: ["connected", "spliced"],
            machine.FRAMED: ["connected_framed"],
            machine.SKIMMING: ["connected_framed", "quiet"],
            machine.SKIMMING_IN_LANE: ["connected_framed", "quiet", "lane_entered"],
            machine.SWITCHING: ["connected_framed", "framing_stopped"],
            machine.TUNNEL: ["connected_framed", "framing_stopped", "switched"],
        }
        self.assertEqual(sorted(paths), sorted(MODES[:-1]))
        for mode, path in paths.items():
            modes = drive(*path, "close")
            self.assertEqual(modes[-2:] if path else modes, ([mode] if path else []) + ["closed"])

    def test_nothing_happens_once_closed(self):
        inputs = [name for name in vars(machine.ConnectionInputs) if not name.startswith("_")]
        self.assertEqual(drive("close", *inputs), ["closed"])
