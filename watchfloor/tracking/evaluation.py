"""Scores tracks against MOTChallenge ground truth (MOTA, IDF1 and their counts)."""

from __future__ import annotations

import configparser
import csv
import dataclasses
import logging
import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from watchfloor.detection.base import Detection
from watchfloor.tracking.tracker import ObjectTracker, TrackedObject, TrackerSettings

# motmetrics 1.4 computes IoU with np.asfarray, which NumPy 2 removed; giving
# the name back keeps the library working on both NumPy lines.
if not hasattr(np, "asfarray"):

    def _asfarray(a: Any, dtype: Any = np.float64) -> np.ndarray:
        if not np.issubdtype(np.dtype(dtype), np.inexact):
            dtype = np.float64
        return np.asarray(a, dtype=dtype)

    np.asfarray = _asfarray  # type: ignore[attr-defined]

import motmetrics as mm  # after the NumPy name above is given back

logger = logging.getLogger(__name__)

IGNORE_IOU = 0.5
"""A predicted box this close to an ignored ground-truth box is not scored."""


@dataclass(frozen=True, slots=True)
class SequenceInfo:
    """The description of a MOTChallenge sequence from its ``seqinfo.ini``.

    Attributes:
        name: Name of the sequence.
        frame_rate: Capture rate in frames per second.
        length: Number of frames.
        width: Frame width in pixels.
        height: Frame height in pixels.
    """

    name: str
    frame_rate: float
    length: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class MotRow:
    """One line of a MOTChallenge file: one box of one object in one frame.

    Attributes:
        frame: Frame number, counted from 1.
        track_id: Id of the object (ground truth) or track (tracker output).
        left: Left edge in pixels.
        top: Top edge in pixels.
        width: Width in pixels.
        height: Height in pixels.
        confidence: The ``conf`` column: the score of a tracker box, or for
            ground truth the flag, where 0 means the box is to be ignored.
    """

    frame: int
    track_id: int
    left: float
    top: float
    width: float
    height: float
    confidence: float = 1.0

    @property
    def box(self) -> tuple[float, float, float, float]:
        """The box as ``(x1, y1, x2, y2)`` in pixels."""
        return (self.left, self.top, self.left + self.width, self.top + self.height)

    @property
    def ignored(self) -> bool:
        """Whether this ground-truth box is flagged to be ignored."""
        return self.confidence == 0

    @classmethod
    def from_track(cls, frame: int, track: TrackedObject) -> MotRow:
        """The tracker-output row of one track in one frame."""
        x1, y1, x2, y2 = track.box
        return cls(frame, track.track_id, x1, y1, x2 - x1, y2 - y1, track.score)


@dataclass(frozen=True, slots=True)
class MotScores:
    """CLEAR MOT and identity scores of one sequence.

    Attributes:
        mota: Multiple object tracking accuracy, 1 - (misses + false positives
            + id switches) / objects.
        motp: Mean IoU of matched boxes (MOTChallenge's convention; higher is
            better).
        idf1: F1 score of the best one-to-one assignment of track ids to
            ground-truth ids.
        idp: Identity precision.
        idr: Identity recall.
        precision: Matched boxes over predicted boxes.
        recall: Matched boxes over ground-truth boxes.
        id_switches: Times a ground-truth object changed its matched track.
        fragmentations: Times a ground-truth object's match was interrupted.
        matches: Predicted boxes matched to a ground-truth box.
        false_positives: Predicted boxes matched to nothing.
        misses: Ground-truth boxes matched to nothing.
        objects: Ground-truth boxes scored (ignored ones excluded).
        predictions: Predicted boxes scored (those at ignored boxes excluded).
        ignored_predictions: Predicted boxes left out because they lie on a
            ground-truth box flagged to be ignored.
        ground_truth_ids: Distinct ground-truth objects scored.
        predicted_ids: Distinct track ids scored.
        mostly_tracked: Objects matched in at least 80 % of their frames.
        partially_tracked: Objects matched in 20 % to 80 % of their frames.
        mostly_lost: Objects matched in less than 20 % of their frames.
        frames: Frames scored.
    """

    mota: float
    motp: float
    idf1: float
    idp: float
    idr: float
    precision: float
    recall: float
    id_switches: int
    fragmentations: int
    matches: int
    false_positives: int
    misses: int
    objects: int
    predictions: int
    ignored_predictions: int
    ground_truth_ids: int
    predicted_ids: int
    mostly_tracked: int
    partially_tracked: int
    mostly_lost: int
    frames: int

    def to_dict(self) -> dict[str, float | int]:
        """The scores as a plain dictionary, for JSON or a table."""
        return dataclasses.asdict(self)


def read_seqinfo(path: str | Path) -> SequenceInfo:
    """Read a MOTChallenge ``seqinfo.ini``.

    Args:
        path: The ``seqinfo.ini`` file, or the sequence folder holding it.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the ``[Sequence]`` section or one of its keys is missing.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "seqinfo.ini"
    parser = configparser.ConfigParser()
    with path.open(encoding="utf-8") as handle:
        parser.read_file(handle)
    if not parser.has_section("Sequence"):
        raise ValueError(f"{path} has no [Sequence] section; a seqinfo.ini needs one")
    section = parser["Sequence"]
    try:
        return SequenceInfo(
            name=section["name"],
            frame_rate=float(section["frameRate"]),
            length=int(section["seqLength"]),
            width=int(section["imWidth"]),
            height=int(section["imHeight"]),
        )
    except KeyError as missing:
        raise ValueError(
            f"{path} lacks the key {missing}; [Sequence] needs name, frameRate, "
            "seqLength, imWidth and imHeight"
        ) from None


def read_mot_file(path: str | Path) -> list[MotRow]:
    """Read a MOTChallenge ground-truth or tracker-output file.

    Lines are ``frame,id,left,top,width,height,conf,...``; columns after the
    seventh are not read, and a missing seventh column reads as 1.

    Raises:
        ValueError: If a line has fewer than six columns or a non-number.
    """
    path = Path(path)
    rows: list[MotRow] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for number, fields in enumerate(csv.reader(handle), start=1):
            if not fields or not "".join(fields).strip():
                continue
            if len(fields) < 6:
                raise ValueError(
                    f"{path} line {number} has {len(fields)} columns; a MOTChallenge "
                    "line has at least frame,id,left,top,width,height"
                )
            try:
                values = [float(v) for v in fields[:7]]
            except ValueError:
                raise ValueError(
                    f"{path} line {number} has a column that is not a number: "
                    f"{','.join(fields)}"
                ) from None
            rows.append(
                MotRow(
                    frame=int(values[0]),
                    track_id=int(values[1]),
                    left=values[2],
                    top=values[3],
                    width=values[4],
                    height=values[5],
                    confidence=values[6] if len(values) > 6 else 1.0,
                )
            )
    return rows


def write_mot_file(path: str | Path, rows: Iterable[MotRow]) -> None:
    """Write tracker output as ``frame,id,left,top,width,height,score,-1,-1,-1``."""
    with Path(path).open("w", encoding="utf-8") as handle:
        for row in sorted(rows, key=lambda r: (r.frame, r.track_id)):
            handle.write(
                f"{row.frame},{row.track_id},{row.left:.2f},{row.top:.2f},"
                f"{row.width:.2f},{row.height:.2f},{row.confidence:.4f},-1,-1,-1\n"
            )


def _by_frame(rows: Iterable[MotRow]) -> dict[int, list[MotRow]]:
    frames: dict[int, list[MotRow]] = defaultdict(list)
    for row in rows:
        frames[row.frame].append(row)
    return frames


def _ltwh(rows: Sequence[MotRow]) -> np.ndarray:
    return np.array(
        [[r.left, r.top, r.width, r.height] for r in rows], dtype=np.float64
    ).reshape(-1, 4)


def _distances(
    gt: Sequence[MotRow], hyp: Sequence[MotRow], max_distance: float
) -> np.ndarray:
    if not gt or not hyp:
        return np.empty((len(gt), len(hyp)))
    return np.asarray(
        mm.distances.iou_matrix(_ltwh(gt), _ltwh(hyp), max_iou=max_distance)
    )


def _drop_ignored(
    gt: Sequence[MotRow], hyp: Sequence[MotRow]
) -> tuple[list[MotRow], int]:
    """Leave out predicted boxes whose best-overlapping gt box is ignored."""
    if not hyp or not any(r.ignored for r in gt):
        return list(hyp), 0
    overlap = 1.0 - _distances(gt, hyp, max_distance=1.0)
    best = np.argmax(overlap, axis=0)
    kept: list[MotRow] = []
    for column, row in enumerate(hyp):
        g = int(best[column])
        if gt[g].ignored and overlap[g, column] >= IGNORE_IOU:
            continue
        kept.append(row)
    return kept, len(hyp) - len(kept)


def score_sequence(
    ground_truth: str | Path | Sequence[MotRow],
    tracks: str | Path | Sequence[MotRow],
    *,
    iou_threshold: float = 0.5,
    frames: Iterable[int] | None = None,
) -> MotScores:
    """Score tracker output against ground truth with motmetrics.

    Ground-truth boxes flagged 0 are not scored, and a predicted box whose
    best-overlapping ground-truth box (IoU at least 0.5) is such a box is left
    out too, so that it counts neither as a match nor as a false positive.

    Args:
        ground_truth: A MOTChallenge ``gt.txt`` or its rows.
        tracks: Tracker output in MOTChallenge form, or its rows.
        iou_threshold: Least IoU for a predicted box to match a ground-truth
            box.
        frames: Frame numbers to score, such as every third frame when the
            tracker saw only those; by default every frame that has a
            ground-truth or predicted box.

    Returns:
        The scores.

    Raises:
        ValueError: If ``iou_threshold`` is not in ``(0, 1]``.

    Example:
        >>> gt = [MotRow(1, 1, 0, 0, 10, 10), MotRow(2, 1, 1, 0, 10, 10)]
        >>> hyp = [MotRow(1, 7, 0, 0, 10, 10), MotRow(2, 7, 1, 0, 10, 10)]
        >>> score_sequence(gt, hyp).mota
        1.0
    """
    if not 0.0 < iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold is {iou_threshold}; it must be in (0, 1]")
    gt_rows = (
        read_mot_file(ground_truth)
        if isinstance(ground_truth, (str, Path))
        else list(ground_truth)
    )
    hyp_rows = (
        read_mot_file(tracks) if isinstance(tracks, (str, Path)) else list(tracks)
    )
    gt_frames = _by_frame(gt_rows)
    hyp_frames = _by_frame(hyp_rows)
    scored = sorted(set(gt_frames) | set(hyp_frames) if frames is None else set(frames))

    accumulator = mm.MOTAccumulator(auto_id=False)
    ignored = 0
    predicted_ids: set[int] = set()
    for frame in scored:
        gt = gt_frames.get(frame, [])
        hyp, dropped = _drop_ignored(gt, hyp_frames.get(frame, []))
        ignored += dropped
        gt = [r for r in gt if not r.ignored]
        predicted_ids.update(r.track_id for r in hyp)
        accumulator.update(
            [r.track_id for r in gt],
            [r.track_id for r in hyp],
            _distances(gt, hyp, max_distance=1.0 - iou_threshold),
            frameid=frame,
        )

    host = mm.metrics.create()
    names = [
        "mota",
        "motp",
        "idf1",
        "idp",
        "idr",
        "precision",
        "recall",
        "num_switches",
        "num_fragmentations",
        "num_detections",
        "num_false_positives",
        "num_misses",
        "num_objects",
        "num_predictions",
        "num_unique_objects",
        "mostly_tracked",
        "partially_tracked",
        "mostly_lost",
    ]
    summary = host.compute(accumulator, metrics=names, name="sequence")
    value: Mapping[str, Any] = summary.iloc[0].to_dict()

    def ratio(name: str) -> float:
        number = float(value[name])
        return 0.0 if math.isnan(number) else number

    motp_distance = float(value["motp"])
    scores = MotScores(
        mota=ratio("mota"),
        motp=0.0 if math.isnan(motp_distance) else 1.0 - motp_distance,
        idf1=ratio("idf1"),
        idp=ratio("idp"),
        idr=ratio("idr"),
        precision=ratio("precision"),
        recall=ratio("recall"),
        id_switches=int(value["num_switches"]),
        fragmentations=int(value["num_fragmentations"]),
        matches=int(value["num_detections"]),
        false_positives=int(value["num_false_positives"]),
        misses=int(value["num_misses"]),
        objects=int(value["num_objects"]),
        predictions=int(value["num_predictions"]),
        ignored_predictions=ignored,
        ground_truth_ids=int(value["num_unique_objects"]),
        predicted_ids=len(predicted_ids),
        mostly_tracked=int(value["mostly_tracked"]),
        partially_tracked=int(value["partially_tracked"]),
        mostly_lost=int(value["mostly_lost"]),
        frames=len(scored),
    )
    logger.debug("scored %d frames: %s", len(scored), scores)
    return scores


def track_detections(
    detections: Mapping[int, Sequence[Detection]],
    frame_rate: float,
    *,
    settings: TrackerSettings | None = None,
    frames: Iterable[int] | None = None,
    labels: Collection[str] | None = None,
) -> list[MotRow]:
    """Run a new tracker over a sequence's detections, as tracker-output rows.

    Frame ``n`` is given to the tracker at ``(n - 1) / frame_rate`` seconds;
    every confirmed track seen in a frame becomes a row of that frame.

    Args:
        detections: Detections by frame number (counted from 1).
        frame_rate: Capture rate of the sequence in frames per second.
        settings: Tracker settings; the defaults if ``None``.
        frames: Frames to track, in order, such as every third one; by
            default every key of ``detections``.
        labels: Classes to track; all if ``None``.

    Raises:
        ValueError: If ``frame_rate`` is not positive.
    """
    if not frame_rate > 0.0:
        raise ValueError(f"frame_rate is {frame_rate}; it must be above 0")
    tracker = ObjectTracker(settings)
    rows: list[MotRow] = []
    for frame in sorted(detections) if frames is None else frames:
        found = [
            d for d in detections.get(frame, []) if labels is None or d.label in labels
        ]
        update = tracker.update(found, (frame - 1) / frame_rate)
        rows.extend(MotRow.from_track(frame, track) for track in update.tracks)
    return rows


def simulate_detections(
    ground_truth: Sequence[MotRow],
    *,
    seed: int,
    drop: float = 0.2,
    jitter: float = 0.05,
    false_positives_per_frame: float = 0.5,
    score_range: tuple[float, float] = (0.3, 1.0),
    frame_size: tuple[int, int] | None = None,
    label: str = "person",
) -> dict[int, list[Detection]]:
    """Degrade ground truth into the detections an imperfect detector would give.

    This measures a tracker on real footage's motion without a detector: some
    boxes are dropped, the rest are jittered and get random scores (some weak),
    and random false boxes are added.

    Args:
        ground_truth: Ground-truth rows, ignored ones included (a detector
            sees those objects too).
        seed: Seed of the random generator, for repeatable runs.
        drop: Chance that a box is missed.
        jitter: Standard deviation of the shift of a box's centre and of the
            change of its size, relative to its size.
        false_positives_per_frame: Mean number of false boxes per frame, each
            shaped like a random ground-truth box and placed at random.
        score_range: Scores are drawn uniformly from this range; false boxes
            get scores up to its midpoint.
        frame_size: ``(width, height)`` of the frames, where false boxes are
            placed; by default the extent of the ground truth.
        label: Class given to every detection.

    Returns:
        Detections for every frame from the first to the last ground-truth
        frame, keyed by frame number.

    Raises:
        ValueError: If ``ground_truth`` is empty or a rate is out of range.
    """
    if not ground_truth:
        raise ValueError("ground_truth is empty; give at least one row to degrade")
    if not 0.0 <= drop <= 1.0:
        raise ValueError(f"drop is {drop}; it must be a chance in [0, 1]")
    if false_positives_per_frame < 0.0 or jitter < 0.0:
        raise ValueError("false_positives_per_frame and jitter must not be negative")
    rng = np.random.default_rng(seed)
    low, high = score_range
    sizes = _ltwh(ground_truth)[:, 2:]
    if frame_size is None:
        frame_size = (
            int(max(r.left + r.width for r in ground_truth)),
            int(max(r.top + r.height for r in ground_truth)),
        )
    width, height = frame_size

    by_frame = _by_frame(ground_truth)
    detections: dict[int, list[Detection]] = {}
    for frame in range(min(by_frame), max(by_frame) + 1):
        found: list[Detection] = []
        for row in by_frame.get(frame, []):
            if rng.random() < drop:
                continue
            cx = row.left + row.width / 2 + rng.normal(0.0, jitter) * row.width
            cy = row.top + row.height / 2 + rng.normal(0.0, jitter) * row.height
            w = row.width * max(0.5, 1.0 + rng.normal(0.0, jitter))
            h = row.height * max(0.5, 1.0 + rng.normal(0.0, jitter))
            box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            found.append(Detection(box, float(rng.uniform(low, high)), label))
        for _ in range(int(rng.poisson(false_positives_per_frame))):
            w, h = sizes[int(rng.integers(len(sizes)))]
            x = float(rng.uniform(0.0, max(1.0, width - w)))
            y = float(rng.uniform(0.0, max(1.0, height - h)))
            score = float(rng.uniform(low, (low + high) / 2))
            found.append(Detection((x, y, x + w, y + h), score, label))
        detections[frame] = found
    return detections
