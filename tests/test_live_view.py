"""The live view keeper: latest frame per camera, drawn and encoded on demand."""

from __future__ import annotations

from datetime import UTC, datetime

import cv2
import numpy as np
import pytest

from watchfloor.config import ZoneConfig
from watchfloor.ingest.frames import Frame
from watchfloor.live_view import LiveViewKeeper, draw_live_picture
from watchfloor.pipeline import FrameResult
from watchfloor.rules.evaluator import RuleSet
from watchfloor.tracking.tracker import TrackedObject, TrackerUpdate, TrackState

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
ZONE = ZoneConfig(
    name="dock", camera="gate", polygon=[(0.1, 0.1), (0.9, 0.1), (0.9, 0.9)]
)


def result(camera: str = "gate", index: int = 0) -> FrameResult:
    image = np.zeros((120, 160, 3), np.uint8)
    track = TrackedObject(
        track_id=7,
        box=(40.0, 30.0, 80.0, 100.0),
        score=0.9,
        label="person",
        state=TrackState.TRACKED,
        first_seen=0.0,
        last_seen=0.0,
        hits=3,
    )
    return FrameResult(
        frame=Frame(camera, index, T0, image),
        detected=True,
        detections=[],
        update=TrackerUpdate(time=0.0, tracks=[track]),
    )


def test_nothing_before_the_first_frame() -> None:
    assert LiveViewKeeper().latest("gate") is None


def test_the_latest_frame_is_a_jpeg_of_the_picture() -> None:
    keeper = LiveViewKeeper(RuleSet([ZONE]))
    keeper(result())
    frame = keeper.latest("gate")
    assert frame is not None
    assert (frame.camera, frame.sequence, frame.time) == ("gate", 1, T0)
    picture = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape == (120, 160, 3)
    assert keeper.latest("yard") is None


def test_encoding_is_limited_to_max_fps() -> None:
    keeper = LiveViewKeeper(max_fps=0.001)
    keeper(result(index=0))
    first = keeper.latest("gate")
    keeper(result(index=1))
    # A newer frame arrived, but the last picture is too recent to replace.
    assert keeper.latest("gate") is first
    fast = LiveViewKeeper(max_fps=1e9)
    fast(result(index=0))
    fast(result(index=1))
    fast_frame = fast.latest("gate")
    assert fast_frame is not None and fast_frame.sequence == 2


@pytest.mark.parametrize(
    ("rules", "zone_drawn"), [(RuleSet(), False), (RuleSet([ZONE]), True)]
)
def test_boxes_and_the_cameras_zones_are_drawn(
    rules: RuleSet, zone_drawn: bool
) -> None:
    picture = draw_live_picture(result(), rules)
    # The track's box edge, in the track colour.
    assert picture[30, 60].tolist() == [80, 255, 80]
    # A point on the zone's top edge (y = 0.1 * 120 = 12).
    assert bool(picture[12, 120].any()) is zone_drawn
