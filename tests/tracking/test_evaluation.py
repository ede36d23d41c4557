"""Tests of MOTChallenge reading and scoring on small hand-made tables."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from watchfloor.tracking.evaluation import (
    MotRow,
    MotScores,
    read_mot_file,
    read_seqinfo,
    score_sequence,
    simulate_detections,
    write_mot_file,
)
from watchfloor.tracking.tracker import TrackedObject, TrackState

A = (0.0, 0.0, 20.0, 40.0)
B = (100.0, 0.0, 20.0, 40.0)
FAR = (300.0, 300.0, 20.0, 40.0)


def row(
    frame: int,
    track_id: int,
    ltwh: tuple[float, float, float, float],
    conf: float = 1.0,
) -> MotRow:
    return MotRow(frame, track_id, *ltwh, confidence=conf)


def shifted(
    ltwh: tuple[float, float, float, float], dx: float
) -> tuple[float, float, float, float]:
    left, top, width, height = ltwh
    return (left + dx, top, width, height)


GROUND_TRUTH = [row(f, 1, A) for f in range(1, 5)] + [row(f, 2, B) for f in range(1, 5)]


def test_perfect_tracks_score_one() -> None:
    tracks = [dataclasses.replace(r, track_id=r.track_id + 10) for r in GROUND_TRUTH]
    scores = score_sequence(GROUND_TRUTH, tracks)
    assert scores.mota == 1.0
    assert scores.idf1 == 1.0
    assert scores.motp == pytest.approx(1.0)
    assert (scores.matches, scores.false_positives, scores.misses) == (8, 0, 0)
    assert (scores.objects, scores.ground_truth_ids, scores.predicted_ids) == (8, 2, 2)
    assert scores.mostly_tracked == 2
    assert scores.frames == 4


def test_switch_miss_and_false_positive_are_counted() -> None:
    # Object 1 is followed by track 10 and then by track 11 (one switch);
    # object 2 by track 20 but missed in frame 4; track 30 is a false box.
    tracks = (
        [row(1, 10, A), row(2, 10, A), row(3, 11, A), row(4, 11, A)]
        + [row(f, 20, B) for f in (1, 2, 3)]
        + [row(2, 30, FAR)]
    )
    scores = score_sequence(GROUND_TRUTH, tracks)
    assert (scores.matches, scores.misses, scores.false_positives) == (7, 1, 1)
    assert scores.id_switches == 1
    assert scores.mota == pytest.approx(1 - 3 / 8)
    # Best one-to-one ids: 1<->10 (or 11) for 2 frames, 2<->20 for 3 frames.
    assert scores.idf1 == pytest.approx(2 * 5 / (8 + 8))
    assert scores.precision == pytest.approx(7 / 8)
    assert scores.recall == pytest.approx(7 / 8)
    assert scores.predicted_ids == 4


@pytest.mark.parametrize(
    ("dx", "matched"),
    [(0.0, True), (6.0, True), (7.0, False), (15.0, False)],
)
def test_a_box_matches_from_iou_one_half(dx: float, matched: bool) -> None:
    # Boxes 20 px wide shifted by dx: IoU = (20 - dx) / (20 + dx); 0.538 at 6 px,
    # 0.481 at 7 px.
    scores = score_sequence([row(1, 1, A)], [row(1, 5, shifted(A, dx))])
    assert scores.matches == int(matched)
    assert scores.false_positives == int(not matched)
    assert scores.misses == int(not matched)


@pytest.mark.parametrize(
    ("track_box", "ignored", "false_positives"),
    [
        (A, 1, 0),  # on the ignored box: left out
        (shifted(A, 6.0), 1, 0),  # IoU 0.54 with it: left out
        (shifted(A, 10.0), 0, 1),  # IoU 0.33: a false positive
        (FAR, 0, 1),  # nowhere near: a false positive
    ],
)
def test_tracks_on_ignored_ground_truth_are_not_false_positives(
    track_box: tuple[float, float, float, float], ignored: int, false_positives: int
) -> None:
    ground_truth = [row(1, 1, A, conf=0.0), row(1, 2, B)]
    tracks = [row(1, 7, track_box), row(1, 8, B)]
    scores = score_sequence(ground_truth, tracks)
    assert scores.ignored_predictions == ignored
    assert scores.false_positives == false_positives
    assert scores.objects == 1  # the ignored box is not an object to find
    assert scores.misses == 0
    assert scores.matches == 1


def test_a_track_nearer_a_scored_box_than_an_ignored_one_is_kept() -> None:
    # Two ground-truth boxes overlap; the track's best overlap is with the
    # scored one, so it is matched even though it also overlaps the
    # ignored one by more than 0.5.
    ground_truth = [row(1, 1, A, conf=0.0), row(1, 2, shifted(A, 4.0))]
    scores = score_sequence(ground_truth, [row(1, 7, shifted(A, 3.0))])
    assert scores.ignored_predictions == 0
    assert scores.matches == 1
    assert scores.mota == 1.0


def test_only_the_given_frames_are_scored() -> None:
    tracks = [row(1, 10, A), row(3, 10, A), row(1, 20, B), row(3, 20, B)]
    every = score_sequence(GROUND_TRUTH, tracks)
    odd = score_sequence(GROUND_TRUTH, tracks, frames=[1, 3])
    assert every.misses == 4
    assert (odd.frames, odd.objects, odd.misses, odd.mota) == (2, 4, 0, 1.0)


def test_files_are_read_and_written(tmp_path: Path) -> None:
    gt_file = tmp_path / "gt.txt"
    gt_file.write_text(
        "1,1,0,0,20,40,1,-1,-1,-1\n2,1,1,0,20,40,0,-1,-1,-1\n\n3,2,5.5,6,7,8\n",
        encoding="utf-8",
    )
    rows = read_mot_file(gt_file)
    assert rows == [
        MotRow(1, 1, 0, 0, 20, 40, 1),
        MotRow(2, 1, 1, 0, 20, 40, 0),
        MotRow(3, 2, 5.5, 6, 7, 8, 1),
    ]
    assert [r.ignored for r in rows] == [False, True, False]

    track = TrackedObject(
        4, (10.0, 20.0, 40.0, 80.0), 0.75, "person", TrackState.TRACKED, 0.0, 0.0, 1
    )
    out = tmp_path / "tracks.txt"
    write_mot_file(out, [MotRow.from_track(2, track), row(1, 3, A, conf=0.5)])
    assert out.read_text(encoding="utf-8").splitlines() == [
        "1,3,0.00,0.00,20.00,40.00,0.5000,-1,-1,-1",
        "2,4,10.00,20.00,30.00,60.00,0.7500,-1,-1,-1",
    ]
    assert score_sequence(gt_file, out).frames == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [("1,1,0,0,20\n", "has 5 columns"), ("1,1,0,0,twenty,40\n", "not a number")],
)
def test_bad_lines_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "gt.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_mot_file(path)


def test_seqinfo_is_read(tmp_path: Path) -> None:
    (tmp_path / "seqinfo.ini").write_text(
        "[Sequence]\nname=Lobby\nimDir=img1\nframeRate=12.5\nseqLength=300\n"
        "imWidth=1280\nimHeight=720\nimExt=.jpg\n",
        encoding="utf-8",
    )
    info = read_seqinfo(tmp_path)
    assert (info.name, info.frame_rate, info.length, info.width, info.height) == (
        "Lobby",
        12.5,
        300,
        1280,
        720,
    )
    (tmp_path / "seqinfo.ini").write_text("[Sequence]\nname=Lobby\n", encoding="utf-8")
    with pytest.raises(ValueError, match="frameRate"):
        read_seqinfo(tmp_path)


def test_scores_turn_into_a_dict() -> None:
    scores = score_sequence(GROUND_TRUTH, [])
    values = scores.to_dict()
    assert isinstance(scores, MotScores)
    assert values["mota"] == 0.0
    assert values["misses"] == 8
    assert values["idf1"] == 0.0
    assert set(values) >= {"mota", "idf1", "id_switches", "precision", "recall"}


def test_numpy_has_the_name_motmetrics_needs() -> None:
    assert np.asfarray([1, 2]).dtype == np.float64  # type: ignore[attr-defined]


def test_simulated_detections_degrade_the_ground_truth() -> None:
    ground_truth = [
        row(f, i, shifted(A, 30.0 * i)) for f in range(1, 201) for i in range(5)
    ]
    detections = simulate_detections(
        ground_truth,
        seed=3,
        drop=0.2,
        false_positives_per_frame=0.5,
        frame_size=(640, 480),
    )
    assert sorted(detections) == list(range(1, 201))
    found = [d for frame in detections.values() for d in frame]
    true_boxes = sum(1 for d in found if d.box[1] < 20.0 and d.box[3] < 60.0)
    assert 0.75 * 1000 < true_boxes < 0.85 * 1000
    assert 60 < len(found) - true_boxes < 140
    assert all(0.3 <= d.score <= 1.0 and d.label == "person" for d in found)
    assert simulate_detections(ground_truth, seed=3) == simulate_detections(
        ground_truth, seed=3
    )
    with pytest.raises(ValueError, match="drop"):
        simulate_detections(ground_truth, seed=1, drop=1.5)
