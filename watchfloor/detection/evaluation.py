"""Scoring detections against labelled footage: ground truth and average precision."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from watchfloor.detection.base import Detection
from watchfloor.detection.boxes import iou_matrix


@dataclass(frozen=True, slots=True)
class GroundTruthBox:
    """One labelled box in one frame.

    Attributes:
        box: ``(x1, y1, x2, y2)`` in frame pixels.
        ignore: If true, the box is neither to be found nor a false alarm: a
            detection on it counts neither way.
        track_id: The object's id in the labels, ``-1`` when unknown.
    """

    box: tuple[float, float, float, float]
    ignore: bool = False
    track_id: int = -1


def load_mot_ground_truth(path: Path) -> dict[int, list[GroundTruthBox]]:
    """Read a MOTChallenge ``gt.txt`` into boxes by frame.

    Lines are ``frame,id,left,top,width,height,flag,...``; a ``flag`` of 0 marks
    a box to ignore. Frames are keyed by **video frame index counted from 0**
    (the file's frame number minus 1), as decoders count them.

    Raises:
        ValueError: If a line has fewer than 7 fields or fields that are not
            numbers; the message names the line.
    """
    boxes: dict[int, list[GroundTruthBox]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split(",")
        try:
            if len(fields) < 7:
                raise ValueError(f"{len(fields)} fields")
            frame = int(float(fields[0])) - 1
            track_id = int(float(fields[1]))
            left, top, width, height = (float(v) for v in fields[2:6])
            flag = float(fields[6])
        except ValueError as exc:
            raise ValueError(
                f"{path} line {number} is not a MOTChallenge box ({exc}); expected "
                "frame,id,left,top,width,height,flag,..."
            ) from exc
        boxes.setdefault(frame, []).append(
            GroundTruthBox(
                box=(left, top, left + width, top + height),
                ignore=flag == 0,
                track_id=track_id,
            )
        )
    return boxes


def average_precision(
    detections_by_frame: Mapping[int, Sequence[Detection]],
    gt_by_frame: Mapping[int, Sequence[GroundTruthBox]],
    iou: float = 0.5,
    *,
    label: str | None = None,
) -> float:
    """Average precision of detections against ground truth, at one IoU.

    All detections of all frames are ranked by score. Going down the ranking,
    a detection is a true positive when it overlaps a not yet matched, not
    ignored ground-truth box of its frame with IoU at least ``iou`` (the best
    such box is taken); otherwise it is left out of the count when it overlaps
    an ignored box by that much; otherwise it is a false positive (a second
    detection of an already found box is one). AP is the area under the
    precision-recall curve after making precision non-increasing (all-point
    interpolation, as PASCAL VOC since 2010).

    Frames present in ``detections_by_frame`` but not in ``gt_by_frame`` have
    no objects: their detections are false positives. To score a subset of
    frames, pass only those frames in both mappings.

    Args:
        detections_by_frame: Detections keyed by frame.
        gt_by_frame: Ground-truth boxes keyed by the same frame keys.
        iou: Lowest IoU for a match, in ``(0, 1]``.
        label: If given, only detections with this label are scored (the
            ground truth is taken to be of that class).

    Returns:
        AP in ``[0, 1]``; 0.0 when there is no ground-truth box to find.

    Raises:
        ValueError: If ``iou`` is out of range.

    Example:
        >>> truth = {0: [GroundTruthBox((0, 0, 10, 20))]}
        >>> found = {0: [Detection((1, 0, 10, 20), 0.9, "person")]}
        >>> average_precision(found, truth)
        1.0
    """
    if not 0.0 < iou <= 1.0:
        raise ValueError(f"IoU threshold {iou} is out of range; use a value in (0, 1]")

    positives = sum(1 for boxes in gt_by_frame.values() for g in boxes if not g.ignore)
    if positives == 0:
        return 0.0

    ranked: list[tuple[float, int, int]] = []
    per_frame: dict[int, list[Detection]] = {}
    for frame, detections in detections_by_frame.items():
        kept = [d for d in detections if label is None or d.label == label]
        per_frame[frame] = kept
        ranked.extend((d.score, frame, i) for i, d in enumerate(kept))
    ranked.sort(key=lambda item: -item[0])

    overlaps: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for frame, detections in per_frame.items():
        truth = gt_by_frame.get(frame, ())
        matrix = iou_matrix(
            np.array([d.box for d in detections], dtype=np.float64).reshape(-1, 4),
            np.array([g.box for g in truth], dtype=np.float64).reshape(-1, 4),
        )
        ignored = np.array([g.ignore for g in truth], dtype=bool)
        overlaps[frame] = (matrix, ignored, np.zeros(len(truth), dtype=bool))

    outcomes: list[bool] = []
    for _, frame, index in ranked:
        matrix, ignored, taken = overlaps[frame]
        row = matrix[index]
        open_ = (~ignored) & (~taken) & (row >= iou)
        if open_.any():
            best = int(np.argmax(np.where(open_, row, -1.0)))
            taken[best] = True
            outcomes.append(True)
        elif (ignored & (row >= iou)).any():
            continue
        else:
            outcomes.append(False)

    if not outcomes:
        return 0.0
    hits = np.asarray(outcomes, dtype=np.float64)
    true_pos = np.cumsum(hits)
    false_pos = np.cumsum(1.0 - hits)
    recall = true_pos / positives
    precision = true_pos / (true_pos + false_pos)

    # Area under the precision envelope, summed where recall steps up.
    recall = np.concatenate(([0.0], recall, [recall[-1]]))
    precision = np.concatenate(([1.0], precision, [0.0]))
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.nonzero(recall[1:] != recall[:-1])[0]
    return float(np.sum((recall[steps + 1] - recall[steps]) * precision[steps + 1]))
