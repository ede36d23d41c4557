"""The per-camera tracker: turns each frame's detections into tracks with ids."""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.optimize import linear_sum_assignment

from watchfloor.detection.base import Detection
from watchfloor.detection.boxes import cut_by_side, iou_matrix
from watchfloor.tracking.appearance import appearance_distances, descriptor_of

logger = logging.getLogger(__name__)

Box = tuple[float, float, float, float]

# ByteTrack's Kalman noise is stated per frame of a 30 frames/s video, relative
# to the box height. Here it is turned into noise per second and scaled with
# the time between updates, so that the filter behaves the same whatever the
# camera's frame rate is.
_REFERENCE_RATE = 30.0
_POSITION_STD = 1.0 / 20.0
_VELOCITY_STD = 1.0 / 160.0
_ASPECT_STD = 1e-2
_ASPECT_VELOCITY_STD = 1e-5
_ASPECT_MEASUREMENT_STD = 1e-1

_NEW_TRACK_GATE = 9.4877
"""Largest squared Mahalanobis distance (chi-square, 4 degrees of freedom,
95 %) between a new track's predicted box and a detection continuing it."""

_INFEASIBLE = 1e6


class TrackerSettings(BaseModel):
    """How the per-camera tracker associates detections and keeps tracks.

    Times are in seconds, whatever the camera's frame rate: the tracker reads
    the time of every update, so a camera whose frame rate varies keeps the
    same behaviour.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    high_score: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description=(
            "Detections with at least this score are confident: they are "
            "associated with tracks first and may start new tracks."
        ),
    )
    low_score: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description=(
            "Detections scoring from this up to high_score are weak: they can "
            "continue a track but never start one. Detections below it are "
            "ignored."
        ),
    )
    new_track_score: float = Field(
        default=0.6,
        ge=0.0,
        le=1.0,
        description="Least score of a detection that may start a new track.",
    )
    match_iou: float = Field(
        default=0.2,
        gt=0.0,
        le=1.0,
        description=(
            "Least IoU between a track's predicted box and a confident "
            "detection for them to be associated."
        ),
    )
    weak_match_iou: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description=(
            "Least IoU between a track's predicted box and a weak detection "
            "for them to be associated."
        ),
    )
    confirm_hits: int = Field(
        default=2,
        ge=1,
        description=(
            "A new track is confirmed, and gets its id, only once it has been "
            "seen in at least this many consecutive updates; with 2 or more, a "
            "detection seen in one frame only never makes a track."
        ),
    )
    confirm_s: float = Field(
        default=0.0,
        ge=0.0,
        description=(
            "A new track is confirmed only once it has been seen in "
            "consecutive updates over at least this many seconds (from its "
            "first to its latest detection), on top of confirm_hits. Raise it "
            "to drop objects that flicker for a moment."
        ),
    )
    lost_buffer_s: float = Field(
        default=3.0,
        ge=0.0,
        description=(
            "Seconds a confirmed track is kept after it was last seen, so that "
            "it keeps its id through an occlusion (someone walking past in "
            "front) or missed detections."
        ),
    )
    end_at_exit: bool = Field(
        default=True,
        description=(
            "End a track at once, without the lost buffer, when it is lost "
            "while walking out through the picture's left or right side: it "
            "left, and whatever comes in at the same place soon after is "
            "most often someone else (at the border colours cannot tell)."
        ),
    )
    per_class: bool = Field(
        default=True,
        description=(
            "Associate detections only with tracks of the same class, so that "
            "a person and a car never share a track."
        ),
    )
    appearance_gate: float = Field(
        default=0.35,
        ge=0.0,
        le=1.0,
        description=(
            "When frames are given: a detection whose colours are farther than "
            "this from a track's (0: the same, 1: none in common) cannot "
            "continue it, so two people who cross or meet keep their own ids. "
            "1 turns the check off."
        ),
    )
    appearance_weight: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description=(
            "Share of the colour distance in the cost of matching confident "
            "detections to tracks (the rest is box overlap)."
        ),
    )
    new_track_max_iou: float = Field(
        default=0.3,
        gt=0.0,
        le=1.0,
        description=(
            "A detection left over starts a new track only where no confirmed "
            "track (of its class, with per_class) is: its IoU with each of "
            "their boxes (as seen in this frame, or predicted while lost) must "
            "be below this. A detection "
            "on a tracked person that the colour check refused once, or a "
            "second box on one person, then makes no second track of them; "
            "someone who comes out from behind another gets a track once "
            "their boxes part. 1 turns this off."
        ),
    )
    shared_box_iou: float = Field(
        default=0.3,
        gt=0.0,
        le=1.0,
        description=(
            "A detection whose box overlaps two or more tracks at this IoU or "
            "more (their predicted boxes, or where a lost one was last seen) "
            "is people seen together as one: it may continue one of them but "
            "does not change that track's colours. 1 turns this off."
        ),
    )

    @model_validator(mode="after")
    def _check_order(self) -> TrackerSettings:
        if self.low_score > self.high_score:
            raise ValueError(
                f"low_score {self.low_score} is above high_score "
                f"{self.high_score}; low_score must be at most high_score"
            )
        return self


class TrackState(enum.Enum):
    """Where a confirmed track is in its life."""

    TRACKED = "tracked"
    """Seen in the latest update."""
    LOST = "lost"
    """Not seen in the latest update, but kept in the lost buffer."""


@dataclass(frozen=True, slots=True)
class TrackedObject:
    """A confirmed track as it stands after one update.

    Attributes:
        track_id: Id of the track, stable over its life and never reused by
            the same tracker; ids count up from 1.
        box: ``(x1, y1, x2, y2)`` in pixels. For a tracked track, the box of the
            detection it was associated with; for a lost track, the box its
            motion predicts.
        score: Score of the detection last associated with the track.
        label: Object class of the detection last associated with the track
            (always the class it started with when tracking per class).
        state: Whether the track was seen in this update or is lost.
        first_seen: Time of the track's first detection, in seconds on the
            clock of the update times (POSIX seconds when they are datetimes).
        last_seen: Time of the track's latest detection, same clock.
        hits: Number of updates in which the track was seen.
    """

    track_id: int
    box: Box
    score: float
    label: str
    state: TrackState
    first_seen: float
    last_seen: float
    hits: int

    @property
    def duration(self) -> float:
        """Seconds from the track's first detection to its latest one."""
        return self.last_seen - self.first_seen


@dataclass(frozen=True, slots=True)
class TrackerUpdate:
    """What one update of the tracker produced.

    Attributes:
        time: Time of the update in seconds (POSIX seconds for datetimes).
        tracks: Confirmed tracks seen in this update, by id.
        lost_tracks: Confirmed tracks not seen in this update that are still
            kept in the lost buffer, by id, with their predicted boxes.
        appeared: Ids of tracks confirmed in this update (new objects).
        lost: Ids of tracks seen in the previous update and not in this one.
        recovered: Ids of lost tracks seen again in this update.
        ended: Ids of tracks dropped in this update, because they had been
            lost longer than the lost buffer, went out at the picture's side
            or the tracker was closed. An id can be both in ``lost`` and
            ``ended`` (the buffer is 0 s, or the object went out).
    """

    time: float
    tracks: list[TrackedObject] = field(default_factory=list)
    lost_tracks: list[TrackedObject] = field(default_factory=list)
    appeared: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)


def _to_xyah(boxes: np.ndarray) -> np.ndarray:
    """Turn ``(N, 4)`` boxes ``x1, y1, x2, y2`` into centre, aspect and height."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    width = boxes[:, 2] - boxes[:, 0]
    height = boxes[:, 3] - boxes[:, 1]
    return np.stack(
        [
            (boxes[:, 0] + boxes[:, 2]) / 2.0,
            (boxes[:, 1] + boxes[:, 3]) / 2.0,
            width / height,
            height,
        ],
        axis=1,
    )


def _noise_std(height: float) -> np.ndarray:
    """Standard deviations of the state's noise per frame at the reference rate."""
    position = _POSITION_STD * height
    velocity = _VELOCITY_STD * height * _REFERENCE_RATE
    aspect_velocity = _ASPECT_VELOCITY_STD * _REFERENCE_RATE
    values = (position, position, _ASPECT_STD, position)
    rates = (velocity, velocity, aspect_velocity, velocity)
    return np.array(values + rates)


class _BoxFilter:
    """Constant-velocity Kalman filter over a box's centre, aspect and height.

    The state is ``cx, cy, aspect, height`` and their velocities per second.
    Process noise grows with the time between updates, so irregular frame
    times are handled by the motion model itself.
    """

    def __init__(self, box: Box) -> None:
        measurement = _to_xyah(np.array(box))[0]
        self.mean = np.concatenate([measurement, np.zeros(4)])
        # ByteTrack's initial uncertainty: twice the position noise, ten
        # times the velocity noise.
        std = _noise_std(measurement[3]) * np.array([2.0] * 4 + [10.0] * 4)
        self.covariance = np.diag(np.square(std))

    def predict(self, dt: float) -> None:
        if dt <= 0.0:
            return
        transition = np.eye(8)
        transition[:4, 4:] = dt * np.eye(4)
        # A random walk whose variance per second matches ByteTrack's noise
        # per frame at the reference rate.
        variance = np.square(_noise_std(self.mean[3])) * _REFERENCE_RATE * dt
        self.mean = transition @ self.mean
        self.covariance = transition @ self.covariance @ transition.T + np.diag(
            variance
        )

    def _innovation_covariance(self) -> np.ndarray:
        position = _POSITION_STD * self.mean[3]
        std = [position, position, _ASPECT_MEASUREMENT_STD, position]
        return self.covariance[:4, :4] + np.diag(np.square(std))

    def update(self, box: Box) -> None:
        measurement = _to_xyah(np.array(box))[0]
        projected = self._innovation_covariance()
        gain = np.linalg.solve(projected, self.covariance[:4, :]).T
        self.mean = self.mean + gain @ (measurement - self.mean[:4])
        self.covariance = self.covariance - gain @ projected @ gain.T

    def distances(self, boxes: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distances of ``(N, 4)`` boxes from the prediction."""
        lower = np.linalg.cholesky(self._innovation_covariance())
        offsets = _to_xyah(boxes) - self.mean[:4]
        whitened = np.linalg.solve(lower, offsets.T)
        return np.asarray(np.sum(whitened * whitened, axis=0))

    def stop_growth(self) -> None:
        """Stop the height from changing while the box is not seen."""
        self.mean[7] = 0.0

    @property
    def box(self) -> Box:
        cx, cy, aspect, height = (float(v) for v in self.mean[:4])
        height = max(height, 1e-3)
        width = max(aspect, 1e-6) * height
        return (
            cx - width / 2.0,
            cy - height / 2.0,
            cx + width / 2.0,
            cy + height / 2.0,
        )


@dataclass(slots=True)
class _Track:
    motion: _BoxFilter
    box: Box
    score: float
    label: str
    first_seen: float
    last_seen: float
    hits: int = 1
    track_id: int | None = None
    state: TrackState = TrackState.TRACKED
    look: np.ndarray | None = None

    @property
    def confirmed(self) -> bool:
        return self.track_id is not None

    def see(self, detection: Detection, time: float) -> None:
        self.motion.update(detection.box)
        self.box = detection.box
        self.score = detection.score
        self.label = detection.label
        self.last_seen = time
        self.hits += 1

    def leaving(self, width: int) -> bool:
        """Whether its last box is cut by the left or right side of a picture
        ``width`` pixels wide and its motion heads out through that side."""
        side = cut_by_side(self.box, width)
        speed = self.motion.mean[4]
        return (side < 0 and speed < 0) or (side > 0 and speed > 0)

    def public(self) -> TrackedObject:
        assert self.track_id is not None
        box = self.box if self.state is TrackState.TRACKED else self.motion.box
        return TrackedObject(
            track_id=self.track_id,
            box=box,
            score=self.score,
            label=self.label,
            state=self.state,
            first_seen=self.first_seen,
            last_seen=self.last_seen,
            hits=self.hits,
        )


Pairs = list[tuple[int, int]]
CostFunction = Callable[[Sequence[_Track], np.ndarray], tuple[np.ndarray, np.ndarray]]


def _overlap_cost(min_iou: float) -> CostFunction:
    """Cost ``1 - IoU`` of predicted and detected boxes, feasible from ``min_iou``."""

    def cost(
        tracks: Sequence[_Track], boxes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        predicted = np.array([t.motion.box for t in tracks])
        overlap = iou_matrix(predicted, boxes)
        return 1.0 - overlap, overlap >= min_iou

    return cost


def _motion_cost(
    tracks: Sequence[_Track], boxes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cost by Mahalanobis distance, for tracks whose box may not overlap.

    A new track has no velocity estimate yet and a lost track has been
    extrapolated blind, so at low frame rates or after an occlusion the
    predicted box may not overlap where the object is. The filter's own
    uncertainty, which grows with the time since the track was seen, says how
    far it may have gone.
    """
    distance = np.array([t.motion.distances(boxes) for t in tracks])
    return distance, distance <= _NEW_TRACK_GATE


def _associate(
    tracks: Sequence[_Track],
    detections: Sequence[Detection],
    cost_function: CostFunction,
    per_class: bool,
) -> tuple[Pairs, list[int], list[int]]:
    """Match tracks to detections by the least total cost among feasible pairs.

    Returns:
        Matched ``(track index, detection index)`` pairs, then the indices of
        unmatched tracks and of unmatched detections, in order.
    """
    if not tracks or not detections:
        return [], list(range(len(tracks))), list(range(len(detections)))

    boxes = np.array([d.box for d in detections], dtype=np.float64)
    cost, feasible = cost_function(tracks, boxes)
    if per_class:
        feasible &= np.array([[t.label == d.label for d in detections] for t in tracks])
    # Infeasible pairs cost more than any set of feasible ones, so the
    # assignment never trades a feasible pair for an infeasible one.
    rows, cols = linear_sum_assignment(np.where(feasible, cost, _INFEASIBLE))
    pairs = [
        (int(r), int(c)) for r, c in zip(rows, cols, strict=True) if feasible[r, c]
    ]

    matched_tracks = {r for r, _ in pairs}
    matched_detections = {c for _, c in pairs}
    unmatched_tracks = [i for i in range(len(tracks)) if i not in matched_tracks]
    unmatched_detections = [
        i for i in range(len(detections)) if i not in matched_detections
    ]
    return pairs, unmatched_tracks, unmatched_detections


def _shared(
    detections: Sequence[Detection], tracks: Sequence[_Track], min_iou: float
) -> set[int]:
    """The ``id()`` of each detection whose box overlaps two or more confirmed
    tracks at ``min_iou`` or more: people crossing or walking together, seen
    as one. A track is where its predicted box is or, while lost, where it
    was last seen (the one hidden in the shared box may stay there while its
    prediction moves on). The box's colours are of neither alone."""
    confirmed = [t for t in tracks if t.confirmed]
    if len(confirmed) < 2 or not detections:
        return set()
    boxes = np.array([d.box for d in detections], dtype=np.float64)
    covers = iou_matrix(boxes, np.array([t.motion.box for t in confirmed]))
    lost = [i for i, t in enumerate(confirmed) if t.state is TrackState.LOST]
    if lost:
        last = iou_matrix(boxes, np.array([confirmed[i].box for i in lost]))
        covers[:, lost] = np.maximum(covers[:, lost], last)
    hits = (covers >= min_iou).sum(axis=1)
    return {id(d) for d, n in zip(detections, hits, strict=True) if n >= 2}


def _held_boxes(tracks: Sequence[_Track], label: str | None) -> np.ndarray:
    """Where the confirmed tracks (of ``label``, or of any class) are: each
    one's box as seen in this update, or its predicted box while lost;
    ``(N, 4)``."""
    boxes = [
        t.box if t.state is TrackState.TRACKED else t.motion.box
        for t in tracks
        if t.confirmed and label in (None, t.label)
    ]
    return np.array(boxes, dtype=np.float64).reshape(-1, 4)


def _looks(detections: Sequence[Detection], image: np.ndarray) -> dict[int, np.ndarray]:
    """Each detection's colour descriptor, by ``id()``, from its crop.

    A box at the picture's left or right edge is left out: its object is
    coming in or going out, and the colours of the part in view are not the
    whole object's. (Boxes cut at the top or bottom are kept: people close
    to a camera are often cut there the whole time they are seen.)
    """
    height, width = image.shape[:2]
    out: dict[int, np.ndarray] = {}
    for d in detections:
        if cut_by_side(d.box, width):
            continue
        x1, y1, x2, y2 = (round(v) for v in d.box)
        x1, x2 = max(0, x1), min(width, x2)
        y1, y2 = max(0, y1), min(height, y2)
        if x2 - x1 < 4 or y2 - y1 < 8:
            continue
        look = descriptor_of(image[y1:y2, x1:x2])
        if look is not None:
            out[id(d)] = look
    return out


def _check_detection(detection: Detection) -> None:
    x1, y1, x2, y2 = detection.box
    if not all(math.isfinite(v) for v in detection.box):
        raise ValueError(f"detection box {detection.box} has a non-finite value")
    if x2 <= x1 or y2 <= y1:
        raise ValueError(
            f"detection box {detection.box} is empty; a box is (x1, y1, x2, y2) "
            "with x2 > x1 and y2 > y1"
        )
    if not math.isfinite(detection.score):
        raise ValueError(f"detection score {detection.score} is not finite")


class ObjectTracker:
    """ByteTrack for one camera, with per-class association and times in seconds.

    Each update predicts every track's box with a Kalman filter, then
    associates in four stages, each solved as a linear assignment with
    SciPy:

    1. confident detections with confirmed tracks (tracked or lost), by IoU;
    2. weak detections with the confirmed tracks left, by a stricter IoU, so
       that a partly hidden object keeps its track;
    3. confident detections left that could start a track with the lost
       tracks left, by the Kalman filter's Mahalanobis distance, so that an
       object whose box drifted while hidden gets its id back;
    4. confident detections left with new, unconfirmed tracks, by the
       Mahalanobis distance too, as a new track's motion is not known yet.

    Given the frame, each detection's colours (the descriptor of
    :mod:`watchfloor.tracking.appearance`, from its crop) are compared with a
    running mean of the track's: in stages 1 to 3 a detection too unlike a
    track (``appearance_gate``) cannot continue it, and in stage 1 the colour
    distance weighs in the cost (``appearance_weight``). A detection whose box
    covers two tracks (people crossing, seen as one: ``shared_box_iou``) may
    continue one of them but does not change its colours, so that when they
    part each is still told by its own.

    Confident detections still left start new tracks, except where a
    confirmed track already is (``new_track_max_iou``). A new track is
    confirmed, and gets an id, once it has been seen in ``confirm_hits``
    consecutive updates over ``confirm_s`` seconds; until then it is not
    reported, so a detection seen once never makes a track. A confirmed track
    that is not seen is kept with its predicted box for ``lost_buffer_s``
    seconds, then ended; one lost as it walks out through the picture's left
    or right side ends at once (``end_at_exit``), so that someone coming in
    there soon after, whose cut-off box has no colours to compare, does not
    take its id.

    Example:
        >>> tracker = ObjectTracker()
        >>> person = Detection(box=(10, 10, 50, 110), score=0.9, label="person")
        >>> tracker.update([person], 0.0).appeared
        []
        >>> tracker.update([person], 0.2).appeared
        [1]

    Limitations:
        Colours tell apart people dressed differently only: two look-alikes
        that cross while one of them is not detected may swap ids, and an
        object hidden for longer than the lost buffer, or one that steps out
        at the side and back in, comes back with a new id (the identity
        resolver may join the two tracks again). Confirmed tracks are
        matched by box overlap, so an object that moves farther than about
        its own width between two updates (fast objects at low detection
        rates) loses its track. Someone who steps out from behind another
        object of their class is tracked only once their boxes part.

    Args:
        settings: Thresholds and times; the defaults suit any camera.
    """

    def __init__(self, settings: TrackerSettings | None = None) -> None:
        self.settings = settings if settings is not None else TrackerSettings()
        self._tracks: list[_Track] = []
        self._next_id = 1
        self._last_time: float | None = None
        self._wall_clock: bool | None = None
        self._looks: dict[int, np.ndarray] = {}
        self._shared: set[int] = set()

    @property
    def time(self) -> float | None:
        """Time of the latest update in seconds, or None before the first."""
        return self._last_time

    def update(
        self,
        detections: Sequence[Detection],
        time: float | datetime,
        image: np.ndarray | None = None,
    ) -> TrackerUpdate:
        """Associate one frame's detections with the tracks.

        Args:
            detections: Detections of one frame of this camera.
            time: Capture time of the frame: a timezone-aware datetime (wall
                clock) or seconds on any steady clock. Every update of one
                tracker must use the same kind, and times must not go back.
            image: The frame (BGR), for the detections' colours; without it
                association uses boxes and motion alone.

        Returns:
            The confirmed tracks after the update, and the lifecycle changes.

        Raises:
            ValueError: If the time is naive, earlier than the previous update
                or of another kind, or a detection box is empty or not finite.
                The tracker is left unchanged.
        """
        now, wall_clock = self._seconds(time)
        for detection in detections:
            _check_detection(detection)
        settings = self.settings

        dt = 0.0 if self._last_time is None else now - self._last_time
        self._last_time = now
        self._wall_clock = wall_clock
        for track in self._tracks:
            if track.state is TrackState.LOST:
                track.motion.stop_growth()
            track.motion.predict(dt)

        confident = [d for d in detections if d.score >= settings.high_score]
        weak = [
            d for d in detections if settings.low_score <= d.score < settings.high_score
        ]
        # Colours only of the detections that take part.
        self._looks = _looks(confident + weak, image) if image is not None else {}
        self._shared = (
            _shared(confident + weak, self._tracks, settings.shared_box_iou)
            if self._looks
            else set()
        )
        confirmed = [t for t in self._tracks if t.confirmed]
        tentative = [t for t in self._tracks if not t.confirmed]
        result = TrackerUpdate(time=now)
        seen: set[int] = set()

        def see(
            tracks: Sequence[_Track], found: Sequence[Detection], pairs: Pairs
        ) -> None:
            for t, d in pairs:
                self._see(tracks[t], found[d], now, result)
                seen.add(id(tracks[t]))

        # Stage 1: confident detections with every confirmed track.
        pairs, left_tracks, left_confident = _associate(
            confirmed,
            confident,
            self._with_looks(_overlap_cost(settings.match_iou), confident, weigh=True),
            settings.per_class,
        )
        see(confirmed, confident, pairs)

        # Stage 2: weak detections with the confirmed tracks left over.
        left = [confirmed[i] for i in left_tracks]
        pairs, _, _ = _associate(
            left,
            weak,
            self._with_looks(_overlap_cost(settings.weak_match_iou), weak),
            settings.per_class,
        )
        see(left, weak, pairs)

        # Stage 3: a confident detection that would start a new track may
        # instead be a lost track seen again where its motion allows.
        remaining = [confident[i] for i in left_confident]
        lost = [t for t in confirmed if t.state is TrackState.LOST]
        starters = [d for d in remaining if d.score >= settings.new_track_score]
        pairs, _, _ = _associate(
            lost, starters, self._with_looks(_motion_cost, starters), settings.per_class
        )
        see(lost, starters, pairs)
        taken = {id(starters[d]) for _, d in pairs}
        remaining = [d for d in remaining if id(d) not in taken]

        # Stage 4: confident detections left over with new tracks.
        pairs, _, left_new = _associate(
            tentative, remaining, _motion_cost, settings.per_class
        )
        see(tentative, remaining, pairs)

        width = image.shape[1] if image is not None else None
        self._retire(now, seen, result, width)

        for i in left_new:
            detection = remaining[i]
            if detection.score < settings.new_track_score:
                continue
            label = detection.label if settings.per_class else None
            held = _held_boxes(self._tracks, label)
            if held.size and (
                iou_matrix(np.array([detection.box]), held).max()
                >= settings.new_track_max_iou
            ):
                continue
            track = _Track(
                motion=_BoxFilter(detection.box),
                box=detection.box,
                score=detection.score,
                label=detection.label,
                first_seen=now,
                last_seen=now,
                look=self._looks.get(id(detection)),
            )
            self._tracks.append(track)
            self._confirm_if_ready(track, result)

        for track in sorted(self._tracks, key=lambda t: t.track_id or 0):
            if track.confirmed:
                public = track.public()
                if track.state is TrackState.TRACKED:
                    result.tracks.append(public)
                else:
                    result.lost_tracks.append(public)
        for ids in (result.appeared, result.lost, result.recovered, result.ended):
            ids.sort()
        if result.appeared or result.ended:
            logger.debug(
                "tracks appeared %s, ended %s at %.3f s",
                result.appeared,
                result.ended,
                now,
            )
        return result

    def close(self, time: float | datetime | None = None) -> TrackerUpdate:
        """End every track, as when the camera's stream stops.

        The tracker can be used again afterwards; ids keep counting up.

        Args:
            time: Time of the closing, by default the latest update's.

        Returns:
            An update with no tracks whose ``ended`` lists every confirmed id.

        Raises:
            ValueError: If the time is not valid for this tracker (see
                ``update``).
        """
        if time is None:
            now = self._last_time if self._last_time is not None else 0.0
        else:
            now, self._wall_clock = self._seconds(time)
            self._last_time = now
        ended = sorted(t.track_id for t in self._tracks if t.track_id is not None)
        self._tracks = []
        logger.debug("tracker closed; ended tracks %s", ended)
        return TrackerUpdate(time=now, ended=ended)

    def _seconds(self, time: float | datetime) -> tuple[float, bool]:
        """Check an update time; return it in seconds and whether it is wall clock."""
        if isinstance(time, datetime):
            if time.tzinfo is None or time.utcoffset() is None:
                raise ValueError(
                    f"update time {time.isoformat()} has no time zone; give a "
                    "timezone-aware UTC datetime"
                )
            seconds = time.timestamp()
            wall_clock = True
        else:
            seconds = float(time)
            wall_clock = False
            if not math.isfinite(seconds):
                raise ValueError(f"update time {time} is not a finite number")

        if self._wall_clock is not None and wall_clock != self._wall_clock:
            had = "datetimes" if self._wall_clock else "seconds"
            got = "a datetime" if wall_clock else "seconds"
            raise ValueError(
                f"update time is {got} but earlier updates used {had}; give "
                "every update of a tracker the same kind of time"
            )
        if self._last_time is not None and seconds < self._last_time:
            raise ValueError(
                f"update time {seconds:.3f} s is before the previous update at "
                f"{self._last_time:.3f} s; times must not go back"
            )
        return seconds, wall_clock

    def _with_looks(
        self,
        cost_function: CostFunction,
        found: Sequence[Detection],
        weigh: bool = False,
    ) -> CostFunction:
        """``cost_function`` with the colour check (and, if ``weigh``, the
        colour distance in the cost) where both sides have colours."""
        settings = self.settings
        looks = [self._looks.get(id(d)) for d in found]

        def cost(
            tracks: Sequence[_Track], boxes: np.ndarray
        ) -> tuple[np.ndarray, np.ndarray]:
            base, feasible = cost_function(tracks, boxes)
            if not self._looks:
                return base, feasible
            distance = np.zeros_like(base)
            known = np.zeros(base.shape, dtype=bool)
            rows = [i for i, track in enumerate(tracks) if track.look is not None]
            columns = [j for j, look in enumerate(looks) if look is not None]
            if rows and columns:
                block = np.ix_(rows, columns)
                distance[block] = appearance_distances(
                    np.array([tracks[i].look for i in rows]),
                    np.array([looks[j] for j in columns]),
                )
                known[block] = True
            feasible = feasible & ~(known & (distance > settings.appearance_gate))
            if weigh and settings.appearance_weight > 0:
                w = settings.appearance_weight
                base = np.where(known, (1 - w) * base + w * distance, base)
            return base, feasible

        return cost

    def _see(
        self, track: _Track, detection: Detection, now: float, result: TrackerUpdate
    ) -> None:
        track.see(detection, now)
        look = self._looks.get(id(detection))
        if look is not None and id(detection) not in self._shared:
            # A running mean: one odd crop (a passer-by in front) moves it
            # little; a box two tracks share is left out, as it is of neither.
            track.look = look if track.look is None else 0.9 * track.look + 0.1 * look
        if track.state is TrackState.LOST and track.track_id is not None:
            result.recovered.append(track.track_id)
        track.state = TrackState.TRACKED
        if not track.confirmed:
            self._confirm_if_ready(track, result)

    def _confirm_if_ready(self, track: _Track, result: TrackerUpdate) -> None:
        settings = self.settings
        if track.hits < settings.confirm_hits:
            return
        if track.last_seen - track.first_seen < settings.confirm_s:
            return
        track.track_id = self._next_id
        self._next_id += 1
        result.appeared.append(track.track_id)

    def _retire(
        self, now: float, seen: set[int], result: TrackerUpdate, width: int | None
    ) -> None:
        """Mark unseen tracks lost, end those past the buffer or gone out of
        the picture (``width``: the frame's, when known), drop unseen new ones."""
        kept: list[_Track] = []
        for track in self._tracks:
            if id(track) in seen:
                kept.append(track)
                continue
            if track.track_id is None:
                # A new track must be seen in consecutive updates.
                continue
            if track.state is TrackState.TRACKED:
                track.state = TrackState.LOST
                result.lost.append(track.track_id)
                if (
                    self.settings.end_at_exit
                    and width is not None
                    and track.leaving(width)
                ):
                    result.ended.append(track.track_id)
                    continue
            if now - track.last_seen > self.settings.lost_buffer_s:
                result.ended.append(track.track_id)
                continue
            kept.append(track)
        self._tracks = kept
