"""Which tracks a rule looks at: classes, best score, disabled rules."""

from __future__ import annotations

import pytest

from tests.rules.scenes import CAMERA, Scene, Walk, frame_of, play, rule, rule_set
from watchfloor.rules.evaluator import RuleEvaluator

FILTER_CASES = [
    pytest.param({}, Walk(".#####", label="person"), [4], id="person-by-default"),
    pytest.param({}, Walk(".#####", label="car"), [], id="car-not-by-default"),
    pytest.param(
        {"classes": ["car", "truck"]}, Walk(".#####", label="car"), [4], id="car"
    ),
    pytest.param(
        {"classes": ["car", "truck"]},
        Walk(".#####", label="person"),
        [],
        id="person-not-a-car",
    ),
    pytest.param(
        {"min_score": 0.7},
        Walk(".#####", scores=0.6),
        [],
        id="score-never-reached",
    ),
    pytest.param(
        {"min_score": 0.7},
        Walk(".#######", scores=[0.6] * 6 + [0.8, 0.3]),
        [6],
        id="alerts-once-score-reached-inside",
    ),
    pytest.param(
        {"min_score": 0.7},
        Walk("..#####", scores=[0.9] + [0.4] * 6),
        [5],
        id="best-score-counts-not-latest",
    ),
    pytest.param(
        {"min_score": 0.7},
        Walk(".#####", scores=0.7),
        [4],
        id="score-exactly-min",
    ),
    pytest.param({"enabled": False}, Walk(".#####"), [], id="disabled"),
]


@pytest.mark.parametrize(("fields", "walk", "expected"), FILTER_CASES)
def test_filters(fields: dict[str, object], walk: Walk, expected: list[int]) -> None:
    played = play(rule(**fields), walk)
    assert [frame_of(s.start) for s in played.started()] == expected


@pytest.mark.parametrize(
    "kind_fields",
    [
        pytest.param({"kind": "restricted_area"}, id="restricted_area"),
        pytest.param({"kind": "loitering", "limit_s": 0.2}, id="loitering"),
        pytest.param({"kind": "occupancy", "max_objects": 0}, id="occupancy"),
        pytest.param({"kind": "line_crossing"}, id="line_crossing"),
    ],
)
def test_disabled_rules_do_nothing(kind_fields: dict[str, object]) -> None:
    fields = dict(kind_fields)
    kind = str(fields.pop("kind"))
    walk = "lrlr" if kind == "line_crossing" else "######"
    assert play(rule(kind, **fields), walk).started() != []
    assert play(rule(kind, enabled=False, **fields), walk).signals == []


def test_a_track_that_changes_class_leaves_the_rule() -> None:
    # A tracker that does not associate per class may relabel a track.
    scene = Scene(RuleEvaluator(CAMERA, rule_set(rule()), exit_grace_s=0.0))
    for label in ["person"] * 5 + ["car"]:
        scene.step({1: ("#", label, 0.9)})
    assert scene.played.summary() == [("started", 3, 3, None), ("ended", 5, 3, 5)]
