"""Restricted-area and loitering rules: dwell, exit grace, cooldown, episodes."""

from __future__ import annotations

import pytest

from tests.rules.scenes import (
    CAMERA,
    FRAME_SIZE,
    Walk,
    at,
    frame_of,
    obj,
    play,
    rule,
    rule_set,
)
from watchfloor.rules.evaluator import RuleEvaluator
from watchfloor.tracking.tracker import TrackerUpdate

# min_dwell 0.5 s is 3 frames after entry at 5 frames/s (0.6 s); the exit
# grace of 1 s is 5 frames outside.
DWELL_CASES = [
    pytest.param({}, ".##........", [], id="pass-through-below-dwell"),
    pytest.param({}, ".######", [("started", 4, 4, None)], id="stay"),
    pytest.param(
        {},
        ".#####.......",
        [("started", 4, 4, None), ("ended", 11, 4, 6)],
        id="stay-then-leave-ends-at-first-frame-outside",
    ),
    pytest.param(
        {},
        ".####.#.#.###......",
        [("started", 4, 4, None), ("ended", 18, 4, 13)],
        id="jitter-on-edge-within-grace-is-one-alert",
    ),
    pytest.param(
        {},
        ".#####...####......",
        [("started", 4, 4, None), ("ended", 18, 4, 13)],
        id="back-within-grace-is-the-same-visit",
    ),
    pytest.param({}, ".eeeeee", [("started", 4, 4, None)], id="edge-counts-as-in"),
    pytest.param(
        {},
        ".#.#.#",
        [("started", 5, 5, None)],
        id="dwell-counts-from-entry-through-short-exits",
    ),
    pytest.param(
        {},
        ".#####......#####",
        [("started", 4, 4, None), ("ended", 11, 4, 6), ("started", 15, 15, None)],
        id="leave-and-reenter-no-cooldown",
    ),
    pytest.param(
        {"cooldown": 3.0},
        ".#####......##########",
        [("started", 4, 4, None), ("ended", 11, 4, 6), ("started", 19, 19, None)],
        id="reenter-within-cooldown-alerts-once-it-is-over",
    ),
    pytest.param(
        {"cooldown": 30.0},
        ".#####......#####.......",
        [("started", 4, 4, None), ("ended", 11, 4, 6)],
        id="reenter-and-leave-within-cooldown-no-second-alert",
    ),
    pytest.param({"min_dwell": 0.0}, ".#", [("started", 1, 1, None)], id="no-dwell"),
    pytest.param(
        {"min_dwell": 0.4},
        ".####",
        [("started", 3, 3, None)],
        id="dwell-exactly-met-counts",
    ),
    pytest.param({}, "......", [], id="never-inside"),
]


@pytest.mark.parametrize(("fields", "path", "expected"), DWELL_CASES)
def test_restricted_area(
    fields: dict[str, float], path: str, expected: list[tuple[object, ...]]
) -> None:
    played = play(rule(**fields), path + "......")
    # The walk ends after it: any episode still open ends with the track.
    summary = [s for s in played.summary() if s[1] < len(path)]
    assert summary == expected


@pytest.mark.parametrize(
    ("limit_s", "path", "expected"),
    [
        pytest.param(1.0, ".########", [("started", 7, 7, None)], id="over-limit"),
        pytest.param(1.0, ".######.......", [], id="exactly-limit-is-not-over"),
        pytest.param(1.0, ".#####", [], id="under-limit"),
        pytest.param(
            0.5,
            ".####......",
            [("started", 4, 4, None), ("ended", 10, 4, 5)],
            id="short-limit-then-leave",
        ),
    ],
)
def test_loitering(
    limit_s: float, path: str, expected: list[tuple[object, ...]]
) -> None:
    played = play(rule("loitering", limit_s=limit_s), path)
    assert played.summary() == expected
    for signal in played.started():
        assert signal.rule_kind == "loitering"


def test_started_signal_carries_the_qualifying_frame() -> None:
    walk = Walk(".#######-", scores=[0.9, 0.6, 0.95] + [0.7] * 6)
    played = play(rule(), walk)
    started, ended = played.started(), played.ended()
    assert len(started) == 1
    signal = started[0]
    assert signal.camera == CAMERA
    assert signal.rule == "watch"
    assert signal.rule_kind == "restricted_area"
    assert (signal.zone, signal.line) == ("yard", None)
    assert signal.track_id == 1 and signal.track_ids == (1,)
    assert signal.label == "person"
    assert signal.score == pytest.approx(0.95), "best score so far, not the latest"
    assert frame_of(signal.entered_at) == 1
    assert frame_of(signal.start) == 4
    assert signal.end is None
    assert signal.box == (380.0, 220.0, 420.0, 320.0)  # feet at (0.4, 0.4)
    assert len(ended) == 1
    assert ended[0].key == signal.key
    assert ended[0].end == at(7), "a track that ends ends at its last frame"


def test_each_track_has_its_own_episode() -> None:
    played = play(rule(), ".######", "...######", "........")
    assert [(s.track_id, frame_of(s.start)) for s in played.started()] == [
        (1, 4),
        (2, 6),
    ]
    keys = {s.key for s in played.started()}
    assert len(keys) == 2


def test_rules_on_other_cameras_are_ignored() -> None:
    evaluator = RuleEvaluator("other-camera", rule_set(rule(min_dwell=0)))
    update = TrackerUpdate(time=0.0, tracks=[obj(1, (0.4, 0.4))])
    assert evaluator.update(at(0), update, FRAME_SIZE) == []
    assert evaluator.rules.rules == ()


def test_zero_grace_ends_at_the_first_frame_outside() -> None:
    played = play(rule(), ".####.#####.", exit_grace_s=0.0)
    assert played.summary() == [
        ("started", 4, 4, None),
        ("ended", 5, 4, 5),
        ("started", 9, 9, None),
        ("ended", 11, 9, 11),
    ]
