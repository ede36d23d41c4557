"""Rules replaced while the evaluator runs (edits through the API)."""

from __future__ import annotations

import pytest

from tests.rules.scenes import CAMERA, DOOR, YARD, Scene, frame_of, rule, rule_set
from watchfloor.config import ZoneConfig
from watchfloor.rules.evaluator import RuleEvaluator, RuleSet

# A person stays in the yard throughout; the rule starts at frame 3 (min_dwell
# 0.5 s) and the new rules are handed over after frame 6, so they apply from
# frame 7.
MOVED_YARD = ZoneConfig(
    name="yard",
    camera=CAMERA,
    polygon=[(0.1, 0.1), (0.6, 0.1), (0.6, 0.6), (0.1, 0.6)],
)

CHANGE_CASES = [
    pytest.param(
        rule_set(rule()),
        [("started", 3, 3, None)],
        id="same-rules",
    ),
    pytest.param(
        rule_set(rule(min_dwell=5.0, cooldown=3.0)),
        [("started", 3, 3, None)],
        id="new-thresholds-keep-the-episode",
    ),
    pytest.param(
        rule_set(),
        [("started", 3, 3, None), ("ended", 7, 3, 7)],
        id="rule-removed-ends-it",
    ),
    pytest.param(
        rule_set(rule(enabled=False)),
        [("started", 3, 3, None), ("ended", 7, 3, 7)],
        id="rule-disabled-ends-it",
    ),
    pytest.param(
        RuleSet([MOVED_YARD], [DOOR], [rule()]),
        [("started", 3, 3, None), ("ended", 7, 3, 7), ("started", 10, 10, None)],
        id="zone-moved-restarts-it",
    ),
    pytest.param(
        rule_set(rule(classes=["person", "car"])),
        [("started", 3, 3, None), ("ended", 7, 3, 7), ("started", 10, 10, None)],
        id="classes-changed-restarts-it",
    ),
    pytest.param(
        rule_set(rule(name="renamed")),
        [("started", 3, 3, None), ("ended", 7, 3, 7), ("started", 10, 10, None)],
        id="renamed-is-a-new-rule",
    ),
    pytest.param(
        rule_set(rule("loitering", limit_s=0.5)),
        [("started", 3, 3, None), ("ended", 7, 3, 7), ("started", 10, 10, None)],
        id="kind-changed-restarts-it",
    ),
    pytest.param(
        RuleSet(
            [YARD.model_copy(update={"camera": "elsewhere"})],
            [DOOR],
            [rule()],
        ),
        [("started", 3, 3, None), ("ended", 7, 3, 7)],
        id="zone-moved-to-another-camera",
    ),
]


@pytest.mark.parametrize(("new_rules", "expected"), CHANGE_CASES)
def test_rule_change_mid_episode(
    new_rules: RuleSet, expected: list[tuple[object, ...]]
) -> None:
    scene = Scene(RuleEvaluator(CAMERA, rule_set(rule())))
    for _ in range(7):
        scene.step({1: ("#", "person", 0.9)})
    scene.evaluator.set_rules(new_rules)
    for _ in range(7):
        scene.step({1: ("#", "person", 0.9)})
    assert scene.played.summary() == expected


def test_new_rules_apply_from_the_next_frame() -> None:
    scene = Scene(RuleEvaluator(CAMERA, rule_set(rule(min_dwell=0))))
    scene.step({1: ("#", "person", 0.9)})
    old_rules = scene.evaluator.rules
    scene.evaluator.set_rules(rule_set())
    assert scene.evaluator.rules is old_rules
    assert len(scene.evaluator.open_episodes) == 1
    ended = scene.step({1: ("#", "person", 0.9)})
    assert [(s.kind, frame_of(s.end)) for s in ended] == [("ended", 1)]  # type: ignore[arg-type]
    assert scene.evaluator.rules.rules == ()
    assert scene.evaluator.open_episodes == ()


def test_added_rule_counts_dwell_from_when_it_applies() -> None:
    scene = Scene(RuleEvaluator(CAMERA, rule_set()))
    for _ in range(5):
        scene.step({1: ("#", "person", 0.9)})
    scene.evaluator.set_rules(rule_set(rule()))
    for _ in range(5):
        scene.step({1: ("#", "person", 0.9)})
    (started,) = scene.played.started()
    assert frame_of(started.entered_at) == 5
    assert frame_of(started.start) == 8


def test_kept_rule_keeps_its_cooldown() -> None:
    scene = Scene(RuleEvaluator(CAMERA, rule_set(rule(min_dwell=0, cooldown=60))))
    for cell in "#......":
        scene.step({1: (cell, "person", 0.9)})
    scene.evaluator.set_rules(rule_set(rule(min_dwell=0, cooldown=30)))
    for cell in "###":
        scene.step({1: (cell, "person", 0.9)})
    assert [frame_of(s.start) for s in scene.played.started()] == [0]


def test_close_applies_pending_rules_and_ends_their_episodes() -> None:
    scene = Scene(RuleEvaluator(CAMERA, rule_set(rule(min_dwell=0))))
    scene.step({1: ("#", "person", 0.9)})
    scene.evaluator.set_rules(rule_set())
    ended = scene.close()
    assert [s.kind for s in ended] == ["ended"]
    assert scene.evaluator.rules.rules == ()
