"""Occupancy rules: one episode per zone while more than max_objects are inside."""

from __future__ import annotations

import pytest

from tests.rules.scenes import Walk, frame_of, play, rule

# max_objects 1 and min_dwell 0.4 s (2 frames after the count goes up); the
# count must stay down for the exit grace of 1 s (5 frames) to end it.
OCCUPANCY_CASES = [
    pytest.param(
        ["#" * 16, "..#####........."],
        [("started", 4, 4, None), ("ended", 12, 4, 7)],
        id="two-inside-for-dwell-then-one-leaves",
    ),
    pytest.param(
        ["#" * 20, "..##################"],
        [("started", 4, 4, None)],
        id="stays-high-one-episode",
    ),
    pytest.param(
        ["###.........", "...###......", "......###..."],
        [],
        id="never-two-at-once",
    ),
    pytest.param(
        ["#" * 16, "..#............."],
        [],
        id="second-inside-below-dwell",
    ),
    pytest.param(
        ["#" * 20, "..#####..#####......"],
        [("started", 4, 4, None), ("ended", 19, 4, 14)],
        id="count-dips-within-grace",
    ),
    pytest.param(
        ["#" * 20, "..##########........", "....####............"],
        [("started", 4, 4, None), ("ended", 17, 4, 12)],
        id="three-inside-is-still-one-episode",
    ),
    pytest.param(
        ["#" * 12, "..######~~~~"],
        [("started", 4, 4, None)],
        id="lost-track-still-counts",
    ),
    pytest.param(
        ["#" * 16, "..#####~~-------"],
        [("started", 4, 4, None), ("ended", 14, 4, 9)],
        id="ended-track-no-longer-counts",
    ),
    pytest.param(["." * 10, "." * 10], [], id="nobody-inside"),
]


@pytest.mark.parametrize(("paths", "expected"), OCCUPANCY_CASES)
def test_occupancy(paths: list[str], expected: list[tuple[object, ...]]) -> None:
    played = play(rule("occupancy", max_objects=1, min_dwell=0.4), *paths)
    assert played.summary() == expected
    for signal in played.started():
        assert signal.track_id is None
        assert signal.zone == "yard"
        assert signal.rule_kind == "occupancy"


def test_occupancy_signal_describes_the_crowd() -> None:
    played = play(
        rule("occupancy", max_objects=1, min_dwell=0.0, classes=["person", "car"]),
        Walk("####", label="person", scores=0.8),
        Walk(".###", label="car", scores=0.95),
    )
    (signal,) = played.started()
    assert frame_of(signal.start) == 1
    assert signal.track_ids == (1, 2)
    assert signal.label == "car,person"
    assert signal.score == pytest.approx(0.95)
    assert signal.box == (380.0, 220.0, 420.0, 320.0)  # both at the same spot


@pytest.mark.parametrize(
    ("max_objects", "inside", "expected"),
    [
        pytest.param(0, 1, 1, id="any-object-with-limit-0"),
        pytest.param(2, 2, 0, id="at-the-limit-is-not-over"),
        pytest.param(2, 3, 1, id="over-the-limit"),
    ],
)
def test_occupancy_limit(max_objects: int, inside: int, expected: int) -> None:
    walks = ["#####"] * inside + ["....."] * 2
    played = play(rule("occupancy", max_objects=max_objects, min_dwell=0.0), *walks)
    assert len(played.started()) == expected


def test_occupancy_cooldown_is_per_rule() -> None:
    # Two crowds, one after the other, made of different tracks.
    walks = [
        "####........####",
        "####............",
        "............####",
    ]
    no_cooldown = play(rule("occupancy", min_dwell=0.0), *walks)
    assert [frame_of(s.start) for s in no_cooldown.started()] == [0, 12]
    cooling = play(rule("occupancy", min_dwell=0.0, cooldown=60.0), *walks)
    assert [frame_of(s.start) for s in cooling.started()] == [0]


def test_occupancy_counts_only_the_rule_classes_and_scores() -> None:
    walks = [
        Walk("#####", label="person"),
        Walk("#####", label="car"),
        Walk("#####", label="person", scores=0.3),
    ]
    assert play(rule("occupancy", min_dwell=0.0), *walks).started() == []
    both = rule("occupancy", min_dwell=0.0, classes=["person", "car"])
    assert len(play(both, *walks).started()) == 1
    low = rule("occupancy", min_dwell=0.0, min_score=0.2)
    assert len(play(low, *walks).started()) == 1
