"""Replay a video file through a camera's pipeline, and score it against ground truth.

Replay is the live pipeline run on footage from disk, as fast as the machine
allows: the same motion gate, detector, tracker and filters as the camera
named. Evaluation replays a MOTChallenge-style folder (``video.*``,
``gt/gt.txt``, ``seqinfo.ini``) and scores the tracks with the CLEAR MOT and
identity metrics, and the detections with AP50.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av

from watchfloor.config import CameraConfig, SiteConfig
from watchfloor.detection.base import Detection, Detector
from watchfloor.detection.evaluation import average_precision, load_mot_ground_truth
from watchfloor.ingest.frames import Frame
from watchfloor.ingest.sampling import FrameSampler
from watchfloor.pipeline import (
    CameraPipeline,
    FinishedTrack,
    FrameResult,
    TrackAppearanceCollector,
)
from watchfloor.rules.evaluator import AlertSignal, RuleEvaluator, RuleSet
from watchfloor.tracking.evaluation import (
    MotRow,
    read_seqinfo,
    score_sequence,
    write_mot_file,
)
from watchfloor.tracking.identities import (
    Assignment,
    IdentityResolver,
    resolve_in_batches,
)

# Replayed footage is placed on the wall clock from this moment unless told
# otherwise, so that times in its results are plainly not live ones.
DEFAULT_ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)
MOT_LABEL = "person"


class ReplayError(RuntimeError):
    """A video cannot be replayed; the message says why."""


@dataclass
class ReplayStats:
    """What a replay did.

    Attributes:
        frames_read: Frames decoded from the video.
        frames_processed: Frames handed to the pipeline (after ``fps``).
        frames_detected: Frames on which the detector ran.
        video_s: Seconds of video replayed.
        wall_s: Seconds the replay took.
        cpu_s: CPU seconds the process spent on it.
    """

    frames_read: int = 0
    frames_processed: int = 0
    frames_detected: int = 0
    video_s: float = 0.0
    wall_s: float = 0.0
    cpu_s: float = 0.0

    @property
    def speed(self) -> float:
        """Seconds of video replayed per second of wall time."""
        return self.video_s / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_per_video_s(self) -> float:
        """CPU seconds per second of video."""
        return self.cpu_s / self.video_s if self.video_s else 0.0


def replay_video(
    site: SiteConfig,
    camera: CameraConfig,
    video: Path,
    sinks: Iterable[Callable[[FrameResult], None]] = (),
    *,
    fps: float | None = None,
    frame_rate: float | None = None,
    origin: datetime = DEFAULT_ORIGIN,
    detector: Detector | None = None,
    motion_gate: bool | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> ReplayStats:
    """Run every frame of ``video`` (or ``fps`` of them a second) through a pipeline.

    Args:
        site: The site, for the detector, tracker and motion gate settings.
        camera: The camera whose settings apply.
        video: The video file.
        sinks: Called with each processed frame's result, in order.
        fps: Frames per second to process; all when None.
        frame_rate: The rate at which the video was captured, when its own
            time stamps say otherwise; frame times are then index / rate.
        origin: Wall-clock time of the video's first frame.
        detector: A loaded detector, instead of the site's.
        motion_gate: Overrides the camera's motion gate setting.
        progress: Called with (frames read, frames in the video or None).

    Raises:
        ReplayError: The file is missing or is not a video.
    """
    if not video.is_file():
        raise ReplayError(f"no such video file: {video}")
    pipeline = CameraPipeline(camera, site, detector, motion_gate)
    sinks = list(sinks)
    sampler = FrameSampler(fps)
    stats = ReplayStats()
    started, cpu_started = time.monotonic(), time.process_time()
    try:
        container = av.open(str(video))
    except av.error.FFmpegError as exc:
        raise ReplayError(f"cannot read {video}: {exc.strerror or exc}") from exc
    with container:
        if not container.streams.video:
            raise ReplayError(f"{video} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        total = stream.frames or None
        rate = float(stream.average_rate or 25)
        last: Frame | None = None
        for index, decoded in enumerate(container.decode(stream)):
            stats.frames_read += 1
            if frame_rate:
                stream_s = index / frame_rate
            elif decoded.time is not None:
                stream_s = float(decoded.time)
            else:
                stream_s = index / rate
            stats.video_s = stream_s + 1 / (frame_rate or rate)
            if progress is not None and index % 10 == 0:
                progress(index, total)
            if not sampler.due(stream_s):
                continue
            frame = Frame(
                camera.name,
                index,
                origin + timedelta(seconds=stream_s),
                decoded.to_ndarray(format="bgr24"),
                stream_s,
            )
            result = pipeline.process(frame)
            stats.frames_processed += 1
            stats.frames_detected += int(result.detected)
            for sink in sinks:
                sink(result)
            last = frame
        if last is not None:
            final = FrameResult(last, False, [], pipeline.close(last.time))
            for sink in sinks:
                sink(final)
    if progress is not None:
        progress(stats.frames_read, stats.frames_read)
    stats.wall_s = time.monotonic() - started
    stats.cpu_s = time.process_time() - cpu_started
    return stats


@dataclass(frozen=True)
class CameraFootage:
    """A video to replay as one camera of a site.

    Attributes:
        camera: The site's camera whose settings apply.
        video: The video file.
        offset_s: When the video starts, in seconds after the first camera's
            start (the cameras' relative start times).
        frame_rate: The capture rate, when the file's time stamps say otherwise.
    """

    camera: str
    video: Path
    offset_s: float = 0.0
    frame_rate: float | None = None


@dataclass
class SiteReplay:
    """What a replay of several cameras found.

    Attributes:
        tracks: Every finished track, in the order the cameras were replayed.
        assignments: The identity of each track (``summary.key`` is its index
            in ``tracks``).
        stats: Each camera's replay statistics.
    """

    tracks: list[FinishedTrack]
    assignments: list[Assignment]
    stats: dict[str, ReplayStats]


def replay_site(
    site: SiteConfig,
    footage: Sequence[CameraFootage],
    *,
    sinks: Callable[[str], list[Callable[[FrameResult], None]]] | None = None,
    fps: float | None = None,
    origin: datetime = DEFAULT_ORIGIN,
    detector: Detector | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> SiteReplay:
    """Replay several videos as cameras of one site, and join their tracks.

    Each camera's video goes through its pipeline (as :func:`replay_video`),
    placed on the wall clock at ``origin`` plus its offset; the finished tracks
    of all cameras are then resolved into identities in the batches the live
    resolver would have made (:func:`resolve_in_batches`).

    Args:
        site: The site: cameras, topology and identity settings.
        footage: One entry per camera.
        sinks: Extra result consumers for a camera, by its name.
        fps: Frames per second to process; all when None.
        origin: Wall-clock time of the first camera's start.
        detector: A loaded detector, instead of the site's.
        progress: Called with (camera, frames read, frames in its video).

    Raises:
        ReplayError: A video is missing or not a video.
        SiteConfigError: A camera is not in the site.
    """
    tracks: list[FinishedTrack] = []
    stats: dict[str, ReplayStats] = {}
    for item in footage:
        camera = site.camera(item.camera)
        collector = TrackAppearanceCollector(camera.name, tracks.append)
        extra = sinks(camera.name) if sinks is not None else []

        def report(done: int, total: int | None, name: str = camera.name) -> None:
            if progress is not None:
                progress(name, done, total)

        stats[camera.name] = replay_video(
            site,
            camera,
            item.video,
            [collector, *extra],
            fps=fps,
            frame_rate=item.frame_rate,
            origin=origin + timedelta(seconds=item.offset_s),
            detector=detector,
            progress=report,
        )
    resolver = IdentityResolver(site.topology, site.identities)
    summaries = [track.summary(key) for key, track in enumerate(tracks)]
    assignments = resolve_in_batches(
        resolver, summaries, site.identities.resolve_every_s
    )
    return SiteReplay(tracks, assignments, stats)


class MotCollector:
    """Collects tracked people as MOTChallenge rows, one per box per frame.

    Frame numbers are the video's frame index plus one. Only tracks seen in a
    frame are kept (not the predicted boxes of lost ones). Write them with
    :func:`watchfloor.tracking.evaluation.write_mot_file`.
    """

    def __init__(self, label: str = MOT_LABEL) -> None:
        self.label = label
        self.rows: list[MotRow] = []

    def __call__(self, result: FrameResult) -> None:
        number = result.frame.index + 1
        self.rows.extend(
            MotRow.from_track(number, track)
            for track in result.update.tracks
            if track.label == self.label
        )


@dataclass
class DetectionLog:
    """Keeps each processed frame's detections (by frame number), for AP."""

    by_frame: dict[int, list[Detection]] = field(default_factory=dict)

    def __call__(self, result: FrameResult) -> None:
        self.by_frame.setdefault(result.frame.index + 1, []).extend(result.detections)


class AlertLog:
    """Runs a camera's rules on replayed results and keeps each alert as JSON.

    Each alert has ``frame`` (number of its first qualifying frame, the video's
    index plus one), ``time_s`` (seconds from the video's start), ``rule``,
    ``kind``, ``zone`` or ``line``, ``track_id``, ``label``, ``score``,
    ``box`` (pixels, at that frame), ``entered_s`` and, once known, ``end_s``.
    """

    def __init__(self, camera: str, rules: RuleSet, origin: datetime) -> None:
        self.evaluator = RuleEvaluator(camera, rules)
        self.origin = origin
        self.alerts: list[dict[str, Any]] = []
        self._open: dict[str, dict[str, Any]] = {}
        self._frames: dict[datetime, int] = {}

    def __call__(self, result: FrameResult) -> None:
        frame = result.frame
        self._frames[frame.time] = frame.index + 1
        size = (frame.width, frame.height)
        for signal in self.evaluator.update(frame.time, result.update, size):
            self.note(signal, frame.index + 1)

    def close(self, when: datetime) -> None:
        for signal in self.evaluator.close(when):
            self.note(signal, None)

    def note(self, signal: AlertSignal, frame: int | None) -> None:
        """Record a signal of the evaluator seen at frame number ``frame``."""
        if signal.kind == "started":
            alert = {
                "frame": self._frames.get(signal.start, frame),
                "time_s": round(self._seconds(signal.start), 3),
                "rule": signal.rule,
                "kind": signal.rule_kind,
                "zone": signal.zone,
                "line": signal.line,
                "track_id": signal.track_id,
                "label": signal.label,
                "score": round(signal.score, 4),
                "box": [round(v, 1) for v in signal.box] if signal.box else None,
                "entered_s": round(self._seconds(signal.entered_at), 3),
                "end_s": None,
            }
            self.alerts.append(alert)
            self._open[signal.key] = alert
        if signal.end is not None and signal.key in self._open:
            self._open.pop(signal.key)["end_s"] = round(self._seconds(signal.end), 3)

    def _seconds(self, when: datetime) -> float:
        return (when - self.origin).total_seconds()

    def write(self, path: Path) -> None:
        """Write one JSON object per line, in the order the alerts started."""
        with path.open("w", encoding="utf-8") as out:
            for alert in self.alerts:
                out.write(json.dumps(alert) + "\n")


@dataclass
class SequenceScores:
    """Scores of one replayed sequence."""

    sequence: str
    frames: int
    mota: float
    idf1: float
    id_switches: int
    precision: float
    recall: float
    ap50: float
    replay: ReplayStats

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["replay"]["speed"] = self.replay.speed
        data["replay"]["cpu_per_video_s"] = self.replay.cpu_per_video_s
        return data


def find_video(sequence: Path) -> Path:
    """The ``video.*`` file of a MOTChallenge-style folder."""
    videos = sorted(p for p in sequence.glob("video.*") if p.is_file())
    if not videos:
        raise ReplayError(
            f"{sequence} has no video.* file; a sequence folder holds video.*, "
            "gt/gt.txt and seqinfo.ini"
        )
    return videos[0]


def evaluate_sequence(
    sequence: Path,
    site: SiteConfig,
    camera: CameraConfig | None = None,
    *,
    fps: float | None = None,
    motion_gate: bool | None = None,
    tracks_out: Path | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> SequenceScores:
    """Replay a labelled sequence and score its tracks and detections.

    The capture frame rate is taken from ``seqinfo.ini`` when it has one
    (a video file's header may say otherwise). People are scored; ground-truth
    boxes flagged 0 are ignored.

    Raises:
        ReplayError: The folder lacks its video or ground truth.
    """
    video = find_video(sequence)
    gt_path = sequence / "gt" / "gt.txt"
    if not gt_path.is_file():
        raise ReplayError(f"{sequence} has no gt/gt.txt ground truth")
    frame_rate = None
    seqinfo = sequence / "seqinfo.ini"
    if seqinfo.is_file():
        frame_rate = read_seqinfo(seqinfo).frame_rate or None
    camera = camera or CameraConfig(
        name=sequence.name.replace(".", "-"), url=str(video)
    )

    collector = MotCollector()
    detections = DetectionLog()
    stats = replay_video(
        site,
        camera,
        video,
        [collector, detections],
        fps=fps,
        frame_rate=frame_rate,
        motion_gate=motion_gate,
        progress=progress,
    )
    if tracks_out is not None:
        write_mot_file(tracks_out, collector.rows)

    frames = sorted(detections.by_frame)
    scores = score_sequence(gt_path, collector.rows, frames=frames)
    gt_boxes = load_mot_ground_truth(gt_path)
    processed = set(frames)
    ap = average_precision(
        detections.by_frame,
        {f: boxes for f, boxes in gt_boxes.items() if f in processed},
        0.5,
        label=MOT_LABEL,
    )
    return SequenceScores(
        sequence=sequence.name,
        frames=len(frames),
        mota=scores.mota,
        idf1=scores.idf1,
        id_switches=scores.id_switches,
        precision=scores.precision,
        recall=scores.recall,
        ap50=ap,
        replay=stats,
    )
