"""Camera workers on local files and on sources that fail."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import pytest
from sqlalchemy import select

from tests.conftest import shared_data_dir
from watchfloor.config import CameraConfig, IngestSettings, parse_site
from watchfloor.ingest.service import IngestService
from watchfloor.ingest.status import CameraState, CameraStatus, RecordingState
from watchfloor.ingest.worker import CameraWorker
from watchfloor.models import Segment
from watchfloor.models.database import Database

DATA = shared_data_dir()
TUD = DATA / "TUD-Campus" / "video.mp4"
PETS = DATA / "PETS09-S2L1" / "video.avi"

FAST = IngestSettings(
    open_timeout_s=3, read_timeout_s=3, backoff_initial_s=0.2, backoff_max_s=1
)


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


def needs(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared footage not found at {path}; set WATCHFLOOR_TEST_DATA")
    return path


@pytest.fixture
def worker_factory() -> Iterator[Callable[..., CameraWorker]]:
    workers: list[CameraWorker] = []

    def make(url: str, fps: float | None = None, **kwargs: object) -> CameraWorker:
        camera = CameraConfig(name=f"cam{len(workers)}", url=url, fps=fps)
        worker = CameraWorker(camera, FAST, **kwargs)  # type: ignore[arg-type]
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        worker.stop()


def test_local_file_plays_in_real_time_sampled_and_stamped(
    worker_factory: Callable[..., CameraWorker],
) -> None:
    worker = worker_factory(str(needs(TUD)), fps=5)
    queue = worker.subscribe(maxsize=100)
    worker.start()
    started = time.monotonic()
    frames = []
    while time.monotonic() - started < 4.0:
        frame = queue.get(timeout=1)
        if frame is not None:
            frames.append(frame)
    status = worker.status()

    assert status.state == CameraState.ONLINE
    assert 22 <= status.fps_in <= 28  # the file's own 25 fps, in real time
    # 4 s at 5 fps, give or take the start.
    assert 16 <= len(frames) <= 22
    # The 71-frame file looped: indices go past its end.
    assert frames[-1].index > 71
    times = [f.time for f in frames]
    assert all(t.tzinfo is not None for t in times)
    assert all(b > a for a, b in itertools.pairwise(times))
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert sorted(gaps)[len(gaps) // 2] == pytest.approx(0.2, abs=0.02)
    assert frames[0].image.shape == (480, 640, 3)


def test_slow_consumer_loses_old_frames_not_the_stream(
    worker_factory: Callable[..., CameraWorker],
) -> None:
    worker = worker_factory(str(needs(TUD)))
    queue = worker.subscribe(maxsize=2)
    worker.start()
    wait_for(lambda: worker.status().frames_in > 30, 5, "30 frames in")
    status = worker.status()
    assert status.state == CameraState.ONLINE
    assert status.frames_dropped >= status.frames_in - 5
    assert len(queue) == 2


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rtsp://127.0.0.1:9/live", "connection refused by 127.0.0.1:9"),
        (
            "rtsp://no-such-camera.invalid/live",
            "cannot resolve host 'no-such-camera.invalid'",
        ),
        ("{tmp}/missing.mp4", "no such file"),
        ("{tmp}/notes.txt", "is not a video stream FFmpeg can read"),
        ("rtsp://admin:pw@127.0.0.1:9/live", "connection refused"),
    ],
)
def test_bad_source_reports_a_clear_error_and_keeps_trying(
    worker_factory: Callable[..., CameraWorker], tmp_path: Path, url: str, expected: str
) -> None:
    (tmp_path / "notes.txt").write_text("this is not a video\n" * 100)
    worker = worker_factory(url.format(tmp=tmp_path))
    worker.start()
    wait_for(lambda: worker.status().attempts >= 2, 5, "two failed attempts")
    status = worker.status()
    assert status.state in (CameraState.RECONNECTING, CameraState.CONNECTING)
    assert status.last_error is not None
    assert expected in status.last_error
    assert "pw@" not in status.last_error


def test_one_failing_camera_does_not_touch_another(tmp_path: Path) -> None:
    site = parse_site(
        f"""
storage: {{media: {tmp_path / "media"}}}
recording: {{segment_s: 2}}
ingest: {{backoff_initial_s: 0.2, backoff_max_s: 1}}
cameras:
  - {{name: good, url: {needs(TUD)}, fps: 5}}
  - {{name: broken, url: "rtsp://127.0.0.1:9/live"}}
"""
    )
    db = Database.open(site.database_url)
    changes: list[CameraStatus] = []
    service = IngestService(site, db, on_status=changes.append)
    service.start()
    try:
        good = service.workers["good"]
        frames = good.subscribe()
        wait_for(lambda: frames.get(0.1) is not None, 5, "frames from the good camera")
        wait_for(
            lambda: len(db_segments(db)) >= 2, 10, "two segments from the good camera"
        )
        statuses = {s.camera: s for s in service.statuses()}
        assert statuses["good"].state == CameraState.ONLINE
        assert statuses["good"].recording == RecordingState.RECORDING
        assert statuses["broken"].state == CameraState.RECONNECTING
    finally:
        service.stop()
    segments = db_segments(db)
    assert {s.camera for s in segments} == {"good"}
    for segment in segments:
        path = site.media_dir / segment.path
        assert path.exists()
        with av.open(str(path)) as container:
            decoded = sum(1 for _ in container.decode(video=0))
        assert decoded == segment.frames
    # Status changes were reported as they happened, not every frame.
    assert any(c.camera == "broken" and c.state == "reconnecting" for c in changes)
    assert len(changes) < 60
    db.close()


def db_segments(db: Database) -> list[Segment]:
    with db.session() as session:
        return list(session.scalars(select(Segment).order_by(Segment.start)))


def test_footage_mp4_cannot_hold_is_reencoded(tmp_path: Path) -> None:
    site = parse_site(
        f"""
storage: {{media: {tmp_path / "media"}}}
recording: {{segment_s: 2}}
cameras:
  - {{name: pets, url: {needs(PETS)}}}
"""
    )
    db = Database.open(site.database_url)
    service = IngestService(site, db)
    service.start()
    try:
        wait_for(lambda: len(db_segments(db)) >= 1, 10, "one segment")
    finally:
        service.stop()
    segment = db_segments(db)[0]
    assert segment.codec == "h264"
    with av.open(str(site.media_dir / segment.path)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (768, 576)
        assert sum(1 for _ in container.decode(stream)) == segment.frames
    db.close()
