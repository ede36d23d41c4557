"""Alert paths: feet thinned and capped, stored with the alert as it goes on."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from tests.rules.scenes import CAMERA, FRAME_SIZE, YARD, at, obj, rule, rule_set
from watchfloor.config import SiteConfig
from watchfloor.ingest.frames import Frame
from watchfloor.models import Alert
from watchfloor.models.database import Database
from watchfloor.pipeline import FrameResult
from watchfloor.rules.alerts import AlertRecorder
from watchfloor.rules.geometry import contains
from watchfloor.rules.paths import path_json, path_rows
from watchfloor.tracking.paths import FootPath
from watchfloor.tracking.tracker import TrackerUpdate


@pytest.mark.parametrize(
    ("times", "kept"),
    [
        ([], []),
        ([0.0], [0.0]),
        ([0.0, 0.1, 0.2, 0.3], [0.0, 0.3]),
        ([0.0, 0.1, 0.2, 0.3, 0.4], [0.0, 0.3, 0.4]),  # the latest is always last
        ([0.0, 0.25, 0.5], [0.0, 0.25, 0.5]),
    ],
)
def test_points_closer_than_the_spacing_are_not_kept(
    times: list[float], kept: list[float]
) -> None:
    path = FootPath()
    for t in times:
        path.add(t, 0.5, 0.5)
    assert [t for t, _, _ in path.points()] == kept


def test_a_long_path_keeps_its_whole_span_more_coarsely() -> None:
    path = FootPath(every_s=0.25, max_points=100)
    for step in range(2000):  # 200 s at 10 frames a second
        path.add(step * 0.1, step / 2000, 0.5)
    points = path.points()
    assert len(points) <= 100
    assert points[0][0] == 0.0
    assert points[-1][0] == pytest.approx(199.9)
    assert all(a[0] < b[0] for a, b in pairwise(points))


def test_feet_outside_the_picture_are_kept_on_its_edge() -> None:
    path = FootPath()
    path.add_box(0.0, (-50.0, 10.0, 10.0, 900.0), (1000, 800))
    assert path.points() == [(0.0, 0.0, 1.0)]


def test_stored_paths_count_seconds_from_the_alert_s_start() -> None:
    start = datetime(2026, 1, 5, 12, 0, 10, tzinfo=UTC)
    stored = path_json([(start.timestamp() - 2.0, 0.123456, 0.5)], start)
    assert json.loads(stored) == [[-2.0, 0.1235, 0.5]]
    assert path_rows(stored) == [[-2.0, 0.1235, 0.5]]
    assert path_rows(None) == []


def _frame(index: int) -> Frame:
    width, height = FRAME_SIZE
    return Frame(CAMERA, index, at(index), np.zeros((height, width, 3), np.uint8))


def _stored_path(db: Database) -> tuple[list[list[float]], datetime | None]:
    with db.session() as session:
        alert = session.query(Alert).one()
        return path_rows(alert.path), alert.end


def test_an_alert_keeps_its_track_s_path_from_outside_in(tmp_path: Path) -> None:
    site = SiteConfig.model_validate({"storage": {"media": str(tmp_path)}})
    db = Database.open(site.database_url)
    recorder = AlertRecorder(site, db, CAMERA, rule_set(rule(min_dwell=0.0)))
    # Five frames outside the yard, then walking in, then gone.
    walk = [(0.8, 0.4)] * 5 + [(0.5, 0.4)] * 10
    for index, spot in enumerate(walk):
        frame = _frame(index)
        update = TrackerUpdate(frame.time.timestamp(), [obj(1, spot)])
        recorder(FrameResult(frame, True, [], update))
        if index == 11:  # a second after the start
            ongoing, end = _stored_path(db)
            assert end is None
            assert len(ongoing) >= 6, "stored while the episode goes on"
    last = _frame(len(walk))
    recorder(FrameResult(last, True, [], TrackerUpdate(last.time.timestamp(), [])))

    path, end = _stored_path(db)
    assert end is not None
    times = [t for t, _, _ in path]
    assert times == sorted(times)
    assert times[0] == pytest.approx(-1.0)  # one second before the start
    assert times[-1] == pytest.approx(1.8)  # the track's last frame
    assert not contains(YARD.polygon, tuple(path[0][1:]))
    assert contains(YARD.polygon, tuple(path[-1][1:]))
    db.close()
