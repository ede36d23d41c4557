"""A tracker that loses an object inside a zone and finds it under a new id."""

from __future__ import annotations

import pytest

from tests.rules.scenes import Walk, play, rule

# At 5 frames/s: the first track alerts at frame 4 and vanishes at frame 7.
VANISHES = ".######-" + "-" * 20

HANDOVER_CASES = [
    pytest.param("-" * 9 + "#####", 1, id="new-id-soon-and-near-is-the-same-visit"),
    pytest.param("-" * 9 + "eeeee", 2, id="new-id-far-away-is-another-object"),
    pytest.param("-" * 24 + "#####", 2, id="new-id-after-the-handover-time"),
]


@pytest.mark.parametrize(("second", "alerts"), HANDOVER_CASES)
def test_vanished_track_hands_its_visit_over(second: str, alerts: int) -> None:
    played = play(rule(), VANISHES, second)
    assert len(played.started()) == alerts


def test_a_track_that_walked_out_hands_nothing_over() -> None:
    left = ".#####......" + "-" * 10
    played = play(rule(), left, "-" * 13 + "#####")
    assert len(played.started()) == 2


def test_another_class_is_not_a_handover() -> None:
    played = play(
        rule(classes=["person", "car"]),
        VANISHES,
        Walk("-" * 9 + "#####", label="car"),
    )
    assert len(played.started()) == 2
