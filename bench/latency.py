"""Alert latency: from a frame's capture to its alert on the WebSocket, 1 and 4 cameras.

Run from the repository root::

    python -m bench.latency            # full run (about 8 minutes on 2 cores)
    python -m bench.latency --quick    # a short run, to see that it works

A full run writes its section of bench/RESULTS.md; ``--quick`` only prints.

What runs, each configuration in fresh processes:

- Footage: pieces of the PETS09-S2L1 video, made into H.264 MP4s with PyAV
  (10 fps as the source, a key frame every second, no B-frames). Camera k
  gets video frames ``470 - 20k`` to 525: in each the ground truth's person 4
  walks into the picture onto the lawn at frame 506 and is still on it at the
  end, and nobody else sets foot on it (checked against ``gt/gt.txt`` before
  the run). The pieces differ in length so that looping cameras drift out of
  step instead of alerting all at once.
- The camera simulator, in its own process, serves N cameras (stream copy,
  looping; the person vanishes at each restart and walks on again).
- ``watchfloor run SITE`` in its own process, as a user runs it: every camera
  analysed at 5 fps for people, with the demo's lawn zone and a
  restricted-area rule with ``min_dwell: 0``, so an alert starts on the first
  frame on which a confirmed track stands on the lawn.
- This process: a WebSocket client of ``/api/live``, which notes
  ``time.time()`` as each message arrives.

The configurations are 1 and 4 cameras, each with the engine's default frame
queue (frames buffered per camera between the stream and analysis) and with a
queue of 1 frame, which shows how much of the latency is waiting in it.

For each alert raised after the warm-up, three times: capture, the alert's
``start`` (the wall-clock time the engine gave the frame it started on, taken
from the packet's arrival); stored, its ``created_at`` (when the alert row was
made, after detection, tracking, rules and its snapshot); received, when the
client got the ``raised`` message. Capture to received is the latency; capture
to stored is the pipeline's share and stored to received the push's.

Limitations:
    Everything shares one machine's cores, including whatever else runs on
    it (reported as "other work's CPU"), so the numbers say what this machine
    did under that load, not what the engine needs. A frame's capture time is
    when its packet reached the engine from a simulator on the same machine,
    a few milliseconds after it was sent; a real camera's own encoding and
    network delay come on top. With few alerts (tens), the 95th percentile
    rests on the slowest two or three.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import av
import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from bench.footage import data_dir
from bench.results import write_section
from watchfloor.config import IngestSettings, parse_site
from watchfloor.demo import DEMO_SITE
from watchfloor.rules.geometry import contains

# A long frame queue, run beside the default to show what queueing costs.
LONG_QUEUE = 8

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_FILE = REPO_ROOT / "bench" / "RESULTS.md"
SECTION = "## Alert latency"
SEQUENCE = "PETS09-S2L1"
LAST_FRAME = 525  # video frame; the person is on the lawn from 506 to here
FIRST_FRAMES = (470, 450, 430, 410)  # camera k's piece starts here
PICTURE_SIZE = (768, 576)
PIECE_FPS = 10
_CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def lawn() -> list[tuple[float, float]]:
    """The demo site's lawn zone."""
    site = parse_site(DEMO_SITE.format(camera="plaza", url="unused.mp4"))
    return list(site.zones[0].polygon)


def people_entering(gt_file: Path, first: int, last: int) -> dict[int, list[int]]:
    """Video frames on which each labelled person's feet are on the lawn."""
    polygon = lawn()
    width, height = PICTURE_SIZE
    inside: dict[int, list[int]] = {}
    for line in gt_file.read_text().splitlines():
        fields = line.split(",")
        index = int(fields[0]) - 1
        if not first <= index <= last or float(fields[6]) == 0:
            continue
        left, top, w, h = (float(v) for v in fields[2:6])
        if contains(polygon, ((left + w / 2) / width, (top + h) / height)):
            inside.setdefault(int(fields[1]), []).append(index)
    return inside


def make_piece(source: Path, path: Path, first: int, last: int) -> Path:
    """Video frames ``first..last`` of ``source`` as an H.264 MP4, 1 s key frames."""
    with av.open(str(source)) as reader:
        stream = reader.streams.video[0]
        rate = Fraction(stream.average_rate or stream.guessed_rate or 25)
        gop = max(1, round(rate))
        with av.open(str(path), mode="w") as writer:
            out = writer.add_stream("libx264", rate=rate)
            out.width = stream.codec_context.width
            out.height = stream.codec_context.height
            out.pix_fmt = "yuv420p"
            out.codec_context.gop_size = gop
            out.options = {
                "preset": "veryfast",
                "crf": "20",
                "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0",
            }
            for index, frame in enumerate(reader.decode(stream)):
                if index > last:
                    break
                if index < first:
                    continue
                picture = frame.reformat(format="yuv420p")
                picture.pts = index - first
                picture.time_base = 1 / rate
                for packet in out.encode(picture):
                    writer.mux(packet)
            for packet in out.encode(None):
                writer.mux(packet)
    return path


def prepare_pieces(folder: Path, count: int) -> list[Path]:
    """One piece per camera, each checked to have exactly one person walk on."""
    sequence = data_dir() / SEQUENCE
    video, gt_file = sequence / "video.avi", sequence / "gt" / "gt.txt"
    if not video.is_file() or not gt_file.is_file():
        raise SystemExit(
            f"the PETS09-S2L1 footage is not at {sequence}; set WATCHFLOOR_TEST_DATA "
            "to the folder that holds it"
        )
    pieces = []
    for k in range(count):
        first = FIRST_FRAMES[k % len(FIRST_FRAMES)]
        entering = people_entering(gt_file, first, LAST_FRAME)
        frames = next(iter(entering.values()), [])
        if len(entering) != 1 or frames != list(range(frames[0], LAST_FRAME + 1)):
            raise SystemExit(
                f"video frames {first}..{LAST_FRAME} do not show exactly one person "
                f"walking onto the lawn and staying: {entering}"
            )
        path = folder / f"pets09-{first}-{LAST_FRAME}.mp4"
        if not path.exists():
            make_piece(video, path, first, LAST_FRAME)
        pieces.append(path)
    return pieces


def site_yaml(
    media: Path, urls: Sequence[str], fps: float, frame_queue: int | None
) -> str:
    polygon = ", ".join(f"[{x}, {y}]" for x, y in lawn())
    lines = [
        f"storage: {{media: {media}}}",
        *([f"ingest: {{frame_queue: {frame_queue}}}"] if frame_queue else []),
        "recording: {segment_s: 10}",
        "alerts: {pre_roll_s: 2, post_roll_s: 2}",
        "cameras:",
    ]
    for k, url in enumerate(urls):
        lines.append(
            f"  - {{name: cam{k}, url: '{url}', fps: {fps}, "
            "detect: {classes: [person]}}"
        )
    lines.append("zones:")
    for k in range(len(urls)):
        lines.append(f"  - {{name: lawn{k}, camera: cam{k}, polygon: [{polygon}]}}")
    lines.append("rules:")
    for k in range(len(urls)):
        lines.append(
            f"  - {{name: keep-off{k}, kind: restricted_area, zone: lawn{k}, "
            "classes: [person], min_dwell: 0}"
        )
    return "\n".join(lines) + "\n"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used, all its threads."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICK


def machine_busy_s() -> float:
    """CPU seconds every process of the machine has used (from ``/proc/stat``)."""
    ticks = [int(f) for f in Path("/proc/stat").read_text().split()[1:9]]
    # user nice system idle iowait irq softirq steal
    return (ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]) / _CLOCK_TICK


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class AlertTimes:
    camera: str
    capture: float
    stored: float
    received: float

    @property
    def total(self) -> float:
        return self.received - self.capture

    @property
    def pipeline(self) -> float:
        return self.stored - self.capture

    @property
    def push(self) -> float:
        return self.received - self.stored


class LiveClient:
    """A WebSocket client of ``/api/live`` on a thread; keeps each raised alert."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.raised: list[AlertTimes] = []
        self.connected = threading.Event()
        self._socket: Any = None
        self._thread = threading.Thread(target=self._run, name="live", daemon=True)

    def start(self, timeout: float) -> None:
        self._thread.start()
        if not self.connected.wait(timeout):
            raise RuntimeError(f"could not connect to {self.url} in {timeout} s")

    def stop(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._thread.join(5)

    def _run(self) -> None:
        with connect(self.url, open_timeout=10) as socket_:
            self._socket = socket_
            self.connected.set()
            with contextlib.suppress(ConnectionClosed):
                for text in socket_:
                    received = time.time()
                    data = json.loads(text)
                    if data.get("type") == "alert" and data.get("change") == "raised":
                        self.raised.append(
                            AlertTimes(
                                data["camera"],
                                _epoch(data["start"]),
                                _epoch(data["created_at"]),
                                received,
                            )
                        )


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


@dataclass(frozen=True)
class Config:
    """One configuration: how many cameras, and their frame queue (None: default)."""

    cameras: int
    frame_queue: int | None = None

    @classmethod
    def parse(cls, text: str) -> Config:
        """``N`` or ``N:Q`` (N cameras, each with a frame queue of Q frames)."""
        try:
            cameras, _, queue = text.partition(":")
            config = cls(int(cameras), int(queue) if queue else None)
        except ValueError:
            config = cls(0)
        if not 1 <= config.cameras <= 16 or (config.frame_queue or 1) < 1:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a configuration; give N or N:Q, e.g. 4 or 4:1 "
                "(4 cameras, 1..16; Q frames queued per camera, at least 1)"
            )
        return config

    @property
    def queue_words(self) -> str:
        default = IngestSettings().frame_queue
        if self.frame_queue is None:
            return f"default ({default})"
        return str(self.frame_queue)


@dataclass
class RunResult:
    """One configuration's run."""

    config: Config
    window_s: float
    alerts: list[AlertTimes] = field(default_factory=list)
    warmup_alerts: int = 0
    sampled_frames: float = 0.0
    dropped_frames: int = 0
    engine_cpu: float = 0.0
    simulator_cpu: float = 0.0
    other_cpu: float = 0.0
    fps: float = 5.0
    log_tail: str = ""

    @property
    def walk_ons(self) -> float:
        """About how many times a person walked onto a lawn during the window."""
        lengths = [
            (LAST_FRAME - FIRST_FRAMES[k % len(FIRST_FRAMES)] + 1) / PIECE_FPS
            for k in range(self.config.cameras)
        ]
        return sum(self.window_s / length for length in lengths)

    @property
    def cpu_per_frame(self) -> float:
        """Engine CPU seconds per frame analysed."""
        analysed = self.sampled_frames - self.dropped_frames
        return self.engine_cpu * self.window_s / analysed if analysed > 0 else 0.0

    @property
    def dropped_share(self) -> float:
        """Share of the frames sampled for analysis that were dropped."""
        return self.dropped_frames / self.sampled_frames if self.sampled_frames else 0


@contextlib.contextmanager
def child(
    command: Sequence[str], log: Path, stdout: IO[str] | int | None = None
) -> Iterator[subprocess.Popen[str]]:
    """A child process, interrupted (as Ctrl-C) and awaited on the way out."""
    with log.open("w") as err:
        process = subprocess.Popen(
            list(command),
            stdout=stdout if stdout is not None else err,
            stderr=err,
            text=True,
            cwd=REPO_ROOT,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)


def wait_for_line(
    out: Path, needle: str, process: subprocess.Popen[str], timeout: float
) -> None:
    """Wait until the child's output file ``out`` holds ``needle``."""
    log = out.with_suffix(".log")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{out.stem} exited with {process.returncode}:\n"
                f"{log.read_text(errors='replace')[-3000:]}"
            )
        if needle in out.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{out.stem} did not print {needle!r} in {timeout} s")


def wait_for_api(base: str, process: subprocess.Popen[str], timeout: float) -> None:
    """Wait until the API answers ``/api/health``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"watchfloor run exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the API at {base} did not answer in {timeout} s")


def camera_counts(base: str) -> tuple[int, int]:
    """Frames dropped for analysis and frames received, summed over cameras."""
    cameras = httpx.get(f"{base}/api/cameras", timeout=10).json()
    dropped = sum((c["status"] or {}).get("frames_dropped", 0) for c in cameras)
    received = sum((c["status"] or {}).get("frames_in", 0) for c in cameras)
    return dropped, received


def run_config(
    folder: Path, pieces: Sequence[Path], config: Config, args: argparse.Namespace
) -> RunResult:
    """Serve ``pieces`` as cameras to ``watchfloor run``; collect alert times."""
    n = config.cameras
    pieces = pieces[:n]
    fps, warmup_s, window_s = args.fps, args.warmup, args.seconds
    work = Path(tempfile.mkdtemp(prefix=f"latency-{n}-", dir=folder))
    rtsp_port, api_port = free_port(), free_port()
    videos = [f"cam{k}={path}" for k, path in enumerate(pieces)]
    simulator_cmd = [
        sys.executable,
        "-m",
        "watchfloor.ingest.simulator",
        *videos,
        "--port",
        str(rtsp_port),
        "--log-level",
        "WARNING",
    ]
    sim_out = work / "simulator.out"
    result = RunResult(config=config, window_s=window_s)
    with (
        sim_out.open("w") as sim_stdout,
        child(simulator_cmd, work / "simulator.log", sim_stdout) as simulator,
    ):
        wait_for_line(sim_out, f"cam{n - 1} ", simulator, 30)
        urls = [f"rtsp://127.0.0.1:{rtsp_port}/cam{k}" for k in range(n)]
        site = work / "site.yaml"
        site.write_text(site_yaml(work / "media", urls, fps, config.frame_queue))
        engine_cmd = [
            sys.executable,
            "-m",
            "watchfloor",
            "run",
            str(site),
            "--port",
            str(api_port),
        ]
        engine_out = work / "engine.out"
        with (
            engine_out.open("w") as engine_stdout,
            child(engine_cmd, work / "engine.log", engine_stdout) as engine,
        ):
            wait_for_line(engine_out, "API on", engine, 60)
            base = f"http://127.0.0.1:{api_port}"
            wait_for_api(base, engine, 30)
            client = LiveClient(f"ws://127.0.0.1:{api_port}/api/live")
            client.start(10)
            try:
                time.sleep(warmup_s)
                window_start = time.time()
                dropped0, _ = camera_counts(base)
                cpu0 = (
                    machine_busy_s(),
                    process_cpu_s(engine.pid),
                    process_cpu_s(simulator.pid),
                    own_cpu_s(),
                )
                time.sleep(window_s)
                window_end = time.time()
                cpu1 = (
                    machine_busy_s(),
                    process_cpu_s(engine.pid),
                    process_cpu_s(simulator.pid),
                    own_cpu_s(),
                )
                dropped1, _ = camera_counts(base)
                # Alerts whose frame was captured in the window may still be on
                # their way: give the slowest a few seconds to arrive.
                time.sleep(6)
            finally:
                client.stop()
        result.log_tail = (work / "engine.log").read_text(errors="replace")[-2000:]

    result.alerts = [a for a in client.raised if window_start <= a.capture < window_end]
    result.warmup_alerts = sum(a.capture < window_start for a in client.raised)
    result.fps = fps
    result.sampled_frames = fps * window_s * n
    result.dropped_frames = dropped1 - dropped0
    elapsed = window_end - window_start
    busy, engine_s, sim_s, own_s = (b - a for a, b in zip(cpu0, cpu1, strict=True))
    result.engine_cpu = engine_s / elapsed
    result.simulator_cpu = sim_s / elapsed
    result.other_cpu = max(0.0, busy - engine_s - sim_s - own_s) / elapsed
    return result


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100), interpolated between order statistics."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ms(value: float) -> str:
    return "-" if value != value else f"{value * 1000:.0f} ms"


def table(results: Sequence[RunResult], fps: float) -> str:
    rows = [
        "| cameras | frame queue | alerts (walk-ons) | capture → WebSocket, p50 "
        "| p95 | max "
        "| pipeline (capture → alert stored), p50 | p95 "
        "| push (stored → WebSocket), p50 | p95 "
        f"| frames at {fps:g} fps dropped before analysis | engine CPU "
        "| engine CPU-s per analysed frame | simulator CPU | other work's CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        total = [a.total for a in r.alerts]
        pipeline = [a.pipeline for a in r.alerts]
        push = [a.push for a in r.alerts]
        rows.append(
            f"| {r.config.cameras} | {r.config.queue_words} "
            f"| {len(r.alerts)} ({r.walk_ons:.0f}) "
            f"| {ms(percentile(total, 50))} | {ms(percentile(total, 95))} "
            f"| {ms(max(total, default=float('nan')))} "
            f"| {ms(percentile(pipeline, 50))} | {ms(percentile(pipeline, 95))} "
            f"| {ms(percentile(push, 50))} | {ms(percentile(push, 95))} "
            f"| {r.dropped_share:.0%} | {r.engine_cpu:.0%} | {r.cpu_per_frame:.2f} "
            f"| {r.simulator_cpu:.0%} | {r.other_cpu:.0%} |"
        )
    return "\n".join(rows)


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return (
        f"{os.cpu_count()} CPUs, {model}, Linux {platform.release()}; "
        f"Python {platform.python_version()}, PyAV {av.__version__}"
    )


def section(
    command: str, when: datetime, results: Sequence[RunResult], args: argparse.Namespace
) -> str:
    starts = ", ".join(str(f) for f in FIRST_FRAMES)
    lines = [
        SECTION,
        "",
        f"Command: `{command}` (from the repository root); "
        f"{when.isoformat(timespec='seconds')}.",
        "",
        f"Machine: {machine()}. The machine is shared with other work and noisy "
        "(see the column of other work's CPU; 100 % is one core): these are "
        "medians and percentiles of what it did under that load.",
        "",
        "Setup: PETS09-S2L1 pieces (768x576, 10 fps H.264, key frame every 1 s), "
        f"camera k playing video frames {starts}... to {LAST_FRAME} (in each, one "
        "person walks onto the lawn and stays to the end), looped by the camera "
        "simulator in its own process; `watchfloor run` in its own process, each "
        f"camera analysed at {args.fps:g} fps for people with the default "
        "detector (YOLOv3-tiny, 608 input, one instance shared by the cameras), "
        "the demo's lawn zone and a restricted-area rule with `min_dwell: 0`; a "
        "WebSocket client of `/api/live` in the benchmark's process. Per "
        f"configuration {args.warmup:g} s of warm-up, then a {args.seconds:g} s "
        "window; the alerts counted are those whose frame was captured in it. "
        "Frame queue: the site's `ingest.frame_queue`, frames buffered per camera "
        "between the stream and analysis.",
        "",
        "Capture = the alert's `start`, the wall-clock time the engine gave the "
        "frame it started on (its packet's arrival); stored = the alert's "
        "`created_at`, once detection, tracking, rules, snapshot and database "
        "row are done; WebSocket = when the client received the `raised` message. "
        "Walk-ons: about how many times a person stepped onto a lawn in the "
        "window (the window over each piece's length, summed over cameras).",
        "",
        table(results, args.fps),
        "",
    ]
    lines += [summary(results, args.fps), ""]
    return "\n".join(lines)


def summary(results: Sequence[RunResult], fps: float) -> str:
    """The findings in words, from the numbers."""

    def med(r: RunResult, attr: str) -> float:
        return statistics.median(getattr(a, attr) for a in r.alerts)

    measured = [r for r in results if r.alerts]
    if not measured:
        return "No alert was measured."
    parts = []
    for r in measured:
        share = med(r, "pipeline") / med(r, "total") if med(r, "total") > 0 else 0
        parts.append(
            f"{r.config.cameras} camera(s) with frame queue {r.config.queue_words}, "
            f"median {ms(med(r, 'total'))}, {share:.0%} of it before the alert was "
            f"stored and {ms(med(r, 'push'))} pushing it"
        )
    text = "Capture to WebSocket: " + "; ".join(parts) + "."
    by_config = {r.config: r for r in measured}
    for r in measured:
        long = by_config.get(Config(r.config.cameras, LONG_QUEUE))
        if r.config.frame_queue is None and long is not None:
            text += (
                f" With a frame queue of {LONG_QUEUE} frames instead, the median "
                f"for {r.config.cameras} camera(s) went from {ms(med(r, 'total'))} "
                f"to {ms(med(long, 'total'))}."
            )
    behind = [r for r in measured if r.dropped_share > 0.05]
    if behind:
        worst = max(behind, key=lambda r: r.dropped_share)
        text += (
            f" Analysis was slower than the cameras wherever frames were dropped "
            f"(up to {worst.dropped_share:.0%} of them, with "
            f"{worst.config.cameras} camera(s)): the engine spent "
            f"{worst.cpu_per_frame:.2f} CPU-s per analysed frame there, and every "
            "camera waits for the one shared detector. A camera's frame queue "
            "then stays full, so each frame waits for the frames queued ahead of "
            f"it ({LONG_QUEUE} frames are {LONG_QUEUE / fps:.1f} s of footage at "
            f"{fps:g} fps) before its detection starts: hence the default of "
            f"{IngestSettings().frame_queue}."
        )
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.latency",
        description="Alert latency, from a frame's capture to the WebSocket.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a short run of 1 and 4 cameras; prints"
    )
    parser.add_argument(
        "--configs",
        type=Config.parse,
        nargs="+",
        default=[Config(1), Config(4), Config(1, LONG_QUEUE), Config(4, LONG_QUEUE)],
        metavar="N[:Q]",
        help="configurations: N cameras, optionally with a frame queue of Q "
        f"frames (default: 1 4 1:{LONG_QUEUE} 4:{LONG_QUEUE})",
    )
    parser.add_argument(
        "--seconds", type=float, default=90.0, help="measured window per configuration"
    )
    parser.add_argument(
        "--warmup", type=float, default=10.0, help="seconds before the window"
    )
    parser.add_argument(
        "--fps", type=float, default=5.0, help="analysed frames per second per camera"
    )
    parser.add_argument(
        "--results",
        type=Path,
        help="markdown file to write the section into (default: bench/RESULTS.md "
        "for a full run)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.configs = 25.0, [Config(1), Config(4)]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    given = sys.argv[1:] if argv is None else list(argv)
    command = " ".join(["python -m bench.latency", *given])
    when = datetime.now(UTC)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        folder = Path(tmp)
        pieces = prepare_pieces(folder, max(c.cameras for c in args.configs))
        for config in args.configs:
            print(
                f"{config.cameras} camera(s), frame queue {config.queue_words}: "
                f"{args.warmup:g} s warm-up, {args.seconds:g} s window",
                flush=True,
            )
            result = run_config(folder, pieces, config, args)
            print(f"  {len(result.alerts)} alerts measured", flush=True)
            if not result.alerts:
                print(result.log_tail, file=sys.stderr)
            results.append(result)
    text = section(command, when, results, args)
    print()
    print(text)
    target = args.results or (None if args.quick else RESULTS_FILE)
    if target is not None:
        write_section(target, text)
        print(f"written to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
