"""Tracks lost and ended, closing the evaluator, and refused input."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.rules.scenes import (
    CAMERA,
    FRAME_SIZE,
    T0,
    Scene,
    at,
    frame_of,
    obj,
    play,
    rule,
    rule_set,
)
from watchfloor.rules.evaluator import RuleEvaluator
from watchfloor.tracking.tracker import TrackerUpdate

LIFECYCLE_CASES = [
    pytest.param(".#####~~~~####", [("started", 4, 4, None)], id="lost-keeps-it-open"),
    pytest.param(
        ".#####~~~-",
        [("started", 4, 4, None), ("ended", 9, 4, 5)],
        id="ended-track-closes-at-its-last-frame",
    ),
    pytest.param(
        ".#####-",
        [("started", 4, 4, None), ("ended", 6, 4, 5)],
        id="ended-without-being-lost",
    ),
    pytest.param(
        ".#####...~~~-",
        [("started", 4, 4, None), ("ended", 12, 4, 6)],
        id="ended-while-leaving-ends-when-it-left",
    ),
    pytest.param(
        ".##~~~~~~##",
        [("started", 9, 9, None)],
        id="time-lost-inside-counts-as-dwell",
    ),
    pytest.param(".##~~-", [], id="ended-before-dwell"),
]


@pytest.mark.parametrize(("path", "expected"), LIFECYCLE_CASES)
def test_track_lifecycle(path: str, expected: list[tuple[object, ...]]) -> None:
    assert play(rule(), path).summary() == expected


def test_a_track_missing_from_an_update_is_over() -> None:
    # Not listed as ended, not lost: it is gone all the same.
    evaluator = RuleEvaluator(CAMERA, rule_set(rule(min_dwell=0)))
    first = evaluator.update(
        at(0), TrackerUpdate(0.0, tracks=[obj(1, (0.4, 0.4))]), FRAME_SIZE
    )
    assert [s.kind for s in first] == ["started"]
    gone = evaluator.update(at(1), TrackerUpdate(0.2), FRAME_SIZE)
    assert [(s.kind, s.end) for s in gone] == [("ended", at(0))]
    assert evaluator.open_episodes == ()


def test_close_ends_every_open_episode() -> None:
    rules = rule_set(
        rule(name="area", min_dwell=0),
        rule("loitering", name="loiter", limit_s=0.1),
        rule("occupancy", name="crowd", min_dwell=0),
        rule("line_crossing", name="door"),
    )
    scene = Scene(RuleEvaluator(CAMERA, rules))
    for cells in ["##", "##", "#."]:
        scene.step({i + 1: (c, "person", 0.9) for i, c in enumerate(cells)})
    assert len(scene.evaluator.open_episodes) == 5  # 2 area, 2 loiter, 1 crowd
    ended = scene.close()
    assert len(ended) == 5
    assert {s.rule for s in ended} == {"area", "loiter", "crowd"}
    # Track 2 was leaving (in its exit grace): its episodes end when it left.
    ends = {(s.rule, s.track_id): frame_of(s.end) for s in ended}  # type: ignore[arg-type]
    assert ends == {
        ("area", 1): 3,
        ("area", 2): 2,
        ("loiter", 1): 3,
        ("loiter", 2): 2,
        ("crowd", None): 2,
    }
    assert scene.evaluator.open_episodes == ()
    assert scene.open_keys == set()
    assert scene.close() == []


def test_evaluator_works_again_after_close() -> None:
    scene = Scene(RuleEvaluator(CAMERA, rule_set(rule(min_dwell=0, cooldown=60))))
    scene.step({1: ("#", "person", 0.9)})
    scene.close()
    # Tracker ids keep counting up after the tracker closes.
    scene.step({2: ("#", "person", 0.9)})
    assert [s.track_id for s in scene.played.started()] == [1, 2]


@pytest.mark.parametrize(
    ("time", "frame_size", "message"),
    [
        pytest.param(
            datetime(2026, 1, 5, 12, 0, 1), FRAME_SIZE, "time zone", id="naive"
        ),
        pytest.param(T0 - timedelta(seconds=1), FRAME_SIZE, "go back", id="back"),
        pytest.param(at(5), (0, 800), "positive", id="no-width"),
        pytest.param(at(5), (1000, -1), "positive", id="negative-height"),
    ],
)
def test_refused_input_changes_nothing(
    time: datetime, frame_size: tuple[int, int], message: str
) -> None:
    evaluator = RuleEvaluator(CAMERA, rule_set(rule(min_dwell=0.2)))
    inside = TrackerUpdate(0.0, tracks=[obj(1, (0.4, 0.4))])
    assert evaluator.update(T0, inside, FRAME_SIZE) == []
    with pytest.raises(ValueError, match=message):
        evaluator.update(time, inside, frame_size)
    # The refused frame did not count: the next frame carries on from T0.
    signals = evaluator.update(at(1), inside, FRAME_SIZE)
    assert [(s.kind, s.start, s.entered_at) for s in signals] == [
        ("started", at(1), T0)
    ]


def test_negative_grace_is_refused() -> None:
    with pytest.raises(ValueError, match="exit_grace_s"):
        RuleEvaluator(CAMERA, rule_set(rule()), exit_grace_s=-1)
