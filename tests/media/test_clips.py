"""Clips cut from real H.264 segments: coverage, playback, hashes and gaps."""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta
from pathlib import Path

import av
import pytest
from sqlalchemy import func, select

from tests.media.footage import (
    CAMERA,
    FPS,
    SEGMENT_S,
    T0,
    Footage,
    decoded_hashes,
    encode_source,
    split_segments,
)
from watchfloor.media.clips import ClipError, cut_clip, default_clip_path
from watchfloor.models.recording import Clip


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def top_level_boxes(path: Path) -> list[str]:
    """The MP4 box types at the top of a file, in order."""
    boxes = []
    data = path.read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        boxes.append(data[offset + 4 : offset + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        if size < 8:
            break
        offset += size
    return boxes


@pytest.mark.parametrize(
    ("start_s", "end_s"),
    [
        (3.0, 17.0),  # the start is a key frame
        (3.3, 16.9),  # starts between key frames, ends between frames
        (9.5, 10.5),  # across a segment boundary
        (0.0, 31.8),  # all the footage, four segments
        (25.0, 31.0),  # inside the last, short segment
    ],
)
def test_clip_covers_range_with_the_recorded_frames(
    any_footage: Footage, start_s: float, end_s: float
) -> None:
    recording = any_footage.recording
    result = cut_clip(any_footage.db, any_footage.media, CAMERA, at(start_s), at(end_s))

    first = max(k for k in recording.key_frames if k <= start_s * FPS)
    last = min(math.floor(end_s * FPS + 1e-9), recording.frame_count - 1)
    expected = recording.frame_hashes[first : last + 1]
    frames = decoded_hashes(result.path)  # decodes fully, or raises
    hashes = [digest for _time, digest in frames]

    # Exactly the recorded pictures, from the key frame at or before the start
    # to the last frame at or before the end. With B-frames, a reference frame
    # shown just after the end may come along.
    assert hashes[: len(expected)] == expected
    extra = hashes[len(expected) :]
    assert len(extra) <= recording.bframes
    assert all(digest in recording.frame_hashes[last + 1 :] for digest in extra)

    # One continuous time line from 0, frame after frame.
    times = [time for time, _digest in frames]
    assert times[0] == pytest.approx(0.0, abs=1e-3)
    for k, time in enumerate(times[: len(expected)]):
        assert time == pytest.approx(k / FPS, abs=1e-3)

    assert result.footage_start == at(first / FPS)
    assert result.footage_start <= at(start_s)
    assert result.duration_s >= (last + 1 - first) / FPS - 1e-6
    assert result.duration_s >= min(end_s, 31.8) - start_s
    assert result.frames == len(frames)
    assert result.missing is None
    assert result.gaps == ()


def test_clip_for_3_to_17_s(footage: Footage) -> None:
    result = cut_clip(footage.db, footage.media, CAMERA, at(3), at(17))
    with av.open(str(result.path)) as container:
        stream = container.streams.video[0]
        first_time = None
        count = 0
        last_time = 0.0
        for frame in container.decode(stream):
            if first_time is None:
                first_time = frame.time
            last_time = float(frame.time or 0.0)
            count += 1
        metadata = dict(container.metadata)

    assert first_time is not None
    # The first frame is at or before 3 s into the footage.
    assert (result.footage_start - T0).total_seconds() + first_time <= 3.0
    assert last_time + 1 / FPS >= 14.0
    assert result.duration_s >= 14.0
    # 3.00 s to 17.00 s inclusive: 14 s of frames plus the frame at 17 s.
    assert count == 14 * FPS + 1
    assert "2024-05-01T12:00:03.000000Z" in metadata["comment"]


def test_clip_is_hashed_recorded_and_playable_in_a_browser(footage: Footage) -> None:
    result = cut_clip(footage.db, footage.media, CAMERA, at(3), at(17))

    assert result.path == default_clip_path(footage.media, CAMERA, at(3), at(17))
    assert result.path.name == "20240501T120003Z_20240501T120017Z.mp4"
    assert result.sha256 == hashlib.sha256(result.path.read_bytes()).hexdigest()
    assert result.bytes == result.path.stat().st_size
    boxes = top_level_boxes(result.path)
    assert boxes.index("moov") < boxes.index("mdat"), boxes
    assert not [p for p in result.path.parent.iterdir() if p != result.path]

    with footage.db.session() as session:
        row = session.get(Clip, result.id)
        assert row is not None
        assert row.camera == CAMERA
        assert (row.start, row.end) == (at(3), at(17))
        assert row.path == "clips/gate/20240501T120003Z_20240501T120017Z.mp4"
        assert row.sha256 == result.sha256
        assert row.bytes == result.bytes
        assert row.duration_s == pytest.approx(result.duration_s)
        assert row.missing is None


def test_clip_written_outside_the_media_dir_keeps_its_absolute_path(
    footage: Footage, tmp_path: Path
) -> None:
    out = tmp_path / "export" / "evidence.mp4"
    result = cut_clip(footage.db, footage.media, CAMERA, at(1), at(4), out)

    assert result.path == out.resolve()
    assert out.is_file()
    with footage.db.session() as session:
        row = session.get(Clip, result.id)
        assert row is not None
        assert row.path == str(out.resolve())


@pytest.mark.parametrize(
    ("start_s", "end_s", "missing"),
    [
        (-5, 5, "no footage from 11:59:55Z to 12:00:00Z (5 s)"),
        (25, 45, "no footage from 12:00:31.800Z to 12:00:45Z (13.2 s)"),
        (
            -10,
            40,
            "no footage from 11:59:50Z to 12:00:00Z (10 s); "
            "no footage from 12:00:31.800Z to 12:00:40Z (8.2 s)",
        ),
    ],
)
def test_clip_names_missing_footage_at_the_edges(
    footage: Footage, start_s: float, end_s: float, missing: str
) -> None:
    result = cut_clip(footage.db, footage.media, CAMERA, at(start_s), at(end_s))

    assert result.missing == missing
    with footage.db.session() as session:
        row = session.get(Clip, result.id)
        assert row is not None
        assert row.missing == missing
    assert result.footage_start == max(at(start_s), T0)


def test_clip_across_a_gap_keeps_wall_clock_spacing(footage: Footage) -> None:
    footage.drop_row(1)  # the stream was lost from 10 s to 20 s
    result = cut_clip(footage.db, footage.media, CAMERA, at(5), at(25))

    assert result.missing == "no footage from 12:00:10Z to 12:00:20Z (10 s)"
    assert result.gaps == ((at(10), at(20)),)
    hashes = footage.recording.frame_hashes
    frames = decoded_hashes(result.path)
    assert [digest for _t, digest in frames] == hashes[125:250] + hashes[500:626]
    # The frame recorded at 20 s plays 15 s into a clip that starts at 5 s.
    assert frames[125][0] == pytest.approx(15.0, abs=1e-3)
    assert result.duration_s == pytest.approx(20.04, abs=1e-3)


def test_clip_names_a_missing_segment_file(footage: Footage) -> None:
    footage.delete_file(1)
    result = cut_clip(footage.db, footage.media, CAMERA, at(5), at(25))

    assert result.missing == (
        "no footage from 12:00:10Z to 12:00:20Z (10 s): segment file missing"
    )
    frames = decoded_hashes(result.path)
    assert len(frames) == 5 * FPS + 5 * FPS + 1


def test_clip_names_an_unreadable_segment_file(footage: Footage) -> None:
    (footage.media / footage.rows[1].path).write_bytes(b"not an mp4 file" * 100)
    result = cut_clip(footage.db, footage.media, CAMERA, at(5), at(25))

    assert result.missing == (
        "no footage from 12:00:10Z to 12:00:20Z (10 s): segment file unreadable"
    )
    assert len(decoded_hashes(result.path)) == 5 * FPS + 5 * FPS + 1


def test_clip_to_an_unwritable_place_fails_clearly(
    footage: Footage, tmp_path: Path
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_bytes(b"a file, not a folder")
    with pytest.raises(ClipError, match="cannot write the clip of camera 'gate'"):
        cut_clip(footage.db, footage.media, CAMERA, at(1), at(4), blocker / "c.mp4")
    with footage.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Clip)) == 0


def test_clip_ends_where_the_stream_format_changes(
    footage: Footage, tmp_path: Path
) -> None:
    # The camera was reconfigured at 20 s: the third segment is smaller.
    other = tmp_path / "other.mp4"
    encode_source(other, SEGMENT_S * FPS, size=(160, 120))
    [smaller] = split_segments(other, tmp_path / "other", SEGMENT_S)
    target = footage.media / footage.rows[2].path
    smaller.path.replace(target)

    result = cut_clip(footage.db, footage.media, CAMERA, at(5), at(25))

    assert result.missing == (
        "no footage from 12:00:20Z to 12:00:25Z (5 s): stream format changed: "
        "h264 320x240 became h264 160x120"
    )
    assert len(decoded_hashes(result.path)) == 15 * FPS


@pytest.mark.parametrize(
    ("camera", "start_s", "end_s", "message"),
    [
        (
            CAMERA,
            100,
            110,
            "camera 'gate' has no footage from 2024-05-01T12:01:40Z to "
            "2024-05-01T12:01:50Z; nearest footage: before it, footage until "
            "2024-05-01T12:00:31.800Z; none after it",
        ),
        (
            CAMERA,
            -60,
            -50,
            "camera 'gate' has no footage from 2024-05-01T11:59:00Z to "
            "2024-05-01T11:59:10Z; nearest footage: none before it; after it, "
            "footage from 2024-05-01T12:00:00Z",
        ),
        (
            "dock",
            0,
            10,
            "camera 'dock' has no recordings; cameras with recordings: 'gate'",
        ),
        (
            CAMERA,
            10,
            10,
            "clip range for camera 'gate' ends at 2024-05-01T12:00:10Z, not after "
            "its start 2024-05-01T12:00:10Z; the end must be later than the start",
        ),
        (
            CAMERA,
            10,
            5,
            "clip range for camera 'gate' ends at 2024-05-01T12:00:05Z, not after "
            "its start 2024-05-01T12:00:10Z",
        ),
    ],
)
def test_clip_refused_with_a_clear_message(
    footage: Footage, camera: str, start_s: float, end_s: float, message: str
) -> None:
    with pytest.raises(ClipError) as caught:
        cut_clip(footage.db, footage.media, camera, at(start_s), at(end_s))

    assert message in str(caught.value)
    with footage.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Clip)) == 0
    assert not (footage.media / "clips").exists()


def test_clip_between_recordings_names_footage_on_both_sides(
    footage: Footage,
) -> None:
    footage.drop_row(1)
    with pytest.raises(ClipError, match=r"before it, footage until .*12:00:10Z"):
        cut_clip(footage.db, footage.media, CAMERA, at(12), at(18))
    with pytest.raises(ClipError, match=r"after it, footage from .*12:00:20Z"):
        cut_clip(footage.db, footage.media, CAMERA, at(12), at(18))


def test_clip_refuses_naive_times(footage: Footage) -> None:
    with pytest.raises(ClipError, match="has no time zone"):
        cut_clip(
            footage.db,
            footage.media,
            CAMERA,
            at(1).replace(tzinfo=None),
            at(5),
        )


def test_clip_with_only_missing_files_fails_and_leaves_nothing(
    footage: Footage,
) -> None:
    footage.delete_file(0)
    with pytest.raises(ClipError, match="none could be used: segment file missing"):
        cut_clip(footage.db, footage.media, CAMERA, at(2), at(8))
    folder = footage.media / "clips" / CAMERA
    assert not list(folder.iterdir())
