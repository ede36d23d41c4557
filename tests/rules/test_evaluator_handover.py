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


# The first track alerts at frame 4, is last seen at frame 6, and stays in the
# tracker's lost buffer until frame 15.
LOST = ".######~~~~~~~~~-" + "-" * 10

LOST_CASES = [
    pytest.param("-" * 9 + "#####", 1, id="new-id-while-the-old-one-is-lost"),
    pytest.param("-" * 9 + "eeeee", 2, id="new-id-far-from-the-lost-one"),
    pytest.param("-" * 23 + "#####", 2, id="new-id-long-after-it-was-lost"),
]


@pytest.mark.parametrize(("second", "alerts"), LOST_CASES)
def test_lost_track_hands_its_visit_over(second: str, alerts: int) -> None:
    played = play(rule(), LOST, second)
    assert len(played.started()) == alerts


def test_a_lost_track_is_continued_once() -> None:
    # Two new tracks appear where the lost one was: the second is another
    # person (the first took the lost track's place).
    played = play(rule(), LOST, "-" * 9 + "#####", "-" * 10 + "#####")
    assert len(played.started()) == 2


def test_a_continued_visit_hands_over_again() -> None:
    # Lost, found under a new id that is lost in turn, found under a third.
    played = play(rule(), VANISHES, "-" * 9 + "####---", "-" * 17 + "#####")
    assert len(played.started()) == 1


def test_a_continued_visit_is_one_visit_not_the_tracks_last() -> None:
    # Found under a new id, the object walks out and later comes back in: the
    # new visit is its own and alerts.
    second = "-" * 9 + "#####" + "." * 7 + "#####"
    played = play(rule(), VANISHES, second)
    assert len(played.started()) == 2
