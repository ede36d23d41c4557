"""Line-crossing rules: direction, touching, the segment's extent, cooldown."""

from __future__ import annotations

import pytest

from tests.rules.scenes import Walk, frame_of, play, rule

# The door runs from a = (0.5, 0.2) down to b = (0.5, 0.8): 'l' is on its
# left as seen walking from a to b, 'r' on its right, 'o' on it; 'L', 'R' and
# 'x' are left, right and on its line but below the end b.
LINE_CASES = [
    pytest.param("a_to_b", "llrr", [2], id="a_to_b-crossed"),
    pytest.param("a_to_b", "rrll", [], id="a_to_b-other-way"),
    pytest.param("b_to_a", "rrll", [2], id="b_to_a-crossed"),
    pytest.param("b_to_a", "llrr", [], id="b_to_a-other-way"),
    pytest.param("any", "llrrll", [2, 4], id="any-both-ways"),
    pytest.param("any", "lolol", [], id="touching-and-back"),
    pytest.param("any", "lolLR", [], id="touching-back-then-around-the-end"),
    pytest.param("any", "loooorr", [5], id="through-the-line-in-steps"),
    pytest.param("a_to_b", "lorolr", [2, 5], id="each-crossing-counts"),
    pytest.param("any", "LLRR", [], id="beyond-the-segment-end"),
    pytest.param("any", "lLRr", [], id="around-the-end"),
    pytest.param("any", "lxr", [], id="over-the-extension-of-the-line"),
    pytest.param("any", "orrl", [3], id="first-seen-on-the-line"),
    pytest.param("any", "ll~~rr", [4], id="crossed-while-lost"),
    pytest.param("any", "lllll", [], id="stays-on-one-side"),
]


@pytest.mark.parametrize(("direction", "path", "expected"), LINE_CASES)
def test_line_crossing(direction: str, path: str, expected: list[int]) -> None:
    played = play(rule("line_crossing", direction=direction), path)
    # One instantaneous episode per crossing: started and ended together.
    assert played.summary() == [
        (kind, frame, frame, frame)
        for frame in expected
        for kind in ("started", "ended")
    ]
    for signal in played.started():
        assert (signal.line, signal.zone) == ("door", None)
        assert signal.entered_at == signal.start == signal.end
        assert signal.track_id == 1


@pytest.mark.parametrize(
    ("path", "directions"),
    [
        pytest.param("lr", ["a_to_b"], id="left-to-right-is-a_to_b"),
        pytest.param("rl", ["b_to_a"], id="right-to-left-is-b_to_a"),
        pytest.param("lrl", ["a_to_b", "b_to_a"], id="there-and-back"),
    ],
)
def test_crossing_direction_is_reported(path: str, directions: list[str]) -> None:
    played = play(rule("line_crossing"), path)
    assert [s.direction for s in played.started()] == directions


@pytest.mark.parametrize(
    ("cooldown", "path", "expected"),
    [
        pytest.param(0.0, "lrlrl", [1, 2, 3, 4], id="no-cooldown"),
        pytest.param(10.0, "lrlrl", [1], id="cooldown-per-track"),
        pytest.param(0.4, "lrlrl", [1, 3], id="cooldown-over-after-two-frames"),
    ],
)
def test_crossing_cooldown(cooldown: float, path: str, expected: list[int]) -> None:
    played = play(rule("line_crossing", cooldown=cooldown), path)
    assert [frame_of(s.start) for s in played.started()] == expected


def test_cooldown_is_per_track() -> None:
    played = play(rule("line_crossing", cooldown=10.0), "lrl", "llrl")
    assert [(s.track_id, frame_of(s.start)) for s in played.started()] == [
        (1, 1),
        (2, 2),
    ]


def test_crossing_respects_classes_and_score() -> None:
    played = play(
        rule("line_crossing", classes=["car"], min_score=0.7),
        Walk("lr", label="person"),
        Walk("lr", label="car", scores=0.6),
        Walk("lr", label="car", scores=0.8),
    )
    assert [s.track_id for s in played.started()] == [3]
