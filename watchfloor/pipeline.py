"""Per-camera analysis: motion gate, detector and tracker, live and in replay.

One :class:`CameraPipeline` turns a camera's frames into tracks. Live cameras
and replayed video files go through the very same object; what differs is
where frames come from (a worker's queue, or a file read as fast as the
machine allows) and where the results go (the database, or a file).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from watchfloor.config import CameraConfig, SiteConfig
from watchfloor.detection.base import Detection, Detector
from watchfloor.detection.boxes import cut_by_border
from watchfloor.detection.factory import load_detector
from watchfloor.detection.filters import filter_detections
from watchfloor.detection.motion import MotionGate
from watchfloor.ingest.frames import Frame
from watchfloor.ingest.queues import FrameQueue
from watchfloor.models import Event, Track
from watchfloor.models.database import Database
from watchfloor.tracking.appearance import Appearance, CropSampler, TrackMotion
from watchfloor.tracking.identities import TrackSummary
from watchfloor.tracking.tracker import ObjectTracker, TrackedObject, TrackerUpdate

log = logging.getLogger(__name__)


@dataclass
class FrameResult:
    """What analysis made of one frame.

    Attributes:
        frame: The frame.
        detected: Whether the detector ran (False: the motion gate skipped it).
        detections: The camera's detections after its filter (empty if skipped).
        update: The tracker's update for this frame.
    """

    frame: Frame
    detected: bool
    detections: list[Detection]
    update: TrackerUpdate


@dataclass
class PipelineCounters:
    """How much work a pipeline did, for status and benchmarks."""

    frames: int = 0
    detected: int = 0
    skipped: int = 0


class CameraPipeline:
    """Motion gate, detector and tracker for one camera.

    Args:
        camera: The camera's configuration (filter, motion gate, input size).
        site: The site, for the shared detector spec and tracker settings.
        detector: A loaded detector; by default the site's, loaded once per
            process and shared by every camera.
        motion_gate: Overrides the camera's ``motion_gate`` setting.
    """

    def __init__(
        self,
        camera: CameraConfig,
        site: SiteConfig,
        detector: Detector | None = None,
        motion_gate: bool | None = None,
    ) -> None:
        self.camera = camera
        self.detector = detector or load_detector(site.detector_for(camera))
        use_gate = camera.motion_gate if motion_gate is None else motion_gate
        self.gate = MotionGate(site.motion) if use_gate else None
        self.tracker = ObjectTracker(site.tracker)
        self.counters = PipelineCounters()
        self._has_tracks = False

    def process(self, frame: Frame) -> FrameResult:
        """Analyse one frame; frames must come in time order."""
        self.counters.frames += 1
        moving = self.gate.update(frame.image) if self.gate is not None else True
        if moving or self._has_tracks:
            found = self.detector.detect([frame.image])[0]
            detections = filter_detections(
                found, frame.width, frame.height, self.camera.detect
            )
            self.counters.detected += 1
            detected = True
        else:
            detections = []
            self.counters.skipped += 1
            detected = False
        update = self.tracker.update(detections, frame.time, frame.image)
        self._has_tracks = bool(update.tracks or update.lost_tracks) or bool(detections)
        return FrameResult(frame, detected, list(detections), update)

    def close(self, time: datetime | None = None) -> TrackerUpdate:
        """End every track (at shutdown or the end of a replay)."""
        return self.tracker.close(time)


@dataclass(frozen=True)
class FinishedTrack:
    """A track that ended, with what it looked like and how it moved.

    Attributes:
        camera: Its camera.
        tracker_id: The id its camera's tracker gave it.
        label: Its object class.
        first_seen: Wall-clock time of its first frame.
        last_seen: Wall-clock time of the last frame it was seen on (not when
            the tracker gave up on it).
        appearance: Its colours, from its best crops; ``None`` when no crop
            was usable (always cut by the picture's edge, or never alone).
        direction: Its direction of travel on the picture.
        size_class: Its size class.
        path: Where its feet were, ``(POSIX seconds, x, y)`` in normalised
            picture coordinates (see
            :class:`~watchfloor.tracking.appearance.TrackMotion`).
        exited: Its last box was cut by the picture's border: it was last
            seen walking out of view, not hidden or missed inside it.
    """

    camera: str
    tracker_id: int
    label: str
    first_seen: datetime
    last_seen: datetime
    appearance: Appearance | None
    direction: str | None
    size_class: str | None
    path: tuple[tuple[float, float, float], ...] = ()
    exited: bool = False

    def summary(self, key: int) -> TrackSummary:
        """The track as the identity resolver sees it, under ``key``."""
        return TrackSummary(
            key=key,
            camera=self.camera,
            label=self.label,
            start=self.first_seen,
            end=self.last_seen,
            descriptor=self.appearance.descriptor if self.appearance else None,
            path=self.path,
            exited=self.exited,
        )


@dataclass
class _Observed:
    first_seen: datetime
    last_seen: datetime
    label: str
    sampler: CropSampler = field(default_factory=CropSampler)
    motion: TrackMotion = field(default_factory=TrackMotion)
    at_border: bool = False


@dataclass
class TrackAppearanceCollector:
    """Follows each track's crops and motion; reports it when it ends.

    A result consumer: give it every :class:`FrameResult` of one camera, in
    order. ``on_finished`` is called once per track, when the tracker ends it.
    """

    camera: str
    on_finished: Callable[[FinishedTrack], None]
    _tracks: dict[int, _Observed] = field(default_factory=dict)

    def __call__(self, result: FrameResult) -> None:
        update = result.update
        frame = result.frame
        boxes = [t.box for t in update.tracks] + [t.box for t in update.lost_tracks]
        for index, track in enumerate(update.tracks):
            observed = self._tracks.get(track.track_id)
            if observed is None:
                observed = _Observed(frame.time, frame.time, track.label)
                self._tracks[track.track_id] = observed
            observed.last_seen = frame.time
            now = frame.time.timestamp()
            observed.motion.add(track.box, frame.width, frame.height, now)
            observed.at_border = cut_by_border(track.box, frame.width, frame.height)
            others = boxes[:index] + boxes[index + 1 :]
            observed.sampler.offer(now, track.box, track.score, frame.image, others)
        for track_id in update.ended:
            done = self._tracks.pop(track_id, None)
            if done is None:
                continue
            self.on_finished(
                FinishedTrack(
                    camera=self.camera,
                    tracker_id=track_id,
                    label=done.label,
                    first_seen=done.first_seen,
                    last_seen=done.last_seen,
                    appearance=done.sampler.describe(),
                    direction=done.motion.direction(),
                    size_class=done.motion.size_class(),
                    path=tuple(done.motion.path),
                    exited=done.at_border,
                )
            )


@dataclass
class _TrackRecord:
    row_id: int
    label: str
    best_score: float = -1.0
    best_crop: np.ndarray | None = None
    last_box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    last_score: float = 0.0
    last_time: datetime | None = None


@dataclass
class TrackEventRecorder:
    """Writes track lifecycle events, with their best snapshots, to the database.

    Each event (``appeared``, ``lost``, ``recovered``, ``ended``) gets a JPEG
    of the track's highest-scoring crop so far under
    ``<media>/snapshots/<camera>/<date>/``.
    """

    db: Database
    media_dir: Path
    camera: str
    on_event: Callable[[Event], None] | None = None
    on_finished: Callable[[int, FinishedTrack], None] | None = None
    """Called with a track's row id and its appearance once it ended."""
    _tracks: dict[int, _TrackRecord] = field(default_factory=dict)
    _appearances: TrackAppearanceCollector | None = None
    _finished: list[tuple[int, FinishedTrack]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._appearances = TrackAppearanceCollector(self.camera, self._track_finished)

    def _track_finished(self, track: FinishedTrack) -> None:
        record = self._tracks.get(track.tracker_id)
        if record is not None:
            self._finished.append((record.row_id, track))

    def row_id(self, tracker_id: int) -> int | None:
        """The stored id of a live track of this camera's tracker."""
        record = self._tracks.get(tracker_id)
        return record.row_id if record is not None else None

    def __call__(self, result: FrameResult) -> None:
        update = result.update
        seen = {t.track_id: t for t in update.tracks}
        for track in update.tracks:
            record = self._tracks.get(track.track_id)
            if record is not None:
                self._remember(record, track, result.frame)
        for track_id in update.appeared:
            self._appeared(seen[track_id], result.frame)
        if self._appearances is not None:
            self._appearances(result)
        for track_id in update.lost:
            self._event(track_id, "lost", result.frame)
        for track_id in update.recovered:
            self._event(track_id, "recovered", result.frame)
        for track_id in update.ended:
            self._event(track_id, "ended", result.frame, end=True)
        finished, self._finished = self._finished, []
        if self.on_finished is not None:
            for row_id, done in finished:
                try:
                    self.on_finished(row_id, done)
                except Exception:
                    log.exception(
                        "camera %s: storing track %d's appearance failed",
                        self.camera,
                        row_id,
                    )

    def _remember(
        self, record: _TrackRecord, track: TrackedObject, frame: Frame
    ) -> None:
        record.last_box = track.box
        record.last_score = track.score
        record.last_time = frame.time
        if track.score > record.best_score:
            record.best_score = track.score
            record.best_crop = _crop(frame.image, track.box)

    def _appeared(self, track: TrackedObject, frame: Frame) -> None:
        with self.db.session() as session:
            row = Track(
                camera=self.camera,
                tracker_id=track.track_id,
                label=track.label,
                first_seen=frame.time,
                last_seen=frame.time,
                best_score=track.score,
            )
            session.add(row)
            session.flush()
            record = _TrackRecord(row.id, track.label)
        self._tracks[track.track_id] = record
        self._remember(record, track, frame)
        self._event(track.track_id, "appeared", frame)

    def _event(self, track_id: int, kind: str, frame: Frame, end: bool = False) -> None:
        record = self._tracks.get(track_id)
        if record is None:
            return
        snapshot = self._save_snapshot(record, kind, frame.time)
        x1, y1, x2, y2 = record.last_box
        w, h = frame.width, frame.height
        event = Event(
            camera=self.camera,
            kind=kind,
            time=frame.time if kind != "ended" else record.last_time or frame.time,
            label=record.label,
            score=record.last_score,
            x1=x1 / w,
            y1=y1 / h,
            x2=x2 / w,
            y2=y2 / h,
            snapshot=snapshot,
        )
        with self.db.session() as session:
            track = session.get(Track, record.row_id)
            if track is None:
                return
            event.track_id = track.id
            track.last_seen = record.last_time or frame.time
            track.best_score = max(track.best_score, record.best_score)
            track.snapshot = snapshot or track.snapshot
            track.ended = end
            session.add(event)
        if end:
            del self._tracks[track_id]
        if self.on_event is not None:
            self.on_event(event)

    def _save_snapshot(
        self, record: _TrackRecord, kind: str, time: datetime
    ) -> str | None:
        if record.best_crop is None or record.best_crop.size == 0:
            return None
        relative = Path("snapshots") / self.camera / f"{time:%Y-%m-%d}"
        relative = relative / f"track-{record.row_id}-{kind}.jpg"
        path = self.media_dir / relative
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            ok, data = cv2.imencode(
                ".jpg", record.best_crop, [cv2.IMWRITE_JPEG_QUALITY, 90]
            )
            if not ok:
                return None
            path.write_bytes(data.tobytes())
        except OSError as exc:
            log.error("camera %s: cannot save snapshot %s: %s", self.camera, path, exc)
            return None
        return str(relative)


def _crop(image: np.ndarray, box: Sequence[float]) -> np.ndarray:
    height, width = image.shape[:2]
    x1, y1, x2, y2 = (round(v) for v in box)
    x1, x2 = max(0, min(x1, width)), max(0, min(x2, width))
    y1, y2 = max(0, min(y1, height)), max(0, min(y2, height))
    return image[y1:y2, x1:x2].copy()


class AnalysisService:
    """A thread per camera that runs its pipeline on the frames its worker hands out.

    Args:
        site: The site.
        queues: Each analysed camera's frame queue (from ``worker.subscribe()``).
        sinks: Called with every frame's result, per camera name.
    """

    def __init__(
        self,
        site: SiteConfig,
        queues: dict[str, FrameQueue],
        sinks: dict[str, list[Callable[[FrameResult], None]]],
    ) -> None:
        self.site = site
        self.queues = queues
        self.sinks = sinks
        self.pipelines = {
            name: CameraPipeline(site.camera(name), site) for name in queues
        }
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    def start(self) -> None:
        for name in self.queues:
            thread = threading.Thread(
                target=self._run, args=(name,), name=f"analysis-{name}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for queue in self.queues.values():
            queue.close()
        for thread in self._threads:
            thread.join(timeout)

    def _run(self, name: str) -> None:
        pipeline = self.pipelines[name]
        queue = self.queues[name]
        sinks = self.sinks.get(name, [])
        last: Frame | None = None
        while not self._stop.is_set():
            frame = queue.get(timeout=0.5)
            if frame is None:
                continue
            try:
                result = pipeline.process(frame)
            except Exception:
                log.exception("camera %s: analysis failed on a frame", name)
                continue
            last = frame
            for sink in sinks:
                try:
                    sink(result)
                except Exception:
                    log.exception("camera %s: a result consumer failed", name)
        if last is not None:
            closing = pipeline.close(last.time)
            final = FrameResult(last, False, [], closing)
            for sink in sinks:
                try:
                    sink(final)
                except Exception:
                    log.exception("camera %s: a result consumer failed", name)
