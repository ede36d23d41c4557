"""RuleSet: building, checking and splitting zones, lines and rules by camera."""

from __future__ import annotations

import pytest

from tests.rules.scenes import CAMERA, DOOR, YARD, rule
from watchfloor.config import LineConfig, ZoneConfig, parse_site
from watchfloor.rules.evaluator import AlertSignal, RuleSet, RuleSetError

LOBBY = ZoneConfig(
    name="lobby", camera="hall", polygon=[(0.0, 0.0), (1.0, 0.0), (0.5, 1.0)]
)
EXIT = LineConfig(name="exit", camera="hall", points=[(0.0, 0.5), (1.0, 0.5)])


@pytest.mark.parametrize(
    ("zones", "lines", "rules", "message"),
    [
        pytest.param(
            [YARD, YARD], [], [], "zone name 'yard' is used twice", id="zone-twice"
        ),
        pytest.param(
            [], [DOOR, DOOR], [], "line name 'door' is used twice", id="line-twice"
        ),
        pytest.param(
            [YARD],
            [],
            [rule(), rule()],
            "rule name 'watch' is used twice",
            id="rule-twice",
        ),
        pytest.param(
            [LOBBY],
            [],
            [rule()],
            r"names zone 'yard', which is not among the zones \(lobby\)",
            id="unknown-zone",
        ),
        pytest.param(
            [],
            [],
            [rule("line_crossing")],
            r"names line 'door', which is not among the lines \(none\)",
            id="unknown-line",
        ),
    ],
)
def test_refused_sets(
    zones: list[ZoneConfig], lines: list[LineConfig], rules: list[object], message: str
) -> None:
    with pytest.raises(RuleSetError, match=message):
        RuleSet(zones, lines, rules)  # type: ignore[arg-type]


def test_for_camera_keeps_its_shapes_and_their_rules() -> None:
    rules = [
        rule(name="yard-area"),
        rule("line_crossing", name="door-line"),
        rule(name="lobby-area", zone="lobby"),
        rule("line_crossing", name="exit-line", line="exit"),
    ]
    full = RuleSet([YARD, LOBBY], [DOOR, EXIT], rules)
    gate = full.for_camera(CAMERA)
    assert [z.name for z in gate.zones] == ["yard"]
    assert [line.name for line in gate.lines] == ["door"]
    assert [r.name for r in gate.rules] == ["yard-area", "door-line"]
    hall = full.for_camera("hall")
    assert [r.name for r in hall.rules] == ["lobby-area", "exit-line"]
    assert full.for_camera("nowhere").rules == ()


def test_a_set_does_not_follow_later_changes_to_its_inputs() -> None:
    rules = [rule(min_score=0.5)]
    zones = [YARD.model_copy(deep=True)]
    ruleset = RuleSet(zones, [], rules)
    rules[0].min_score = 0.9
    zones[0].polygon = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)]
    rules.append(rule(name="other"))
    assert ruleset.rules[0].min_score == 0.5
    assert ruleset.zones[0].polygon == YARD.polygon
    assert len(ruleset.rules) == 1
    assert isinstance(ruleset.rules, tuple)


def test_from_site() -> None:
    site = parse_site(
        """
cameras:
  - {name: gate, url: rtsp://camera/stream}
zones:
  - {name: yard, camera: gate, polygon: [[0.2, 0.2], [0.6, 0.2], [0.6, 0.6]]}
rules:
  - {name: watch, kind: restricted_area, zone: yard}
"""
    )
    ruleset = RuleSet.from_site(site)
    assert [r.name for r in ruleset.rules] == ["watch"]
    assert ruleset.zone("yard") is not None
    assert ruleset.zone("nope") is None
    assert "1 rules" in repr(ruleset)


def _signal(zone: str | None, line: str | None) -> AlertSignal:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 5, tzinfo=UTC)
    return AlertSignal(
        kind="started",
        key="k",
        rule="watch",
        rule_kind="restricted_area",
        camera=CAMERA,
        zone=zone,
        line=line,
        track_id=1,
        label="person",
        score=0.9,
        box=(0.0, 0.0, 1.0, 1.0),
        entered_at=now,
        start=now,
        end=None,
    )


def test_shape_points_of_a_signal() -> None:
    ruleset = RuleSet([YARD], [DOOR], [])
    assert ruleset.shape_points(_signal("yard", None)) == YARD.polygon
    assert ruleset.shape_points(_signal(None, "door")) == [(0.5, 0.2), (0.5, 0.8)]
    assert ruleset.shape_points(_signal("gone", None)) == []
    assert ruleset.shape_points(_signal(None, None)) == []
