"""Tests of the tracker on the labelled footage, from ground truth and the detector."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from watchfloor.detection.base import Detection
from watchfloor.detection.catalogue import WeightsError
from watchfloor.detection.factory import DetectorSpec, load_detector
from watchfloor.tracking.evaluation import (
    read_mot_file,
    read_seqinfo,
    score_sequence,
    simulate_detections,
    track_detections,
)


def test_the_shared_sequences_are_read(pets09: Path, tud_campus: Path) -> None:
    info = read_seqinfo(pets09)
    assert (info.name, info.frame_rate, info.length) == ("PETS09-S2L1", 7.0, 795)
    assert (info.width, info.height) == (768, 576)
    rows = read_mot_file(pets09 / "gt" / "gt.txt")
    assert len(rows) == 4650
    assert len({r.track_id for r in rows}) == 19
    assert sum(r.ignored for r in rows) == 174
    assert read_seqinfo(tud_campus).frame_rate == 25.0


@pytest.mark.parametrize(
    ("sequence", "step", "least_mota", "least_idf1"),
    [
        ("PETS09-S2L1", 1, 0.72, 0.72),
        ("PETS09-S2L1", 3, 0.55, 0.45),
        ("TUD-Campus", 1, 0.60, 0.55),
    ],
)
def test_tracks_of_degraded_ground_truth_score_well(
    request: pytest.FixtureRequest,
    sequence: str,
    step: int,
    least_mota: float,
    least_idf1: float,
) -> None:
    # A fifth of the boxes dropped, the rest jittered with random scores, and
    # false boxes added: the tracker must bridge the gaps with stable ids.
    folder: Path = request.getfixturevalue(
        "pets09" if sequence.startswith("PETS") else "tud_campus"
    )
    info = read_seqinfo(folder)
    truth = read_mot_file(folder / "gt" / "gt.txt")
    detections = simulate_detections(
        truth, seed=0, frame_size=(info.width, info.height)
    )
    frames = sorted(detections)[::step]

    tracks = track_detections(detections, info.frame_rate, frames=frames)
    scores = score_sequence(truth, tracks, frames=frames)
    assert scores.mota >= least_mota, scores
    assert scores.idf1 >= least_idf1, scores


@pytest.mark.slow
def test_default_model_and_tracker_on_tud_campus(tud_campus: Path) -> None:
    # The real pipeline on real footage: decode the video, detect with the
    # default model, track, score against the benchmark's annotations. The
    # detector returns boxes from 0.1 so that weak ones reach the tracker.
    try:
        detector = load_detector(DetectorSpec(score_threshold=0.1))
    except WeightsError as error:
        pytest.skip(f"default detector weights unavailable: {error}")
    info = read_seqinfo(tud_campus)
    capture = cv2.VideoCapture(str(tud_campus / "video.mp4"))
    detections: dict[int, list[Detection]] = {}
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            detections[len(detections) + 1] = detector.detect([image])[0]
    finally:
        capture.release()
    assert len(detections) == info.length

    tracks = track_detections(detections, info.frame_rate, labels={"person"})
    scores = score_sequence(tud_campus / "gt" / "gt.txt", tracks)
    assert scores.mota >= 0.55, scores
    assert scores.idf1 >= 0.6, scores
