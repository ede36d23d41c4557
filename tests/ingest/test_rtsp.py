"""Ingest, recording and clips through the real RTSP server (the camera simulator)."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import av
import pytest
from sqlalchemy import select

from tests.conftest import SimulatorProcess
from tests.ingest.test_worker import wait_for
from watchfloor.config import SiteConfig, parse_site
from watchfloor.ingest.service import IngestService
from watchfloor.ingest.simulator import make_test_video
from watchfloor.ingest.status import CameraState, RecordingState
from watchfloor.media.clips import ClipError, cut_clip
from watchfloor.media.hashing import sha256_file
from watchfloor.models import Clip, Segment
from watchfloor.models.database import Database

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def camera_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real H.264 file, 640x360 at 25 fps with a key frame every second."""
    path = tmp_path_factory.mktemp("footage") / "camera.mp4"
    return make_test_video(path, seconds=12, size=(640, 360), fps=25, gop_s=1.0)


def make_site(
    media: Path, url: str, db_dir: Path | None = None, **ingest: float
) -> SiteConfig:
    settings = {"open_timeout_s": 3, "read_timeout_s": 2, "backoff_initial_s": 0.5}
    settings.update(ingest)
    ingest_yaml = ", ".join(f"{k}: {v}" for k, v in settings.items())
    database = f"\n  database: sqlite:///{db_dir / 'w.db'}" if db_dir else ""
    return parse_site(
        f"""
storage:
  media: {media}{database}
ingest: {{{ingest_yaml}}}
recording: {{segment_s: 10, min_free_gb: 0}}
cameras:
  - {{name: gate, url: "{url}", fps: 5}}
"""
    )


@pytest.fixture
def running() -> Iterator[Callable[[SiteConfig], tuple[IngestService, Database]]]:
    started: list[tuple[IngestService, Database]] = []

    def start(site: SiteConfig) -> tuple[IngestService, Database]:
        db = Database.open(site.database_url)
        service = IngestService(site, db)
        service.start()
        started.append((service, db))
        return service, db

    yield start
    for service, db in started:
        service.stop()
        db.close()


def segments(db: Database) -> list[Segment]:
    with db.session() as session:
        return list(session.scalars(select(Segment).order_by(Segment.start)))


def decoded_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_thirty_seconds_make_three_segments_and_a_clip(
    simulator_process: Callable[..., SimulatorProcess],
    running: Callable[[SiteConfig], tuple[IngestService, Database]],
    camera_video: Path,
    tmp_path: Path,
) -> None:
    simulator = simulator_process({"gate": camera_video})
    site = make_site(tmp_path / "media", simulator.url("gate"))
    _service, db = running(site)

    wait_for(lambda: len(segments(db)) >= 3, 45, "three closed segments")
    rows = segments(db)[:3]

    with av.open(str(camera_video)) as source:
        source_stream = source.streams.video[0]
        source_params = (
            source_stream.codec_context.name,
            source_stream.codec_context.width,
            source_stream.codec_context.height,
            source_stream.codec_context.extradata,
        )
    for row in rows:
        length = (row.end - row.start).total_seconds()
        assert 9.0 <= length <= 11.0, f"segment of {length:.2f} s"
        path = site.media_dir / row.path
        assert row.sha256 == sha256_file(path)
        assert row.bytes == path.stat().st_size
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            params = (
                stream.codec_context.name,
                stream.codec_context.width,
                stream.codec_context.height,
                stream.codec_context.extradata,
            )
            # Stream copy: the camera's own parameter sets, every packet kept.
            assert params == source_params
            assert stream.frames == row.frames
        assert decoded_frames(path) == row.frames
        assert abs(row.frames - 25 * length) <= 2
    # Consecutive segments abut: no footage lost between them.
    for before, after in itertools.pairwise(rows):
        assert abs((after.start - before.end).total_seconds()) < 0.1

    # A clip from t+3 s to t+17 s covers the range, plays and is hashed.
    t = rows[0].start
    clip = cut_clip(
        db, site.media_dir, "gate", t + timedelta(seconds=3), t + timedelta(seconds=17)
    )
    assert clip.missing is None
    assert clip.footage_start <= t + timedelta(seconds=3)
    assert clip.footage_end >= t + timedelta(seconds=17) - timedelta(seconds=0.1)
    assert clip.duration_s >= 14
    assert clip.sha256 == sha256_file(clip.path)
    assert decoded_frames(clip.path) == clip.frames
    with db.session() as session:
        stored = session.get(Clip, clip.id)
        assert stored is not None and stored.sha256 == clip.sha256

    # A range with no footage fails and says so.
    with pytest.raises(ClipError, match="no footage"):
        cut_clip(
            db, site.media_dir, "gate", t - timedelta(hours=2), t - timedelta(hours=1)
        )


def test_server_killed_mid_stream_reconnects_and_leaves_a_gap(
    simulator_process: Callable[..., SimulatorProcess],
    running: Callable[[SiteConfig], tuple[IngestService, Database]],
    camera_video: Path,
    tmp_path: Path,
) -> None:
    simulator = simulator_process({"gate": camera_video})
    site = make_site(tmp_path / "media", simulator.url("gate"))
    service, db = running(site)
    worker = service.workers["gate"]
    frames = worker.subscribe(maxsize=500)
    wait_for(lambda: worker.status().state == CameraState.ONLINE, 15, "online")
    time.sleep(3)

    simulator.kill()
    killed = time.monotonic()
    wait_for(
        lambda: worker.status().state == CameraState.RECONNECTING, 2, "reconnecting"
    )
    assert time.monotonic() - killed <= 2
    assert worker.status().last_error

    time.sleep(2)
    simulator.start()
    back = time.monotonic()
    while frames.get(0) is not None:
        pass
    wait_for(lambda: frames.get(0.2) is not None, 10, "frames flowing again")
    assert time.monotonic() - back <= 10
    assert worker.status().state == CameraState.ONLINE
    time.sleep(2)
    service.stop()

    rows = segments(db)
    assert len(rows) >= 2
    gaps = [
        (after.start - before.end).total_seconds()
        for before, after in itertools.pairwise(rows)
    ]
    assert max(gaps) >= 2.0  # the outage shows as a gap between segments
    for row in rows:
        assert decoded_frames(site.media_dir / row.path) == row.frames
    assert not list(site.media_dir.rglob("*.part"))


def test_stalled_server_is_noticed_within_twice_the_read_timeout(
    simulator_process: Callable[..., SimulatorProcess],
    running: Callable[[SiteConfig], tuple[IngestService, Database]],
    camera_video: Path,
    tmp_path: Path,
) -> None:
    simulator = simulator_process({"gate": camera_video})
    site = make_site(tmp_path / "media", simulator.url("gate"), read_timeout_s=2)
    service, _db = running(site)
    worker = service.workers["gate"]
    wait_for(lambda: worker.status().state == CameraState.ONLINE, 15, "online")
    time.sleep(1)

    simulator.pause()
    try:
        stalled = time.monotonic()
        wait_for(
            lambda: worker.status().state == CameraState.RECONNECTING, 6, "a stall"
        )
        assert time.monotonic() - stalled <= 2 * 2 + 0.5
    finally:
        simulator.resume()


def test_wrong_path_on_a_real_server(
    simulator_process: Callable[..., SimulatorProcess],
    running: Callable[[SiteConfig], tuple[IngestService, Database]],
    camera_video: Path,
    tmp_path: Path,
) -> None:
    simulator = simulator_process({"gate": camera_video})
    url = simulator.url("gate").replace("/gate", "/no-such-path")
    service, _db = running(make_site(tmp_path / "media", url))
    worker = service.workers["gate"]
    wait_for(lambda: worker.status().attempts >= 1, 10, "a failed attempt")
    assert "404" in (worker.status().last_error or "")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs for the media folder: a disk that fills up."""
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_pauses_recording_and_resumes_when_space_returns(
    simulator_process: Callable[..., SimulatorProcess],
    running: Callable[[SiteConfig], tuple[IngestService, Database]],
    camera_video: Path,
    tmp_path: Path,
    small_disk: Path,
) -> None:
    # Leave room for about one segment, so that the disk fills within seconds.
    filler = small_disk / "filler"
    free = shutil.disk_usage(small_disk).free
    filler.write_bytes(b"\0" * (free - 150_000))
    simulator = simulator_process({"gate": camera_video})
    site = make_site(small_disk, simulator.url("gate"), db_dir=tmp_path)
    site.recording.segment_s = 2
    service, db = running(site)
    worker = service.workers["gate"]
    frames = worker.subscribe(maxsize=500)

    wait_for(
        lambda: worker.status().recording == RecordingState.PAUSED, 30, "a full disk"
    )
    status = worker.status()
    assert "disk full" in (status.recording_error or "")
    assert status.state == CameraState.ONLINE  # the worker lives on
    while frames.get(0) is not None:
        pass
    wait_for(lambda: frames.get(0.5) is not None, 5, "frames while the disk is full")
    assert not list(small_disk.rglob("*.part"))
    before = len(segments(db))

    filler.unlink()
    wait_for(
        lambda: worker.status().recording == RecordingState.RECORDING,
        15,
        "recording again",
    )
    wait_for(lambda: len(segments(db)) > before, 15, "a new segment")
    for row in segments(db):
        path = site.media_dir / row.path
        assert decoded_frames(path) == row.frames
