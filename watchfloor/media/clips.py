"""Cutting clips from recorded segments by stream copy, with the gaps named.

A clip is one MP4 made from the segments of one camera that cover a wall-clock
time range. Packets are copied as they are (no re-encode), so a clip costs
little CPU and shows exactly the pixels that were recorded.

Time line of a clip:

- It starts at the key frame at or before the asked start, so it may begin up
  to one key-frame interval early: a clip cannot start on a frame that needs
  earlier frames to decode.
- It ends with the last packet whose presentation time is at or before the
  asked end (in decode order: with B-frames, a reference frame shown just
  after the end may be kept, because frames before the end need it).
- Consecutive segments that abut are joined seamlessly. Across a gap in the
  footage (the stream was lost) the wall-clock spacing is kept: the frame
  before the gap stays on screen for the gap's length, so that a time in the
  player is always the clip's footage start plus that many seconds. The gap is
  named in :attr:`ClipResult.missing` and in the ``missing`` column of the clip.

The wall-clock time of the clip's first frame is written into the file's
metadata (``comment`` and ``creation_time``), so the file alone says when its
footage was recorded.

Limitations:
    Only the video stream of the segments is copied; the recorder writes no
    other stream. A segment whose video format differs from the first one of
    the clip (another codec, size or parameter sets) cannot be joined by stream
    copy: the clip ends before it and ``missing`` says why. Segments are read
    one at a time into memory (about 10 s of video each). The segment being
    recorded is indexed only when it closes, so a clip whose end is less than
    one segment length ago shows its last seconds as missing: cut a clip for
    an alert once its end is older than ``recording.segment_s``.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.container
import av.error
import av.packet
import av.stream
from sqlalchemy import select

from watchfloor.config import CAMERA_NAME
from watchfloor.media.hashing import sha256_file
from watchfloor.models.database import Database
from watchfloor.models.recording import Clip, Segment

log = logging.getLogger(__name__)

GAP_TOLERANCE_S = 0.5
"""Holes in the footage up to this long are jitter between abutting segments,
not missing footage."""

_CAMERA = re.compile(CAMERA_NAME)


class ClipError(RuntimeError):
    """A clip cannot be cut; the message says why and what would work."""


@dataclass(frozen=True)
class ClipResult:
    """A clip that was written and recorded.

    Attributes:
        id: Id of the clip's row in the database.
        camera: The camera the footage is from.
        start: Start of the asked time range.
        end: End of the asked time range.
        path: Where the MP4 file is (absolute).
        bytes: Size of the file.
        sha256: SHA-256 of the file, as recorded.
        duration_s: Length of the clip's time line in seconds.
        frames: Number of video frames (packets) in the clip.
        footage_start: Wall-clock time of the clip's first frame (time 0 of
            the file); at or before ``start`` unless footage is missing there.
        footage_end: Wall-clock time at which the clip's last frame ends.
        missing: The parts of the asked range with no footage, as words, or
            None when the whole range is covered.
        gaps: The same parts as ``(from, to)`` wall-clock pairs.
        segments: How many segments the clip was cut from.
    """

    id: int
    camera: str
    start: datetime
    end: datetime
    path: Path
    bytes: int
    sha256: str
    duration_s: float
    frames: int
    footage_start: datetime
    footage_end: datetime
    missing: str | None
    gaps: tuple[tuple[datetime, datetime], ...]
    segments: int


@dataclass(frozen=True)
class _SegmentRow:
    id: int
    path: str
    start: datetime
    end: datetime


@dataclass
class _Problem:
    """A stretch of footage that an indexed segment should hold but does not."""

    start: datetime
    end: datetime
    reason: str


@dataclass
class _Timeline:
    """What has been written so far, in clip time (seconds from the first frame)."""

    origin: datetime | None = None
    end_clip: Fraction = Fraction(0)
    end_wall: datetime | None = None
    last_dts: int | None = None
    frames: int = 0
    segments: int = 0
    covered: list[tuple[datetime, datetime]] = field(default_factory=list)


def default_clip_path(
    media_dir: Path, camera: str, start: datetime, end: datetime
) -> Path:
    """Where a clip goes when no path is given.

    ``<media>/clips/<camera>/<start>_<end>.mp4`` with compact UTC times, e.g.
    ``clips/gate/20240501T120003Z_20240501T120017Z.mp4``.

    Raises:
        ClipError: The camera name could not be a folder name.
    """
    if not _CAMERA.match(camera):
        raise ClipError(
            f"camera name {camera!r} cannot name a folder; a camera name is "
            "letters, digits, '-' and '_'"
        )
    return media_dir / "clips" / camera / f"{_stamp(start)}_{_stamp(end)}.mp4"


def cut_clip(
    db: Database,
    media_dir: Path,
    camera: str,
    start: datetime,
    end: datetime,
    out_path: Path | None = None,
    *,
    gap_tolerance_s: float = GAP_TOLERANCE_S,
) -> ClipResult:
    """Cut one MP4 clip of ``camera`` for ``[start, end]`` and record it.

    The file is written under a temporary name next to its final place and
    renamed when complete, with its index at the front (``+faststart``) so a
    browser can play it while it downloads.

    Args:
        db: The database holding the segment index; the clip's row goes there.
        media_dir: The media directory that segment paths are relative to.
        camera: Name of the camera.
        start: Start of the range, timezone-aware.
        end: End of the range, timezone-aware, after ``start``.
        out_path: Where to write the clip. Default: :func:`default_clip_path`.
            The row stores the path relative to ``media_dir`` when the file is
            inside it, else the absolute path.
        gap_tolerance_s: Holes in the footage up to this long are not reported
            as missing.

    Returns:
        What was written, with the parts of the range that had no footage.

    Raises:
        ClipError: The range is empty or has naive times, the camera has no
            recordings, there is no footage in the range (the message names
            the nearest footage before and after), or the clip cannot be
            written.

    Example:
        >>> t = datetime(2024, 5, 1, 12, 0, 8, tzinfo=UTC)
        >>> s = timedelta(seconds=1)
        >>> result = cut_clip(db, site.media_dir, "gate", t - 5 * s, t + 10 * s)
        ... # doctest: +SKIP
        >>> result.missing  # doctest: +SKIP
        'no footage from 12:00:03Z to 12:00:09Z (6 s)'
    """
    _check_range(camera, start, end)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    media_dir = Path(media_dir)
    if out_path is None:
        final = default_clip_path(media_dir, camera, start, end)
    else:
        final = Path(out_path)
    tolerance = timedelta(seconds=gap_tolerance_s)

    rows = _segments_in_range(db, camera, start, end)
    if not rows:
        raise ClipError(_no_footage_message(db, camera, start, end))

    tmp: Path | None = None
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{final.stem}.", suffix=".mp4.part", dir=final.parent
        )
        os.close(fd)
        tmp = Path(tmp_name)
        timeline, problems = _write_clip(
            tmp, media_dir, camera, rows, start, end, tolerance
        )
        if timeline.origin is None or timeline.end_wall is None:
            raise ClipError(_unreadable_message(camera, start, end, problems))
        os.replace(tmp, final)
    except (OSError, av.error.FFmpegError) as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise ClipError(
            f"cannot write the clip of camera {camera!r} to {final}: {exc}; check "
            "that the folder is writable and the disk has room"
        ) from exc
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise

    gaps = _uncovered(start, end, timeline.covered, tolerance)
    missing = _describe_gaps(gaps, problems, start, end)
    digest = sha256_file(final)
    size = final.stat().st_size
    duration_s = float(timeline.end_clip)
    try:
        with db.session() as session:
            row = Clip(
                camera=camera,
                start=start,
                end=end,
                path=_stored_path(final, media_dir),
                bytes=size,
                sha256=digest,
                duration_s=duration_s,
                missing=missing,
            )
            session.add(row)
            session.flush()
            clip_id = row.id
    except BaseException:
        final.unlink(missing_ok=True)
        raise

    log.info(
        "camera %s: clip %s cut, %.1f s from %d segments%s",
        camera,
        final,
        duration_s,
        timeline.segments,
        f"; {missing}" if missing else "",
    )
    return ClipResult(
        id=clip_id,
        camera=camera,
        start=start,
        end=end,
        path=final.resolve(),
        bytes=size,
        sha256=digest,
        duration_s=duration_s,
        frames=timeline.frames,
        footage_start=timeline.origin,
        footage_end=timeline.end_wall,
        missing=missing,
        gaps=tuple(gaps),
        segments=timeline.segments,
    )


def _check_range(camera: str, start: datetime, end: datetime) -> None:
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ClipError(
                f"clip {name} {value.isoformat()} has no time zone; give a "
                "timezone-aware time (UTC, e.g. 2024-05-01T12:00:00+00:00)"
            )
    if end <= start:
        raise ClipError(
            f"clip range for camera {camera!r} ends at {_iso(end)}, not after its "
            f"start {_iso(start)}; the end must be later than the start"
        )


def _segments_in_range(
    db: Database, camera: str, start: datetime, end: datetime
) -> list[_SegmentRow]:
    with db.session() as session:
        found = session.execute(
            select(Segment.id, Segment.path, Segment.start, Segment.end)
            .where(Segment.camera == camera)
            .where(Segment.end > start)
            .where(Segment.start < end)
            .order_by(Segment.start, Segment.id)
        ).all()
    return [_SegmentRow(*row) for row in found]


def _no_footage_message(
    db: Database, camera: str, start: datetime, end: datetime
) -> str:
    with db.session() as session:
        any_segment = session.scalar(
            select(Segment.id).where(Segment.camera == camera).limit(1)
        )
        if any_segment is None:
            others = session.scalars(
                select(Segment.camera).distinct().order_by(Segment.camera).limit(20)
            ).all()
            known = ", ".join(repr(name) for name in others) or "none"
            return (
                f"camera {camera!r} has no recordings; cameras with recordings: {known}"
            )
        before = session.scalar(
            select(Segment.end)
            .where(Segment.camera == camera)
            .where(Segment.end <= start)
            .order_by(Segment.end.desc())
            .limit(1)
        )
        after = session.scalar(
            select(Segment.start)
            .where(Segment.camera == camera)
            .where(Segment.start >= end)
            .order_by(Segment.start)
            .limit(1)
        )
    nearest = []
    if before is not None:
        nearest.append(f"before it, footage until {_iso(before)}")
    else:
        nearest.append("none before it")
    if after is not None:
        nearest.append(f"after it, footage from {_iso(after)}")
    else:
        nearest.append("none after it")
    return (
        f"camera {camera!r} has no footage from {_iso(start)} to {_iso(end)}; "
        f"nearest footage: {'; '.join(nearest)}"
    )


def _unreadable_message(
    camera: str, start: datetime, end: datetime, problems: list[_Problem]
) -> str:
    reasons = "; ".join(
        f"{problem.reason} ({_iso(problem.start)} to {_iso(problem.end)})"
        for problem in problems
    )
    return (
        f"camera {camera!r} has segments from {_iso(start)} to {_iso(end)} but "
        f"none could be used: {reasons or 'no frames in the range'}"
    )


def _write_clip(
    tmp: Path,
    media_dir: Path,
    camera: str,
    rows: list[_SegmentRow],
    start: datetime,
    end: datetime,
    tolerance: timedelta,
) -> tuple[_Timeline, list[_Problem]]:
    """Copy the packets of ``rows`` that cover ``[start, end]`` into ``tmp``."""
    timeline = _Timeline()
    problems: list[_Problem] = []
    writer = _ClipWriter(tmp)
    try:
        for row in rows:
            if timeline.end_wall is not None and timeline.end_wall >= end:
                break
            keep_going = _copy_segment(
                writer,
                media_dir,
                camera,
                row,
                start,
                end,
                tolerance,
                timeline,
                problems,
            )
            if not keep_going:
                break
        writer.close()
    finally:
        writer.abort()
    return timeline, problems


def _copy_segment(
    writer: _ClipWriter,
    media_dir: Path,
    camera: str,
    row: _SegmentRow,
    start: datetime,
    end: datetime,
    tolerance: timedelta,
    timeline: _Timeline,
    problems: list[_Problem],
) -> bool:
    """Copy one segment's part of the range; False when the clip must end here."""
    path = media_dir / row.path
    if not path.is_file():
        log.warning("camera %s: segment file %s is missing", camera, path)
        problems.append(_Problem(row.start, row.end, "segment file missing"))
        return True
    try:
        source = av.open(str(path))
    except (OSError, av.error.FFmpegError) as exc:
        log.warning("camera %s: cannot open segment %s: %s", camera, path, exc)
        problems.append(_Problem(row.start, row.end, "segment file unreadable"))
        return True

    with source:
        if not source.streams.video:
            problems.append(_Problem(row.start, row.end, "segment has no video"))
            return True
        stream = source.streams.video[0]
        packets, damaged = _read_packets(source, stream)
        if damaged:
            log.warning("camera %s: segment %s is damaged: %s", camera, path, damaged)
        if not packets:
            problems.append(_Problem(row.start, row.end, "segment file unreadable"))
            return True

        clock = _SegmentClock(row.start, packets[0], stream)
        if damaged:
            problems.append(
                _Problem(clock.wall_end(packets[-1]), row.end, "segment file damaged")
            )
        chosen = _choose(packets, clock, start, end, tolerance, timeline)
        if not chosen:
            return True

        mismatch = writer.mismatch(stream)
        if mismatch is not None:
            log.warning(
                "camera %s: segment %s cannot be joined to the clip: %s",
                camera,
                path,
                mismatch,
            )
            problems.append(
                _Problem(
                    row.start, max(row.end, end), f"stream format changed: {mismatch}"
                )
            )
            return False
        first_local = clock.local(chosen[0])
        if timeline.origin is None:
            timeline.origin = row.start + _delta(first_local)
            shift = -first_local
        else:
            assert timeline.end_wall is not None
            follows = row.start + _delta(first_local) - timeline.end_wall <= tolerance
            joined = timeline.end_clip - first_local
            spaced = _seconds(row.start - timeline.origin)
            shift = joined if follows else max(joined, spaced)

        writer.ensure_stream(stream, timeline.origin)
        end_local = max(clock.local(p) + clock.duration(p) for p in chosen)
        writer.write(chosen, clock, shift, timeline)
        timeline.end_clip = end_local + shift
        timeline.end_wall = row.start + _delta(end_local)
        timeline.covered.append((row.start + _delta(first_local), timeline.end_wall))
        timeline.segments += 1
    return True


def _read_packets(
    source: av.container.InputContainer, stream: av.stream.Stream
) -> tuple[list[av.packet.Packet], str | None]:
    """The video packets of a segment in decode order, and an error if cut short."""
    packets: list[av.packet.Packet] = []
    try:
        for packet in source.demux(stream):
            if packet.size == 0 or (packet.pts is None and packet.dts is None):
                continue
            packets.append(packet)
    except (OSError, av.error.FFmpegError) as exc:
        return packets, str(exc)
    return packets, None


class _SegmentClock:
    """Maps a segment's own time stamps to seconds and to wall-clock time.

    A segment's wall-clock start is the time of its first packet, which the
    recorder takes from that packet's decoding time stamp; presentation time
    stamps run on the same stream clock, so a frame is shown at the segment's
    start plus its presentation time less that first decoding time. (With
    B-frames, the first frame is shown a few frames after the first packet.)
    """

    def __init__(
        self, start: datetime, first: av.packet.Packet, stream: av.stream.Stream
    ) -> None:
        self.start = start
        self.time_base = Fraction(stream.time_base or Fraction(1, 90000))
        self.ref = first.dts if first.dts is not None else _pts(first)
        rate = getattr(stream, "average_rate", None) or getattr(
            stream, "guessed_rate", None
        )
        self.frame_s = 1 / Fraction(rate) if rate else Fraction(1, 25)

    def local(self, packet: av.packet.Packet) -> Fraction:
        """Seconds from the segment's start to this packet's presentation."""
        return (_pts(packet) - self.ref) * self.time_base

    def local_dts(self, packet: av.packet.Packet) -> Fraction:
        dts = packet.dts if packet.dts is not None else _pts(packet)
        return (dts - self.ref) * self.time_base

    def duration(self, packet: av.packet.Packet) -> Fraction:
        if packet.duration:
            return packet.duration * self.time_base
        return self.frame_s

    def wall_end(self, packet: av.packet.Packet) -> datetime:
        return self.start + _delta(self.local(packet) + self.duration(packet))


def _choose(
    packets: list[av.packet.Packet],
    clock: _SegmentClock,
    start: datetime,
    end: datetime,
    tolerance: timedelta,
    timeline: _Timeline,
) -> list[av.packet.Packet]:
    """The run of packets, in decode order, that this segment gives the clip."""
    keys = [i for i, packet in enumerate(packets) if packet.is_keyframe]
    if not keys:
        return []
    if timeline.origin is None:
        # The first part of the clip: the key frame at or before the start.
        lo = _seconds(start - clock.start)
        before = [i for i in keys if clock.local(packets[i]) <= lo]
        first = before[-1] if before else keys[0]
    else:
        # Later parts: skip what overlaps footage already in the clip.
        assert timeline.end_wall is not None
        floor = _seconds(timeline.end_wall - tolerance - clock.start)
        after = [i for i in keys if clock.local(packets[i]) >= floor]
        if not after:
            return []
        first = after[0]
    hi = _seconds(end - clock.start)
    last = None
    for i in range(first, len(packets)):
        if clock.local(packets[i]) <= hi:
            last = i
    if last is None:
        return []
    return packets[first : last + 1]


class _ClipWriter:
    """The MP4 being written: opened with the first segment's video stream."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.output: av.container.OutputContainer | None = None
        self.stream: av.stream.Stream | None = None
        self.time_base = Fraction(1, 90000)
        self._format: tuple[Any, ...] | None = None

    def mismatch(self, stream: av.stream.Stream) -> str | None:
        """Why ``stream`` cannot continue this clip, or None when it can."""
        if self._format is None:
            return None
        theirs = _stream_format(stream)
        if theirs == self._format:
            return None
        ours = self._format
        if ours[:3] != theirs[:3]:
            was, now = (f"{f[0]} {f[1]}x{f[2]}" for f in (ours, theirs))
            return f"{was} became {now}"
        return "the codec parameter sets differ"

    def ensure_stream(self, template: av.stream.Stream, origin: datetime) -> None:
        """Open the file with ``template``'s format, unless it is open already."""
        if self.output is not None:
            return
        output = av.open(
            str(self.path),
            "w",
            format="mp4",
            options={"movflags": "+faststart"},
        )
        output.metadata["comment"] = (
            f"footage from {_iso(origin, precise=True)} (wall-clock UTC of time 0)"
        )
        output.metadata["creation_time"] = origin.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        try:
            try:
                stream = output.add_stream_from_template(template)
            except (ValueError, av.error.FFmpegError):
                stream = output.add_stream_from_template(template, opaque=True)
        except BaseException:
            output.close()
            raise
        self.output = output
        self.stream = stream
        self.time_base = Fraction(template.time_base or Fraction(1, 90000))
        self._format = _stream_format(template)

    def write(
        self,
        packets: list[av.packet.Packet],
        clock: _SegmentClock,
        shift: Fraction,
        timeline: _Timeline,
    ) -> None:
        """Mux ``packets`` at clip time ``segment time + shift``."""
        assert self.output is not None and self.stream is not None
        first_dts = self._ticks(clock.local_dts(packets[0]) + shift)
        bump = 0
        if timeline.last_dts is not None and first_dts <= timeline.last_dts:
            bump = timeline.last_dts + 1 - first_dts
        for packet in packets:
            pts = self._ticks(clock.local(packet) + shift) + bump
            dts = self._ticks(clock.local_dts(packet) + shift) + bump
            if timeline.last_dts is not None and dts <= timeline.last_dts:
                dts = timeline.last_dts + 1
            pts = max(pts, dts)
            packet.pts = pts
            packet.dts = dts
            packet.duration = self._ticks(clock.duration(packet))
            packet.time_base = self.time_base
            packet.stream = self.stream
            self.output.mux(packet)
            timeline.last_dts = dts
            timeline.frames += 1

    def close(self) -> None:
        if self.output is None:
            return
        output, self.output = self.output, None
        output.close()

    def abort(self) -> None:
        if self.output is not None:
            output, self.output = self.output, None
            try:
                output.close()
            except (OSError, av.error.FFmpegError):
                log.debug("unfinished clip %s could not be closed cleanly", self.path)

    def _ticks(self, seconds: Fraction) -> int:
        return round(seconds / self.time_base)


def _stream_format(stream: av.stream.Stream) -> tuple[Any, ...]:
    context = stream.codec_context
    return (
        context.name,
        getattr(context, "width", 0),
        getattr(context, "height", 0),
        bytes(context.extradata or b""),
    )


def _uncovered(
    start: datetime,
    end: datetime,
    covered: list[tuple[datetime, datetime]],
    tolerance: timedelta,
) -> list[tuple[datetime, datetime]]:
    """The parts of ``[start, end]`` outside every covered span, longer than
    ``tolerance``."""
    gaps = []
    cursor = start
    for lo, hi in sorted(covered):
        if lo > cursor:
            gaps.append((cursor, min(lo, end)))
        cursor = max(cursor, hi)
        if cursor >= end:
            break
    if cursor < end:
        gaps.append((cursor, end))
    return [(lo, hi) for lo, hi in gaps if hi - lo > tolerance]


def _describe_gaps(
    gaps: list[tuple[datetime, datetime]],
    problems: list[_Problem],
    start: datetime,
    end: datetime,
) -> str | None:
    if not gaps:
        return None
    dated = start.date() != end.date()
    parts = []
    for lo, hi in gaps:
        text = (
            f"no footage from {_iso(lo, dated=dated)} to {_iso(hi, dated=dated)} "
            f"({_length(hi - lo)})"
        )
        reasons = sorted({p.reason for p in problems if p.start < hi and p.end > lo})
        if reasons:
            text += f": {', '.join(reasons)}"
        parts.append(text)
    return "; ".join(parts)


def _stored_path(path: Path, media_dir: Path) -> str:
    resolved = path.resolve()
    try:
        return resolved.relative_to(media_dir.resolve()).as_posix()
    except ValueError:
        return str(resolved)


def _pts(packet: av.packet.Packet) -> int:
    value = packet.pts if packet.pts is not None else packet.dts
    assert value is not None
    return int(value)


def _seconds(delta: timedelta) -> Fraction:
    return Fraction(delta.days * 86400 + delta.seconds) + Fraction(
        delta.microseconds, 1_000_000
    )


def _delta(seconds: Fraction) -> timedelta:
    return timedelta(microseconds=round(seconds * 1_000_000))


def _length(delta: timedelta) -> str:
    """``13.2 s``, ``10 s``, ``4.5 min``, ``2 h``."""
    seconds = delta.total_seconds()
    value, unit = seconds, "s"
    if seconds >= 3600:
        value, unit = seconds / 3600, "h"
    elif seconds >= 60:
        value, unit = seconds / 60, "min"
    return f"{value:.1f}".rstrip("0").rstrip(".") + f" {unit}"


def _iso(when: datetime, dated: bool = True, precise: bool = False) -> str:
    """``2024-05-01T12:00:03Z``; ``12:00:03Z`` without the date; milliseconds
    when there are any (microseconds when ``precise``)."""
    when = when.astimezone(UTC)
    text = when.strftime("%H:%M:%S")
    if precise:
        text += f".{when.microsecond:06d}"
    elif when.microsecond:
        text += f".{when.microsecond // 1000:03d}"
    if dated:
        text = f"{when:%Y-%m-%d}T{text}"
    return text + "Z"


def _stamp(when: datetime) -> str:
    when = when.astimezone(UTC)
    text = when.strftime("%Y%m%dT%H%M%S")
    if when.microsecond:
        text += f".{when.microsecond // 1000:03d}"
    return text + "Z"
