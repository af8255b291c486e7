"""Choosing a handler by the configured shares."""
from __future__ import annotations

from collections import Counter

from attrs import frozen
from twisted.trial.unittest import TestCase

from vaurien.proxy.choice import HandlerChoice

DRAWS = 10_000


@frozen
class Entry:
    """What L{HandlerChoice} chooses among: anything with a C{percent}."""

    percent: int
    name: str


def draw(choice: HandlerChoice, count: int = DRAWS) -> list[str]:
    return [choice.choose().name for _ in range(count)]


class HandlerChoiceTests(TestCase):

    def test_shares_are_respected_over_many_draws(self):
        """Each entry gets its share within 2 points. With 10,000 draws a
        share's standard deviation is at most 0.5 point, so the bound is
        more than 4 sigma away for any seed, and the seed is fixed."""
        entries = [Entry(20, "delay"), Entry(5, "error"), Entry(75, "dummy")]
        counts = Counter(draw(HandlerChoice(entries, seed=1234)))
        self.assertEqual(sum(counts.values()), DRAWS)
        for entry in entries:
            share = 100 * counts[entry.name] / DRAWS
            # trial's assertAlmostEqual ignores delta: bound it by hand.
            self.assertLessEqual(abs(share - entry.percent), 2, f"{entry.name}: {share}%")

    def test_same_seed_gives_the_same_sequence(self):
        entries = [Entry(30, "delay"), Entry(30, "error"), Entry(40, "dummy")]
        first = draw(HandlerChoice(entries, seed=42), 1000)
        self.assertEqual(draw(HandlerChoice(entries, seed=42), 1000), first)
        self.assertNotEqual(draw(HandlerChoice(entries, seed=43), 1000), first)

    def test_single_entry_is_always_chosen(self):
        only = Entry(100, "dummy")
        choice = HandlerChoice([only])
        self.assertTrue(all(choice.choose() is only for _ in range(100)))

    def test_entry_with_no_share_is_never_chosen(self):
        entries = [Entry(0, "blackout"), Entry(50, "delay"), Entry(50, "dummy")]
        counts = Counter(draw(HandlerChoice(entries, seed=7), 2000))
        self.assertEqual(counts["blackout"], 0)
        self.assertEqual(set(counts), {"delay", "dummy"})
