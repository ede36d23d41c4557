"""The segment recorder: continuous recording into MP4 segments cut at key frames.

Packets are copied as they came from the camera (no re-encode). A source whose
codec MP4 cannot hold (MS-MPEG4 in an old AVI, say) is re-encoded to H.264
instead, and the log says so once. Each segment is written under a temporary
name and renamed when closed, so a crash or a full disk never leaves a corrupt
file where a segment is expected; then it is hashed and indexed.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import av
import av.container
import av.packet
import av.stream
import av.video

from watchfloor.ingest.clock import StreamClock
from watchfloor.ingest.status import RecordingState, StatusBoard
from watchfloor.media.hashing import sha256_file

log = logging.getLogger(__name__)

# Codecs an MP4 file holds and a recording can be stream-copied with.
MP4_CODECS = frozenset({"h264", "hevc", "av1", "vp9", "mpeg4", "mjpeg"})
_RETRY_AFTER_S = 2.0


@dataclass(frozen=True)
class ClosedSegment:
    """A segment file that was closed and renamed into place.

    Attributes:
        camera: The camera it belongs to.
        path: Where the file is.
        start: Wall-clock UTC time of its first packet.
        end: Wall-clock UTC time of its last packet plus one frame duration.
        bytes: File size.
        sha256: Hex digest of the file.
        codec: Codec name of its video.
        frames: Number of video packets (frames) in it.
    """

    camera: str
    path: Path
    start: datetime
    end: datetime
    bytes: int
    sha256: str
    codec: str
    frames: int


class _OpenSegment:
    """The segment being written."""

    def __init__(
        self, final: Path, template: av.stream.Stream | None, codec: str, fps: Fraction
    ) -> None:
        self.final = final
        self.part = final.with_name(final.name + ".part")
        self.part.parent.mkdir(parents=True, exist_ok=True)
        self.container = av.open(str(self.part), "w", format="mp4")
        if template is not None:
            self.stream = self.container.add_stream_from_template(template)
        else:
            self.stream = self.container.add_stream(codec, rate=fps)
        self.first_s: float | None = None
        self.last_s = 0.0
        self.base_dts: int | None = None
        self.last_dts: int | None = None
        self.codec = codec or (template.codec_context.name if template else "")
        self.frames = 0
        self.duration_s = 1.0 / float(fps or 25)

    def abort(self) -> None:
        # Closing a broken file may fail too; there is nothing in it to save.
        with contextlib.suppress(Exception):
            self.container.close()
        self.part.unlink(missing_ok=True)


class SegmentRecorder:
    """Writes one camera's packets into fixed-length MP4 segments.

    Args:
        camera: Name of the camera.
        directory: Folder for this camera's segments (``<media>/recordings/<camera>``).
        segment_s: Target segment length; a segment ends at the first key
            frame at or after this many seconds.
        on_segment: Called with each closed segment (to index it).
        board: Where the recording state is reported.
        min_free_bytes: Recording pauses while the disk has less free space.

    The recorder is driven by one camera worker thread; ``end_stream`` closes
    the open segment when the connection is lost, so a reconnection starts a
    new one and the gap shows between them.
    """

    def __init__(
        self,
        camera: str,
        directory: Path,
        segment_s: float = 10.0,
        on_segment: Callable[[ClosedSegment], None] | None = None,
        board: StatusBoard | None = None,
        min_free_bytes: int = 0,
    ) -> None:
        self.camera = camera
        self.directory = directory
        self.segment_s = segment_s
        self.on_segment = on_segment
        self.board = board
        self.min_free_bytes = min_free_bytes
        self._lock = threading.Lock()
        self._segment: _OpenSegment | None = None
        self._input: av.video.stream.VideoStream | None = None
        self._clock = StreamClock()
        self._decoder: av.video.codeccontext.VideoCodecContext | None = None
        self._encoder: av.video.codeccontext.VideoCodecContext | None = None
        self._warned_reencode = False
        self._paused_until = 0.0
        self.segments_closed = 0

    def start_stream(
        self, stream: av.video.stream.VideoStream, clock: StreamClock
    ) -> None:
        """Begin recording a (re)opened stream whose times ``clock`` maps."""
        with self._lock:
            self._close_segment()
            self._input = stream
            self._clock = clock
            self._decoder = None
            self._encoder = None
            if stream.codec_context.name not in MP4_CODECS:
                if not self._warned_reencode:
                    log.warning(
                        "camera %s: codec %s cannot be stored in MP4 as it is; "
                        "recording re-encodes it to H.264",
                        self.camera,
                        stream.codec_context.name,
                    )
                    self._warned_reencode = True
                self._decoder = av.CodecContext.create(stream.codec_context.name, "r")  # type: ignore[assignment]
                assert self._decoder is not None
                self._decoder.extradata = stream.codec_context.extradata
                self._decoder.width = stream.codec_context.width
                self._decoder.height = stream.codec_context.height
            self._set(RecordingState.WAITING)

    def write(self, packet: av.packet.Packet) -> None:
        """Record one packet of the stream given to :meth:`start_stream`."""
        with self._lock:
            if self._input is None:
                return
            if self._decoder is not None:
                for frame in self._decoder.decode(packet):
                    for encoded in self._encode(frame):
                        self._write_packet(encoded)
            else:
                self._write_packet(packet)

    def end_stream(self) -> None:
        """The connection ended: close the open segment."""
        with self._lock:
            self._close_segment()
            self._input = None
            if self.board is not None:
                snapshot = self.board.snapshot()
                if snapshot.recording != RecordingState.PAUSED:
                    self._set(RecordingState.WAITING)

    def close(self) -> None:
        """Close the open segment for good (at shutdown)."""
        with self._lock:
            self._close_segment()
            self._input = None
            self._set(RecordingState.OFF)

    def _encode(self, frame: av.VideoFrame) -> list[av.packet.Packet]:
        assert self._input is not None
        if self._encoder is None:
            rate = self._input.average_rate or Fraction(25)
            encoder = av.CodecContext.create("libx264", "w")
            assert isinstance(encoder, av.video.codeccontext.VideoCodecContext)
            encoder.width = frame.width
            encoder.height = frame.height
            encoder.pix_fmt = "yuv420p"
            encoder.time_base = self._input.time_base or Fraction(1, 90000)
            encoder.framerate = rate
            encoder.gop_size = max(1, round(float(rate)))
            encoder.options = {"preset": "veryfast", "tune": "zerolatency"}
            self._encoder = encoder
        frame = frame.reformat(format="yuv420p")
        return list(self._encoder.encode(frame))

    def _write_packet(self, packet: av.packet.Packet) -> None:
        dts = packet.dts if packet.dts is not None else packet.pts
        if dts is None or packet.time_base is None:
            return  # No time: nothing to place it by.
        stream_s = float(dts * packet.time_base)

        segment = self._segment
        if (
            segment is not None
            and packet.is_keyframe
            and segment.first_s is not None
            and stream_s - segment.first_s >= self.segment_s - 0.02
        ):
            self._close_segment()
            segment = None

        if segment is None:
            if not packet.is_keyframe or not self._space_ok():
                return
            try:
                segment = self._open_segment(self._clock.wall(stream_s))
            except OSError as exc:
                self._disk_failed(exc)
                return
            self._segment = segment

        if segment.last_dts is not None and dts <= segment.last_dts:
            return  # MP4 needs increasing time stamps; a broken packet is skipped.
        if segment.base_dts is None:
            segment.base_dts = dts
            segment.first_s = stream_s
        base = segment.base_dts
        pts = packet.pts if packet.pts is not None else dts
        packet.dts = dts - base
        packet.pts = pts - base
        packet.stream = segment.stream
        try:
            segment.container.mux(packet)
        except OSError as exc:
            self._disk_failed(exc)
            return
        segment.last_dts = dts
        segment.last_s = stream_s
        segment.frames += 1
        if packet.duration:
            segment.duration_s = float(packet.duration * packet.time_base)

    def _open_segment(self, wall: datetime) -> _OpenSegment:
        assert self._input is not None
        day = wall.strftime("%Y-%m-%d")
        name = wall.strftime("%H-%M-%S.%f")[:-3] + ".mp4"
        final = self.directory / day / name
        rate = self._input.average_rate or Fraction(25)
        if self._encoder is not None:
            segment = _OpenSegment(final, None, "h264", rate)
            stream = segment.stream
            assert isinstance(stream, av.video.stream.VideoStream)
            stream.width = self._encoder.width
            stream.height = self._encoder.height
            stream.pix_fmt = "yuv420p"
            stream.time_base = self._encoder.time_base
            stream.codec_context.extradata = self._encoder.extradata
        else:
            segment = _OpenSegment(final, self._input, "", rate)
        self._set(RecordingState.RECORDING)
        return segment

    def _close_segment(self) -> None:
        segment = self._segment
        self._segment = None
        if segment is None:
            return
        if segment.frames == 0 or segment.first_s is None:
            segment.abort()
            return
        try:
            segment.container.close()
            segment.part.replace(segment.final)
        except OSError as exc:
            segment.abort()
            self._disk_failed(exc)
            return
        closed = ClosedSegment(
            camera=self.camera,
            path=segment.final,
            # Stamped now, not when opened: by now the clock has seen the
            # burst a server may send on connect and settled.
            start=self._clock.wall(segment.first_s),
            end=self._clock.wall(segment.last_s + segment.duration_s),
            bytes=segment.final.stat().st_size,
            sha256=sha256_file(segment.final),
            codec=segment.codec,
            frames=segment.frames,
        )
        self.segments_closed += 1
        log.debug("camera %s: segment %s closed", self.camera, segment.final)
        if self.on_segment is not None:
            try:
                self.on_segment(closed)
            except Exception:
                log.exception(
                    "camera %s: cannot index segment %s", self.camera, closed.path
                )

    def _space_ok(self) -> bool:
        """Whether there is room for a new segment; pauses recording if not."""
        now = time.monotonic()
        if now < self._paused_until:
            return False
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(self.directory).free
        except OSError as exc:
            self._disk_failed(exc)
            return False
        if free < max(self.min_free_bytes, 1):
            self._paused_until = now + _RETRY_AFTER_S
            self._set(
                RecordingState.PAUSED,
                f"media disk full: {free / 1e6:.1f} MB free in {self.directory}, "
                f"{self.min_free_bytes / 1e6:.0f} MB needed; recording resumes "
                "when space returns",
            )
            return False
        return True

    def _disk_failed(self, exc: OSError) -> None:
        if self._segment is not None:
            self._segment.abort()
            self._segment = None
        self._paused_until = time.monotonic() + _RETRY_AFTER_S
        if exc.errno == errno.ENOSPC:
            reason = (
                f"media disk full in {self.directory}: recording paused until "
                "space returns"
            )
        else:
            reason = f"cannot write to {self.directory}: {exc.strerror or exc}"
        log.error("camera %s: %s", self.camera, reason)
        self._set(RecordingState.PAUSED, reason)

    def _set(self, state: RecordingState, error: str | None = None) -> None:
        if self.board is not None:
            self.board.set_recording(state, error)
