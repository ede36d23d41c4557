"""Tests of the camera simulator, read back over RTSP by PyAV as a camera would be."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

from tests.conftest import SimulatorProcess, free_port
from watchfloor.ingest.simulator import (
    CameraSimulator,
    make_test_video,
    parse_size,
    parse_video_args,
    read_frame_number,
)

RTSP_OPTIONS = {"rtsp_transport": "tcp", "timeout": "5000000"}
# Frames arriving in the first second include the burst that FFmpeg buffers
# while it probes the stream; real-time pace is measured after it.
SETTLE_S = 1.0
RATE_TOLERANCE = 0.15


@dataclass(frozen=True)
class Received:
    """One frame as a client decoded it."""

    wall: float
    time: float | None
    key: bool
    width: int
    height: int
    grey: np.ndarray


def read_stream(
    url: str,
    seconds: float,
    on_frame: Callable[[Received], None] | None = None,
    stop: threading.Event | None = None,
) -> list[Received]:
    """Decode a stream for ``seconds`` after its first frame, or until ``stop``."""
    frames: list[Received] = []
    with av.open(url, options=RTSP_OPTIONS) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            received = Received(
                wall=time.monotonic(),
                time=frame.time,
                key=frame.key_frame,
                width=frame.width,
                height=frame.height,
                grey=frame.to_ndarray(format="gray"),
            )
            frames.append(received)
            if on_frame is not None:
                on_frame(received)
            if received.wall - frames[0].wall >= seconds:
                break
            if stop is not None and stop.is_set():
                break
    return frames


def live_pace(frames: list[Received]) -> tuple[float, float]:
    """Frames per wall-clock second, and stream seconds per wall-clock second."""
    window = [f for f in frames if f.wall >= frames[0].wall + SETTLE_S]
    assert len(window) >= 10, f"only {len(window)} frames after the probe burst"
    wall_span = window[-1].wall - window[0].wall
    first_time, last_time = window[0].time, window[-1].time
    assert first_time is not None and last_time is not None
    return (len(window) - 1) / wall_span, (last_time - first_time) / wall_span


def assert_about(value: float, expected: float, what: str) -> None:
    low, high = expected * (1 - RATE_TOLERANCE), expected * (1 + RATE_TOLERANCE)
    assert low <= value <= high, f"{what} is {value:.2f}, expected about {expected}"


@pytest.fixture(scope="module")
def short_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1 s of generated 640x360 H.264 at 25 fps, a key frame every 10 frames."""
    path = tmp_path_factory.mktemp("videos") / "short.mp4"
    return make_test_video(path, seconds=1.0, size=(640, 360), fps=25, gop_s=0.4)


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s of generated 640x360 H.264 at 25 fps, a key frame every second."""
    path = tmp_path_factory.mktemp("videos") / "long.mp4"
    return make_test_video(path, seconds=4.0, size=(640, 360), fps=25, gop_s=1.0)


def test_make_test_video_writes_numbered_h264_with_fixed_key_frames(
    short_video: Path,
) -> None:
    with av.open(str(short_video)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.width, stream.height) == (640, 360)
        assert stream.average_rate == 25
        frames = list(container.decode(stream))
    numbers = [read_frame_number(f.to_ndarray(format="gray")) for f in frames]
    keys = [i for i, f in enumerate(frames) if f.key_frame]
    assert numbers == list(range(25))
    assert keys == [0, 10, 20]


def test_make_test_video_scales_and_retimes_a_source(
    pets09_video: Path, tmp_path: Path
) -> None:
    path = make_test_video(
        tmp_path / "pets.mp4", seconds=1.0, size=(320, 240), fps=20, source=pets09_video
    )
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
    assert len(frames) == 20
    assert {(f.width, f.height) for f in frames} == {(320, 240)}
    # PETS09 runs at 10 fps: retimed to 20 fps, each source picture shows
    # twice, so output frame i is nearest to source frame i // 2.
    with av.open(str(pets09_video)) as container:
        sources = [
            f.reformat(width=320, height=240).to_ndarray(format="gray").astype(float)
            for _, f in zip(range(8), container.decode(video=0), strict=False)
        ]
    for index, frame in enumerate(frames[:12]):
        grey = frame.to_ndarray(format="gray").astype(float)
        errors = [np.abs(grey - source).mean() for source in sources]
        assert int(np.argmin(errors)) == index // 2, (index, errors)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seconds": 0}, "seconds 0 must be positive"),
        ({"seconds": 1, "size": (641, 360)}, "positive even numbers"),
        ({"seconds": 1, "fps": 0}, "fps 0 is out of range"),
        ({"seconds": 1, "gop_s": 0}, "gop_s 0 must be positive"),
    ],
)
def test_make_test_video_refuses_bad_options(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_test_video(tmp_path / "bad.mp4", **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "bad.mp4").exists()


def test_h264_file_is_served_as_is_in_real_time_and_loops(short_video: Path) -> None:
    with CameraSimulator({"gate": short_video}, port=0) as simulator:
        assert simulator.passthrough("gate")
        frames = read_stream(simulator.url("gate"), seconds=3.0)

    assert {(f.width, f.height) for f in frames} == {(640, 360)}
    numbers = [read_frame_number(f.grey) for f in frames]
    steps = {(b - a) % 25 for a, b in itertools.pairwise(numbers)}
    assert steps == {1}, f"frames lost or repeated: {numbers}"
    assert numbers.count(0) >= 2, "the 1 s file should have looped"
    # Stream copy keeps the file's own key frames: every 10th frame and the
    # first of each pass.
    assert {n for n, f in zip(numbers, frames, strict=True) if f.key} == {0, 10, 20}
    assert all(f.key for n, f in zip(numbers, frames, strict=True) if n % 10 == 0)
    times = [f.time for f in frames if f.time is not None]
    assert all(b > a for a, b in itertools.pairwise(times)), times
    frame_rate, stream_speed = live_pace(frames)
    assert_about(frame_rate, 25, "frames per second")
    assert_about(stream_speed, 1.0, "stream seconds per second")


def test_pets09_avi_is_reencoded_in_real_time(pets09_video: Path) -> None:
    with CameraSimulator({"crossing": pets09_video}, port=0, gop_s=1.0) as simulator:
        assert not simulator.passthrough("crossing")
        frames = read_stream(simulator.url("crossing"), seconds=2.5)

    assert {(f.width, f.height) for f in frames} == {(768, 576)}
    keys = [i for i, f in enumerate(frames) if f.key]
    assert keys[0] == 0
    assert {b - a for a, b in itertools.pairwise(keys)} == {10}
    frame_rate, stream_speed = live_pace(frames)
    assert_about(frame_rate, 10, "frames per second")
    assert_about(stream_speed, 1.0, "stream seconds per second")

    # The first client starts the camera at the file's first frame.
    with av.open(str(pets09_video)) as container:
        original = next(container.decode(video=0)).to_ndarray(format="gray")
    error = np.abs(frames[0].grey.astype(float) - original.astype(float)).mean()
    assert error < 6.0, f"first frame differs from the file by {error:.1f} per pixel"
    moved = np.abs(frames[-1].grey.astype(float) - original.astype(float)).mean()
    assert moved > error, "later frames should show people moving"


def test_size_and_fps_reencode_an_h264_file(long_video: Path) -> None:
    with CameraSimulator(
        {"gate": long_video}, port=0, size=(320, 240), fps=20, gop_s=0.5
    ) as simulator:
        assert not simulator.passthrough("gate")
        frames = read_stream(simulator.url("gate"), seconds=2.0)

    assert {(f.width, f.height) for f in frames} == {(320, 240)}
    keys = [i for i, f in enumerate(frames) if f.key]
    assert {b - a for a, b in itertools.pairwise(keys)} == {10}
    # 25 fps retimed to 20 fps: the picture advances by 1 or 2 source frames.
    numbers = [read_frame_number(f.grey) for f in frames]
    assert {b - a for a, b in itertools.pairwise(numbers)} == {1, 2}
    frame_rate, stream_speed = live_pace(frames)
    assert_about(frame_rate, 20, "frames per second")
    assert_about(stream_speed, 1.0, "stream seconds per second")


def test_two_clients_see_the_same_stream(long_video: Path) -> None:
    first_client: list[tuple[float, int]] = []
    errors: list[BaseException] = []
    second_done = threading.Event()

    def read_first() -> None:
        try:
            read_stream(
                url,
                seconds=15.0,
                stop=second_done,
                on_frame=lambda f: first_client.append(
                    (f.wall, read_frame_number(f.grey))
                ),
            )
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    with CameraSimulator({"gate": long_video}, port=0) as simulator:
        url = simulator.url("gate")
        reader = threading.Thread(target=read_first)
        reader.start()
        deadline = time.monotonic() + 10
        while len(first_client) < 35 and time.monotonic() < deadline and not errors:
            time.sleep(0.05)
        try:
            second = read_stream(url, seconds=2.0)
        finally:
            second_done.set()
            reader.join(15)
    assert not errors, errors
    assert not reader.is_alive()

    # Past its probe burst, the second client gets each picture when the first
    # one does: one shared stream, not a second one started from frame 0.
    settled = [f for f in second if f.wall >= second[0].wall + SETTLE_S]
    assert len(settled) >= 15
    for frame in settled:
        number = read_frame_number(frame.grey)
        matches = [wall for wall, n in first_client if n == number]
        assert matches, f"frame {number} reached the second client only"
        assert min(abs(wall - frame.wall) for wall in matches) < 0.3
    frame_rate, _ = live_pace(second)
    assert_about(frame_rate, 25, "frames per second of the second client")


def test_simulator_process_can_be_killed_and_restarted_on_its_port(
    short_video: Path,
    simulator_process: Callable[..., SimulatorProcess],
) -> None:
    process = simulator_process({"gate": short_video})
    before = read_stream(process.url("gate"), seconds=0.5)
    assert before and before[0].width == 640

    process.kill()
    with pytest.raises(av.FFmpegError):
        read_stream(process.url("gate"), seconds=0.5)
    process.restart()
    after = read_stream(process.url("gate"), seconds=0.5)
    assert after and after[0].width == 640

    assert process.stop() == 0, process.log


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["gate"], "is not NAME=VIDEO"),
        (["=gate.mp4"], "is not NAME=VIDEO"),
        (["gate="], "is not NAME=VIDEO"),
        (["gate/2={video}"], "is not usable in a URL"),
        (["gate={missing}"], "does not exist"),
        (["gate={video}", "gate={video}"], "is given twice"),
        ([], "no cameras given"),
    ],
)
def test_parse_video_args_refuses_bad_args(
    short_video: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    filled = [a.format(video=short_video, missing=tmp_path / "no.mp4") for a in args]
    with pytest.raises(ValueError, match=message):
        parse_video_args(filled)


def test_parse_video_args_keeps_order(short_video: Path, long_video: Path) -> None:
    videos = parse_video_args([f"b={short_video}", f"a.1={long_video}"])
    assert videos == {"b": short_video, "a.1": long_video}
    assert list(videos) == ["b", "a.1"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1280x720", (1280, 720)), (" 640X360 ", (640, 360)), ("1281x720", None)],
)
def test_parse_size(text: str, expected: tuple[int, int] | None) -> None:
    if expected is None:
        with pytest.raises(ValueError, match="positive even numbers"):
            parse_size(text)
    else:
        assert parse_size(text) == expected


def test_command_line_names_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.mp4"
    result = subprocess.run(
        [sys.executable, "-m", "watchfloor.ingest.simulator", f"gate={missing}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"video file '{missing}' for camera 'gate' does not exist" in result.stderr


def test_simulator_refuses_files_that_are_not_video(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a video")
    with pytest.raises(ValueError, match="cannot read video file"):
        CameraSimulator({"gate": text})


def test_simulator_refuses_a_busy_port_and_frees_its_own(short_video: Path) -> None:
    port = free_port()
    with CameraSimulator({"gate": short_video}, port=port) as simulator:
        with pytest.raises(ValueError, match="no camera named 'dock'"):
            simulator.url("dock")
        with pytest.raises(OSError, match=f"cannot serve RTSP on 127.0.0.1:{port}"):
            CameraSimulator({"gate": short_video}, port=port).start()
    # The port is free again as soon as the simulator stops.
    with CameraSimulator({"gate": short_video}, port=port) as again:
        assert again.url("gate") == f"rtsp://127.0.0.1:{port}/gate"
