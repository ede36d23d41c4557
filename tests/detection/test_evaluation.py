"""Tests of detection scoring: MOTChallenge ground truth and average precision."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchfloor.detection.base import Detection
from watchfloor.detection.evaluation import (
    GroundTruthBox,
    average_precision,
    load_mot_ground_truth,
)

A = (0.0, 0.0, 10.0, 20.0)
B = (100.0, 100.0, 110.0, 120.0)
C = (200.0, 0.0, 210.0, 20.0)


def person(box: tuple[float, float, float, float], score: float) -> Detection:
    return Detection(box=box, score=score, label="person")


def truth(*boxes: tuple[float, float, float, float]) -> list[GroundTruthBox]:
    return [GroundTruthBox(box) for box in boxes]


def test_every_box_found_first_is_ap_one() -> None:
    found = {0: [person(A, 0.9), person(B, 0.8)], 1: [person(A, 0.7)]}
    assert average_precision(found, {0: truth(A, B), 1: truth(A)}) == 1.0


def test_ranked_hits_and_misses_give_the_interpolated_area() -> None:
    # Ranking: hit, miss, hit over 2 boxes -> recall 0.5 at precision 1,
    # recall 1 at precision 2/3: AP = 0.5 * 1 + 0.5 * 2/3.
    found = {0: [person(A, 0.9), person(C, 0.8), person(B, 0.7)]}
    assert average_precision(found, {0: truth(A, B)}) == pytest.approx(5 / 6)


def test_missed_boxes_lower_the_recall() -> None:
    found = {0: [person(A, 0.9)]}
    assert average_precision(found, {0: truth(A, B)}) == pytest.approx(0.5)


def test_second_detection_of_one_box_is_a_false_positive() -> None:
    found = {0: [person(A, 0.9), person(A, 0.95), person(B, 0.5)]}
    # Ranking: hit (0.95), duplicate (0.9), hit (0.5): AP = 0.5 + 0.5 * 2/3.
    assert average_precision(found, {0: truth(A, B)}) == pytest.approx(5 / 6)


def test_detection_on_an_ignored_box_counts_neither_way() -> None:
    gt = {0: [GroundTruthBox(A), GroundTruthBox(C, ignore=True)]}
    found = {0: [person(C, 0.9), person(A, 0.8)]}
    assert average_precision(found, gt) == 1.0
    # The ignored box is not to be found either.
    assert average_precision({0: [person(A, 0.8)]}, gt) == 1.0


def test_detection_below_the_iou_is_a_false_positive() -> None:
    shifted = (5.0, 0.0, 15.0, 20.0)  # IoU 1/3 with A
    found = {0: [person(shifted, 0.9), person(A, 0.5)]}
    assert average_precision(found, {0: truth(A)}) == pytest.approx(0.5)
    assert average_precision(found, {0: truth(A)}, iou=0.3) == 1.0


def test_frames_without_ground_truth_only_hold_false_positives() -> None:
    found = {0: [person(A, 0.5)], 1: [person(A, 0.9)]}
    assert average_precision(found, {0: truth(A)}) == pytest.approx(0.5)


def test_label_selects_the_scored_class() -> None:
    found = {0: [Detection(A, 0.99, "car"), person(A, 0.5)]}
    assert average_precision(found, {0: truth(A)}, label="person") == 1.0
    assert average_precision(found, {0: truth(A)}) == 1.0  # the car took the box
    assert average_precision(
        {0: [Detection(C, 0.99, "car"), person(A, 0.5)]}, {0: truth(A)}
    ) == pytest.approx(0.5)


def test_nothing_to_find_or_nothing_found_is_zero() -> None:
    assert average_precision({0: [person(A, 0.9)]}, {0: []}) == 0.0
    assert average_precision({}, {0: truth(A)}) == 0.0


def test_iou_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="IoU threshold 0"):
        average_precision({}, {}, iou=0)


def test_mot_ground_truth_is_keyed_by_video_frame(tmp_path: Path) -> None:
    path = tmp_path / "gt.txt"
    path.write_text(
        "1,9,499,158,31.5,75,1,-4.1,-7.3,0\n"
        "1,3,10,20,30,40,0,-1,-1,-1\n"
        "\n"
        "3,9,500,160,31,75,1,-1,-1,-1\n"
    )
    gt = load_mot_ground_truth(path)
    assert sorted(gt) == [0, 2]
    assert gt[0] == [
        GroundTruthBox((499.0, 158.0, 530.5, 233.0), ignore=False, track_id=9),
        GroundTruthBox((10.0, 20.0, 40.0, 60.0), ignore=True, track_id=3),
    ]


def test_malformed_ground_truth_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "gt.txt"
    path.write_text("1,9,499,158,31,75,1\n1,9,x,158,31,75,1\n")
    with pytest.raises(ValueError, match="line 2 is not a MOTChallenge box"):
        load_mot_ground_truth(path)
