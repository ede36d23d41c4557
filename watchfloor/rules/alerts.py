"""Alerts from rule signals: stored, pictured, held from retention, clipped, pushed.

An :class:`AlertRecorder` follows one camera's analysis results. It runs the
camera's rules on each frame's tracks; when an episode starts it stores an
alert with a snapshot (the full frame with the box and the zone or line drawn,
and the crop), places a hold on the footage and publishes the alert; when the
episode ends it records the end and asks the :class:`ClipCutter` for a clip
from ``pre_roll_s`` before the start to ``post_roll_s`` after the end, which is
cut once that footage has been recorded. Each alert of a track also keeps the
track's path (see :mod:`watchfloor.tracking.paths`), from the track's first frame,
stored as the episode goes on and once more at its end.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from sqlalchemy import func, select

from watchfloor.bus import Bus
from watchfloor.config import SiteConfig
from watchfloor.ingest.frames import Frame
from watchfloor.media.clips import ClipError, cut_clip
from watchfloor.models import Alert, ClipState, Hold, Segment
from watchfloor.models.database import Database
from watchfloor.pipeline import FrameResult
from watchfloor.rules.drawing import draw_box, draw_shape
from watchfloor.rules.evaluator import AlertSignal, RuleEvaluator, RuleSet
from watchfloor.rules.paths import path_json
from watchfloor.rules.payloads import alert_payload
from watchfloor.tracking.paths import FootPath

log = logging.getLogger(__name__)

# Footage under an open alert is held this far past its start until the
# alert ends and the hold is narrowed to the clip's range.
_OPEN_HOLD = timedelta(days=365)
_BOX_COLOUR = (0, 0, 255)
_ZONE_COLOUR = (0, 200, 255)
PATH_STORE_EVERY_S = 1.0
"""Seconds (of frame time) between two writes of an open alert's path."""


@dataclass
class _AlertPath:
    """Which track an open alert follows, and when its path was last stored."""

    tracker_id: int
    start: datetime
    stored_at: datetime


@dataclass(order=True)
class _ClipJob:
    due: float
    alert_id: int = field(compare=False)
    camera: str = field(compare=False)
    start: datetime = field(compare=False)
    end: datetime = field(compare=False)
    deadline: float = field(compare=False)


class ClipCutter:
    """Cuts each alert's clip once the footage after it has been recorded.

    A clip is due when a segment of its camera that ends after the clip's end
    has been indexed; a camera that stopped recording makes it due at its
    deadline anyway, and the clip is cut from what there is (``missing`` says
    which part is not). Runs in its own thread so the pipeline never waits.
    """

    def __init__(
        self,
        db: Database,
        media_dir: Path,
        bus: Bus | None = None,
        wait_limit_s: float = 120.0,
    ) -> None:
        self.db = db
        self.media_dir = media_dir
        self.bus = bus
        self.wait_limit_s = wait_limit_s
        self._jobs: list[_ClipJob] = []
        self._ready = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(
            target=self._run, name="clip-cutter", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._ready:
            self._stop = True
            self._ready.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def request(
        self, alert_id: int, camera: str, start: datetime, end: datetime
    ) -> None:
        """Ask for the clip of an alert covering ``[start, end]`` (wall clock)."""
        now = time.time()
        due = max(now, end.timestamp())
        job = _ClipJob(due, alert_id, camera, start, end, due + self.wait_limit_s)
        with self._ready:
            heapq.heappush(self._jobs, job)
            self._ready.notify()

    def pending(self) -> int:
        with self._ready:
            return len(self._jobs)

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._stop and (
                    not self._jobs or self._jobs[0].due > time.time()
                ):
                    wait = self._jobs[0].due - time.time() if self._jobs else None
                    self._ready.wait(timeout=wait if wait is None else max(wait, 0.05))
                if self._stop:
                    return
                job = heapq.heappop(self._jobs)
            if not self._footage_recorded(job) and time.time() < job.deadline:
                job.due = time.time() + 1.0
                with self._ready:
                    heapq.heappush(self._jobs, job)
                continue
            self._cut(job)

    def _footage_recorded(self, job: _ClipJob) -> bool:
        with self.db.session() as session:
            latest = session.scalar(
                select(func.max(Segment.end)).where(Segment.camera == job.camera)
            )
        return latest is not None and latest >= job.end

    def _cut(self, job: _ClipJob) -> None:
        try:
            result = cut_clip(self.db, self.media_dir, job.camera, job.start, job.end)
            state, error, clip_id = ClipState.READY, result.missing, result.id
        except ClipError as exc:
            state, error, clip_id = ClipState.FAILED, str(exc), None
        except Exception as exc:  # the cutter thread must survive any failure
            log.exception("alert %d: clip failed", job.alert_id)
            state, error, clip_id = ClipState.FAILED, f"clip failed: {exc}", None
        with self.db.session() as session:
            alert = session.get(Alert, job.alert_id)
            if alert is None:
                return
            alert.clip_state = state.value
            alert.clip_error = error
            alert.clip_id = clip_id
            payload = alert_payload(alert)
        log.info("alert %d: clip %s", job.alert_id, state.value)
        if self.bus is not None:
            self.bus.publish("alert", {**payload, "change": "clip"})


class AlertRecorder:
    """Runs one camera's rules on its analysis results and records the alerts.

    Args:
        site: The site (alert settings, media directory).
        db: Where alerts and holds are stored.
        camera: The camera's name.
        rules: The rules in force; replace them with :meth:`set_rules`.
        clips: Where clip requests go.
        bus: Where new and changed alerts are published.
        track_rows: Maps the camera's tracker ids to stored track ids, when
            track events are stored too.
    """

    def __init__(
        self,
        site: SiteConfig,
        db: Database,
        camera: str,
        rules: RuleSet,
        clips: ClipCutter | None = None,
        bus: Bus | None = None,
        track_rows: Callable[[int], int | None] | None = None,
    ) -> None:
        self.site = site
        self.db = db
        self.camera = camera
        self.evaluator = RuleEvaluator(camera, rules)
        self.clips = clips
        self.bus = bus
        self.track_rows = track_rows
        self._open: dict[Any, int] = {}
        self._paths: dict[int, FootPath] = {}  # by tracker id
        self._alert_paths: dict[int, _AlertPath] = {}  # by alert id
        self._pending_rules: RuleSet | None = None
        self._rules = rules
        self._lock = threading.Lock()

    def set_rules(self, rules: RuleSet) -> None:
        """Use new rules from the next frame on (safe from any thread)."""
        with self._lock:
            self._pending_rules = rules

    def __call__(self, result: FrameResult) -> None:
        with self._lock:
            pending, self._pending_rules = self._pending_rules, None
        if pending is not None:
            self._rules = pending
            self.evaluator.set_rules(pending)
        frame = result.frame
        self._follow(result)
        signals = self.evaluator.update(
            frame.time, result.update, (frame.width, frame.height)
        )
        for signal in signals:
            if signal.kind == "started":
                self._started(signal, frame)
            else:
                self._ended(signal)
        self._store_open_paths(frame.time)
        self._forget_gone(result)

    def close(self, when: datetime) -> None:
        """End every open alert (at shutdown)."""
        for signal in self.evaluator.close(when):
            self._ended(signal)
        self._paths.clear()

    def _started(self, signal: AlertSignal, frame: Frame) -> None:
        pre = timedelta(seconds=self.site.alerts.pre_roll_s)
        snapshot, crop = self._save_pictures(signal, frame)
        with self.db.session() as session:
            hold = Hold(
                camera=self.camera,
                start=signal.start - pre,
                end=signal.start + _OPEN_HOLD,
                reason=f"alert on rule {signal.rule}",
            )
            session.add(hold)
            session.flush()
            alert = Alert(
                camera=self.camera,
                rule=signal.rule,
                kind=signal.rule_kind,
                zone=signal.zone,
                line=signal.line,
                label=signal.label,
                score=signal.score,
                track_id=self._track_row(signal.track_id),
                tracker_id=signal.track_id,
                start=signal.start,
                end=signal.end,
                snapshot=snapshot,
                snapshot_crop=crop,
                path=self._path_of(signal.track_id, signal.start),
                hold_id=hold.id,
            )
            session.add(alert)
            session.flush()
            payload = alert_payload(alert)
            self._open[signal.key] = alert.id
        if signal.track_id is not None:
            self._alert_paths[alert.id] = _AlertPath(
                signal.track_id, signal.start, frame.time
            )
        log.info(
            "alert %d raised: rule %s on camera %s (%s, track %s)",
            alert.id,
            signal.rule,
            self.camera,
            signal.label,
            signal.track_id,
        )
        if self.bus is not None:
            self.bus.publish("alert", {**payload, "change": "raised"})
        if signal.end is not None:
            self._ended(signal)

    def _ended(self, signal: AlertSignal) -> None:
        alert_id = self._open.pop(signal.key, None)
        if alert_id is None:
            return
        pre = timedelta(seconds=self.site.alerts.pre_roll_s)
        post = timedelta(seconds=self.site.alerts.post_roll_s)
        end = signal.end or datetime.now(UTC)
        followed = self._alert_paths.pop(alert_id, None)
        with self.db.session() as session:
            alert = session.get(Alert, alert_id)
            if alert is None:
                return
            alert.end = end
            if followed is not None:
                alert.path = self._path_of(followed.tracker_id, followed.start)
            if alert.hold_id is not None:
                hold = session.get(Hold, alert.hold_id)
                if hold is not None:
                    hold.end = end + post
            payload = alert_payload(alert)
            start = alert.start
        if self.bus is not None:
            self.bus.publish("alert", {**payload, "change": "ended"})
        if self.clips is not None:
            self.clips.request(alert_id, self.camera, start - pre, end + post)

    def _follow(self, result: FrameResult) -> None:
        """Add this frame's feet to the path of every track seen on it."""
        frame = result.frame
        now = frame.time.timestamp()
        for track in result.update.tracks:
            path = self._paths.get(track.track_id)
            if path is None:
                path = self._paths[track.track_id] = FootPath()
            path.add_box(now, track.box, (frame.width, frame.height))

    def _path_of(self, tracker_id: int | None, start: datetime) -> str | None:
        """A track's path as its alert stores it; None without a track."""
        if tracker_id is None:
            return None
        path = self._paths.get(tracker_id)
        return path_json(path.points() if path else [], start)

    def _store_open_paths(self, now: datetime) -> None:
        """Store the paths of open alerts not stored for a while."""
        due = [
            (alert_id, followed)
            for alert_id, followed in self._alert_paths.items()
            if (now - followed.stored_at).total_seconds() >= PATH_STORE_EVERY_S
        ]
        if not due:
            return
        with self.db.session() as session:
            for alert_id, followed in due:
                followed.stored_at = now
                alert = session.get(Alert, alert_id)
                if alert is not None:
                    alert.path = self._path_of(followed.tracker_id, followed.start)

    def _forget_gone(self, result: FrameResult) -> None:
        """Drop the paths of tracks the tracker no longer has, unless alerted."""
        update = result.update
        present = {t.track_id for t in update.tracks}
        present.update(t.track_id for t in update.lost_tracks)
        present.update(f.tracker_id for f in self._alert_paths.values())
        for tracker_id in [t for t in self._paths if t not in present]:
            del self._paths[tracker_id]

    def _track_row(self, tracker_id: int | None) -> int | None:
        if tracker_id is None or self.track_rows is None:
            return None
        return self.track_rows(tracker_id)

    def _save_pictures(
        self, signal: AlertSignal, frame: Frame
    ) -> tuple[str | None, str | None]:
        folder = Path("alerts") / self.camera / f"{signal.start:%Y-%m-%d}"
        stem = f"{signal.start:%H%M%S.%f}-{signal.rule}"
        picture = frame.image.copy()
        shape = self._rules.shape_points(signal)
        if shape:
            draw_shape(picture, shape, signal.zone is not None, _ZONE_COLOUR)
        crop = None
        if signal.box is not None:
            x1, y1, x2, y2 = (round(v) for v in signal.box)
            crop = frame.image[max(y1, 0) : max(y2, 0), max(x1, 0) : max(x2, 0)]
            caption = f"{signal.label} {signal.score:.2f}"
            draw_box(picture, signal.box, caption, _BOX_COLOUR)
        full = self._write_jpeg(folder / f"{stem}.jpg", picture)
        cropped = None
        if crop is not None and crop.size:
            cropped = self._write_jpeg(folder / f"{stem}-crop.jpg", crop)
        return full, cropped

    def _write_jpeg(self, relative: Path, image: np.ndarray) -> str | None:
        path = self.site.media_dir / relative
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
            if not ok:
                return None
            path.write_bytes(data.tobytes())
        except OSError as exc:
            log.error(
                "camera %s: cannot save alert picture %s: %s", self.camera, path, exc
            )
            return None
        return str(relative)
