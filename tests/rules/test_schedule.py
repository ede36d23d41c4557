"""Weekly schedules: windows, midnight, time zones and daylight-saving changes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from tests.rules.scenes import CAMERA, FRAME_SIZE, SPOTS, obj, rule, rule_set
from watchfloor.config import Schedule
from watchfloor.rules.evaluator import RuleEvaluator
from watchfloor.rules.schedule import WeeklySchedule, is_armed
from watchfloor.tracking.tracker import TrackerUpdate


def schedule(zone: str, days: Sequence[str], start: str, end: str) -> Schedule:
    return Schedule.model_validate(
        {"timezone": zone, "windows": [{"days": days, "start": start, "end": end}]}
    )


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


PARIS = "Europe/Paris"
# 2026-03-29 (Sunday): at 01:00 UTC Paris clocks go from 02:00 CET to 03:00 CEST.
# 2026-10-25 (Sunday): at 01:00 UTC Paris clocks go from 03:00 CEST to 02:00 CET.
WINDOWS = {
    "sun-0230-0400-paris": (PARIS, ["sun"], "02:30", "04:00"),
    "sun-0100-0230-paris": (PARIS, ["sun"], "01:00", "02:30"),
    "sat-night-paris": (PARIS, ["sat"], "22:00", "06:00"),
    "sun-0200-0300-paris": (PARIS, ["sun"], "02:00", "03:00"),
    "mon-0000-0100-paris": (PARIS, ["mon"], "00:00", "01:00"),
    "fri-night-utc": ("UTC", ["fri"], "22:00", "02:00"),
    "sun-night-utc": ("UTC", ["sun"], "23:00", "01:00"),
    "mon-24h-utc": ("UTC", ["mon"], "08:00", "08:00"),
    "office-utc": ("UTC", ["mon", "tue"], "09:00", "17:00"),
}
CASES = [
    # Spring forward: a window starting in the skipped hour arms at 03:00 CEST.
    ("sun-0230-0400-paris", "2026-03-29T00:59:59", False),
    ("sun-0230-0400-paris", "2026-03-29T01:00:00", True),
    ("sun-0230-0400-paris", "2026-03-29T01:59:59", True),
    ("sun-0230-0400-paris", "2026-03-29T02:00:00", False),
    # ... and one ending in the skipped hour ends at the jump.
    ("sun-0100-0230-paris", "2026-03-28T23:59:59", False),
    ("sun-0100-0230-paris", "2026-03-29T00:00:00", True),
    ("sun-0100-0230-paris", "2026-03-29T00:59:59", True),
    ("sun-0100-0230-paris", "2026-03-29T01:00:00", False),
    # The night over spring forward is 7 real hours (22:00 CET to 06:00 CEST).
    ("sat-night-paris", "2026-03-28T20:59:59", False),
    ("sat-night-paris", "2026-03-28T21:00:00", True),
    ("sat-night-paris", "2026-03-29T01:30:00", True),
    ("sat-night-paris", "2026-03-29T03:59:59", True),
    ("sat-night-paris", "2026-03-29T04:00:00", False),
    # Fall back: the repeated hour 02:00-03:00 is armed both times.
    ("sun-0200-0300-paris", "2026-10-24T23:59:59", False),
    ("sun-0200-0300-paris", "2026-10-25T00:00:00", True),
    ("sun-0200-0300-paris", "2026-10-25T00:59:59", True),
    ("sun-0200-0300-paris", "2026-10-25T01:00:00", True),
    ("sun-0200-0300-paris", "2026-10-25T01:59:59", True),
    ("sun-0200-0300-paris", "2026-10-25T02:00:00", False),
    # The night over fall back is 9 real hours (22:00 CEST to 06:00 CET).
    ("sat-night-paris", "2026-10-24T19:59:59", False),
    ("sat-night-paris", "2026-10-24T20:00:00", True),
    ("sat-night-paris", "2026-10-25T04:59:59", True),
    ("sat-night-paris", "2026-10-25T05:00:00", False),
    # Local day, not UTC day: Monday 00:30 in Paris is still Sunday in UTC.
    ("mon-0000-0100-paris", "2026-01-04T23:30:00", True),
    ("mon-0000-0100-paris", "2026-01-05T00:30:00", False),
    # Past midnight: days are the days a window starts on.
    ("fri-night-utc", "2026-01-09T21:59:59", False),
    ("fri-night-utc", "2026-01-09T22:00:00", True),
    ("fri-night-utc", "2026-01-10T01:59:59", True),
    ("fri-night-utc", "2026-01-10T02:00:00", False),
    ("fri-night-utc", "2026-01-10T23:00:00", False),
    ("fri-night-utc", "2026-01-08T23:00:00", False),
    ("fri-night-utc", "2026-01-09T01:00:00", False),
    ("sun-night-utc", "2026-01-05T00:30:00", True),
    ("sun-night-utc", "2026-01-06T00:30:00", False),
    # End equal to start: 24 hours from the start.
    ("mon-24h-utc", "2026-01-05T07:59:59", False),
    ("mon-24h-utc", "2026-01-05T08:00:00", True),
    ("mon-24h-utc", "2026-01-06T07:59:59", True),
    ("mon-24h-utc", "2026-01-06T08:00:00", False),
    # Same-day window: start inclusive, end exclusive, only on its days.
    ("office-utc", "2026-01-05T09:00:00", True),
    ("office-utc", "2026-01-06T16:59:59", True),
    ("office-utc", "2026-01-06T17:00:00", False),
    ("office-utc", "2026-01-07T12:00:00", False),
]


@pytest.mark.parametrize(
    ("window", "instant", "armed"),
    [pytest.param(*case, id=f"{case[0]}-{case[1]}") for case in CASES],
)
def test_is_armed(window: str, instant: str, armed: bool) -> None:
    assert is_armed(schedule(*WINDOWS[window]), utc(instant)) is armed


def test_window_length_across_clock_changes() -> None:
    night = WeeklySchedule(schedule(*WINDOWS["sat-night-paris"]))

    def armed_minutes(first: str) -> int:
        begin = utc(first)
        return sum(night.armed(begin + timedelta(minutes=m)) for m in range(24 * 60))

    assert armed_minutes("2026-03-28T12:00:00") == 7 * 60
    assert armed_minutes("2026-10-24T12:00:00") == 9 * 60
    assert armed_minutes("2026-01-10T12:00:00") == 8 * 60


def test_several_windows_any_arms() -> None:
    two = Schedule.model_validate(
        {
            "timezone": "UTC",
            "windows": [
                {"days": ["mon"], "start": "08:00", "end": "09:00"},
                {"days": ["mon"], "start": "18:00", "end": "19:00"},
            ],
        }
    )
    assert is_armed(two, utc("2026-01-05T08:30:00"))
    assert is_armed(two, utc("2026-01-05T18:30:00"))
    assert not is_armed(two, utc("2026-01-05T12:00:00"))


def test_no_schedule_is_always_armed() -> None:
    assert is_armed(None, utc("2026-03-29T01:30:00"))


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        is_armed(None, datetime(2026, 1, 5, 12, 0))
    with pytest.raises(ValueError, match="no time zone"):
        is_armed(schedule("UTC", ["mon"], "00:00", "01:00"), datetime(2026, 1, 5))


def test_other_offsets_are_read_as_the_same_instant() -> None:
    window = schedule(PARIS, ["mon"], "12:00", "13:00")
    paris_noon = datetime.fromisoformat("2026-01-05T12:30:00+01:00")
    assert is_armed(window, paris_noon)
    assert is_armed(window, paris_noon.astimezone(UTC))


def run_scheduled(
    window: Schedule, path: str, first: datetime
) -> list[tuple[str, int]]:
    """Play a walk from ``first`` under a rule with ``window``.

    Returns:
        ``(kind, frame of the episode's start)`` of each signal.
    """
    evaluator = RuleEvaluator(CAMERA, rule_set(rule(schedule=window)))
    step = timedelta(milliseconds=200)
    signals: list[tuple[str, int]] = []
    for index, cell in enumerate(path):
        tracks = [] if cell == "-" else [obj(1, SPOTS[cell])]
        update = TrackerUpdate(0.0, tracks=tracks, ended=[1] if cell == "-" else [])
        for signal in evaluator.update(first + index * step, update, FRAME_SIZE):
            signals.append((signal.kind, (signal.start - first) // step))
    return signals


def test_track_inside_before_the_window_alerts_when_it_opens() -> None:
    window = schedule("UTC", ["mon"], "12:00", "13:00")
    # Frames from 11:59:59.2; frame 4 is 12:00:00.
    signals = run_scheduled(window, "########", utc("2026-01-05T11:59:59.200000"))
    assert signals == [("started", 4)]


def test_episode_open_at_the_window_end_runs_to_its_end() -> None:
    window = schedule("UTC", ["mon"], "12:00", "13:00")
    # Frame 5 is 13:00:00: the rule is no longer armed, the episode goes on
    # until the track has left (frame 8) and the exit grace has passed.
    signals = run_scheduled(window, "########......", utc("2026-01-05T12:59:59"))
    assert signals == [("started", 3), ("ended", 3)]


def test_outside_the_window_nothing() -> None:
    window = schedule("UTC", ["mon"], "12:00", "13:00")
    assert run_scheduled(window, "#" * 10, utc("2026-01-05T13:00:00")) == []


def test_armed_after_spring_forward() -> None:
    window = schedule(PARIS, ["sun"], "02:30", "04:00")
    # From 00:59:59 UTC (01:59:59 CET); frame 5 is 01:00:00 UTC = 03:00 CEST.
    signals = run_scheduled(window, "#" * 8, utc("2026-03-29T00:59:59"))
    assert signals == [("started", 5)]
