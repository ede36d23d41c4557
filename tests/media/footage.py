"""Real H.264 segments for media tests, made with PyAV and indexed in a database."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import av.video
import numpy as np

from tests.conftest import shared_data_dir
from watchfloor.media.hashing import sha256_file
from watchfloor.models.database import Database
from watchfloor.models.recording import Segment

FPS = 25
WIDTH, HEIGHT = 320, 240
SEGMENT_S = 10
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
CAMERA = "gate"


@dataclass(frozen=True)
class SegmentFile:
    """One segment file made for the tests, with its place in the source.

    As the recorder stamps them, ``start_s`` is the time of the segment's first
    packet (its decoding time stamp) and ``end_s`` that of its last packet
    plus one frame, in seconds of the source; with B-frames, both come a few
    frames before the presentation times of the frames they bound.
    """

    path: Path
    first_frame: int
    frames: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Recording:
    """A camera's footage cut into segments, and what its frames look like.

    ``frame_hashes[i]`` is the MD5 of the decoded picture of source frame ``i``
    (shown at ``i / FPS`` seconds); a clip cut by stream copy must decode to
    exactly these pictures.
    """

    segments: list[SegmentFile]
    frame_hashes: list[str]
    key_frames: list[int]
    bframes: int

    @property
    def frame_count(self) -> int:
        return len(self.frame_hashes)


def _source_frames(count: int) -> Iterator[av.VideoFrame]:
    """PETS09 frames when the shared footage is there, else made-up ones."""
    video = shared_data_dir() / "PETS09-S2L1" / "video.avi"
    if video.is_file():
        with av.open(str(video)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if i >= count:
                    return
                yield frame.reformat(WIDTH, HEIGHT, "yuv420p")
        return
    rng = np.random.default_rng(7)
    background = rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    for i in range(count):
        image = background.copy()
        x = (i * 3) % (WIDTH - 40)
        image[100:140, x : x + 40] = (255, 255 - i % 256, i % 256)
        yield av.VideoFrame.from_ndarray(image, format="rgb24").reformat(
            format="yuv420p"
        )


def encode_source(
    path: Path,
    frames: int,
    bframes: int = 0,
    size: tuple[int, int] = (WIDTH, HEIGHT),
) -> None:
    """Encode ``frames`` frames to H.264 in an MP4, one key frame per second."""
    params = f"keyint={FPS}:min-keyint={FPS}:scenecut=0:bframes={bframes}:b-adapt=0"
    with av.open(str(path), "w") as output:
        stream = output.add_stream(
            "libx264", rate=FPS, options={"preset": "veryfast", "x264-params": params}
        )
        assert isinstance(stream, av.video.VideoStream)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for i, frame in enumerate(_source_frames(frames)):
            if frame.width != size[0]:
                frame = frame.reformat(size[0], size[1], "yuv420p")
            # A decoded frame keeps its old picture type, which x264 would obey.
            frame.pict_type = av.video.frame.PictureType.NONE
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))


def split_segments(source: Path, folder: Path, segment_s: float) -> list[SegmentFile]:
    """Cut ``source`` into MP4 segments at key frames by stream copy.

    As the recorder does: a segment ends at the first key frame at or after
    ``segment_s`` seconds, and its time stamps start at its first packet's.
    """
    folder.mkdir(parents=True, exist_ok=True)
    segments: list[SegmentFile] = []
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        tb = stream.time_base
        assert tb is not None
        output = None
        first_pts = base = last_dts = 0
        count = 0
        path = folder

        def close() -> None:
            assert output is not None and tb is not None
            output.close()
            segments.append(
                SegmentFile(
                    path,
                    first_frame=round(first_pts * tb * FPS),
                    frames=count,
                    start_s=float(base * tb),
                    end_s=float(last_dts * tb) + 1 / FPS,
                )
            )

        for packet in container.demux(stream):
            if packet.dts is None:
                continue
            assert packet.pts is not None
            if packet.is_keyframe and (
                output is None or (packet.pts - first_pts) * tb >= segment_s
            ):
                if output is not None:
                    close()
                path = folder / f"{len(segments):03d}.mp4"
                output = av.open(str(path), "w", format="mp4")
                out_stream = output.add_stream_from_template(stream)
                first_pts, base, count = packet.pts, packet.dts, 0
            assert output is not None
            last_dts = packet.dts
            packet.pts -= base
            packet.dts -= base
            packet.stream = out_stream
            output.mux(packet)
            count += 1
        close()
    return segments


def decoded_hashes(path: Path) -> list[tuple[float, str]]:
    """Presentation time and picture MD5 of every frame of a video file."""
    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            digest = hashlib.md5(frame.to_ndarray().tobytes()).hexdigest()
            out.append((float(frame.time or 0.0), digest))
    return out


def make_recording(folder: Path, bframes: int, frames: int = 795) -> Recording:
    source = folder / "source.mp4"
    encode_source(source, frames, bframes)
    segments = split_segments(source, folder / "segments", SEGMENT_S)
    hashes = [digest for _time, digest in decoded_hashes(source)]
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        tb = stream.time_base
        assert tb is not None
        keys = sorted(
            round(packet.pts * tb * FPS)
            for packet in container.demux(stream)
            if packet.is_keyframe and packet.pts is not None
        )
    return Recording(segments, hashes, keys, bframes)


@dataclass
class Footage:
    """A media directory and database holding one camera's indexed segments."""

    db: Database
    media: Path
    recording: Recording
    rows: list[Segment]

    def drop_row(self, index: int) -> None:
        """Forget segment ``index`` as if the stream had been lost then."""
        with self.db.session() as session:
            session.delete(session.get(Segment, self.rows[index].id))
        (self.media / self.rows[index].path).unlink()

    def delete_file(self, index: int) -> None:
        """Remove segment ``index``'s file but keep its row."""
        (self.media / self.rows[index].path).unlink()


def index_segments(
    db: Database, media: Path, recording: Recording, camera: str = CAMERA
) -> list[Segment]:
    """Copy the segment files into ``media`` and index them at wall-clock ``T0``."""
    rows = []
    folder = media / "recordings" / camera / T0.strftime("%Y-%m-%d")
    folder.mkdir(parents=True, exist_ok=True)
    with db.session() as session:
        for segment in recording.segments:
            start = T0 + timedelta(seconds=segment.start_s)
            target = folder / (start.strftime("%H-%M-%S.%f")[:-3] + ".mp4")
            shutil.copyfile(segment.path, target)
            row = Segment(
                camera=camera,
                start=start,
                end=T0 + timedelta(seconds=segment.end_s),
                path=target.relative_to(media).as_posix(),
                bytes=target.stat().st_size,
                sha256=sha256_file(target),
                codec="h264",
                frames=segment.frames,
            )
            session.add(row)
            rows.append(row)
    return rows
