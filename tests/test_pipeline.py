"""Analysis of live frames: the motion gate, and track events in the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from tests.ingest.test_worker import wait_for
from watchfloor.config import parse_site
from watchfloor.detection.base import Detection
from watchfloor.engine import Engine
from watchfloor.ingest.frames import Frame
from watchfloor.models import Event, Track
from watchfloor.models.database import Database
from watchfloor.pipeline import CameraPipeline, FinishedTrack, TrackAppearanceCollector


class CountingDetector:
    """Finds one person where the bright square is; counts its calls."""

    name = "counting"
    labels = ("person",)

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        self.calls += len(images)
        out = []
        for image in images:
            ys, xs = np.nonzero(image[:, :, 0] > 200)
            if len(xs) == 0:
                out.append([])
            else:
                box = (
                    float(xs.min()),
                    float(ys.min()),
                    float(xs.max()),
                    float(ys.max()),
                )
                out.append([Detection(box, 0.9, "person")])
        return out


def _frames(moving: bool, count: int) -> list[Frame]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    frames = []
    for i in range(count):
        image = np.full((240, 320, 3), 60, np.uint8)
        x = 40 + (i * 6 if moving else 0)
        if moving:
            cv2.rectangle(image, (x, 80), (x + 30, 160), (255, 255, 255), -1)
        frames.append(Frame("cam", i, start + timedelta(seconds=i / 5), image))
    return frames


@pytest.mark.parametrize(
    ("moving", "gate", "max_calls"),
    [(False, True, 3), (False, False, 30), (True, True, 30)],
)
def test_motion_gate_skips_still_frames_only(
    moving: bool, gate: bool, max_calls: int
) -> None:
    site = parse_site("cameras:\n  - {name: cam, url: x.mp4}\n")
    detector = CountingDetector()
    pipeline = CameraPipeline(site.cameras[0], site, detector, motion_gate=gate)
    results = [pipeline.process(frame) for frame in _frames(moving, 30)]

    assert detector.calls <= max_calls
    if moving:
        assert detector.calls == 30
        assert any(r.update.tracks for r in results)
    if not gate:
        assert detector.calls == 30
    assert pipeline.counters.detected == detector.calls
    assert pipeline.counters.skipped == 30 - detector.calls


def test_live_camera_tracks_become_events_with_snapshots(
    test_data: Path, tmp_path: Path
) -> None:
    video = test_data / "TUD-Campus" / "video.mp4"
    site = parse_site(
        f"""
storage: {{media: {tmp_path / "media"}}}
recording: {{segment_s: 2}}
cameras:
  - {{name: campus, url: {video}, fps: 5, detect: {{classes: [person]}}}}
"""
    )
    db = Database.open(site.database_url)
    stored: list[Event] = []
    engine = Engine(site, db, on_event=stored.append)
    engine.start()
    try:
        wait_for(lambda: len(stored) >= 3, 60, "three track events")
    finally:
        engine.stop()

    with db.session() as session:
        tracks = session.scalars(select(Track)).all()
        events = session.scalars(select(Event).order_by(Event.time)).all()
    assert tracks and all(t.label == "person" for t in tracks)
    kinds = {e.kind for e in events}
    assert "appeared" in kinds
    # Stopping the engine ends every track.
    assert all(t.ended for t in tracks)
    assert "ended" in kinds
    for event in events:
        assert event.time.tzinfo is not None
        assert 0 <= event.x1 < event.x2 <= 1.01 and 0 <= event.y1 < event.y2 <= 1.01
        assert event.snapshot is not None
        picture = cv2.imread(str(site.media_dir / event.snapshot))
        assert picture is not None and picture.shape[0] > 10
    db.close()


@pytest.mark.parametrize(
    ("last_x", "exited"),
    [
        pytest.param(300, True, id="walks-out-at-the-right"),
        pytest.param(160, False, id="vanishes-in-the-middle"),
    ],
)
def test_a_finished_track_says_whether_it_walked_out_of_view(
    last_x: int, exited: bool
) -> None:
    site = parse_site("cameras: [{name: cam, url: rtsp://cam/x}]")
    pipeline = CameraPipeline(
        site.camera("cam"), site, detector=CountingDetector(), motion_gate=False
    )
    finished: list[FinishedTrack] = []
    collector = TrackAppearanceCollector("cam", finished.append)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(60):
        image = np.full((240, 320, 3), 60, np.uint8)
        x = 40 + i * 10
        if x <= last_x:
            cv2.rectangle(image, (x, 80), (x + 30, 160), (255, 255, 255), -1)
        frame = Frame("cam", i, start + timedelta(seconds=i / 5), image)
        collector(pipeline.process(frame))
    assert len(finished) == 1
    assert finished[0].exited is exited
    assert finished[0].summary(1).exited is exited
