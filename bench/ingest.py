"""Benchmark of ingest and recording: CPU per camera and real-time capacity vs ffmpeg.

Run from the repository root::

    python -m bench.ingest            # full run (about 10 minutes on 2 cores)
    python -m bench.ingest --quick    # a short run, to see that it works
    python -m bench.ingest --from-json bench/out/ingest.json   # rewrite the section

A full run writes its section of bench/RESULTS.md and keeps every number in
bench/out/ingest.json.

A camera simulator, in a process of its own, serves a 720p 25 fps H.264 file
(built once from the PETS09 footage, or generated when the footage is absent)
as N live RTSP cameras. Three contenders read and record them, one at a time,
each in a fresh child process:

- ``record``: Watchfloor's ingest service recording every camera into 10 s MP4
  segments indexed in SQLite; nothing subscribes to frames, so nothing decodes.
- ``analyse``: the same, plus one consumer per camera draining frames sampled
  to 5 fps, which makes the worker decode every frame, as the engine does.
- ``ffmpeg``: one plain ``ffmpeg -c copy -f segment`` process per camera
  (imageio-ffmpeg's static binary), the baseline.

Each run starts the contender, waits until every camera delivers frames and a
warm-up has passed, then measures a window of wall-clock time. CPU is the
contender's CPU time over that window, summed over the threads of its child
processes from ``/proc/PID/task/TID/schedstat`` (nanoseconds; so start-up,
imports and the database migration are left out). The whole-life CPU from
``os.wait4`` and, for Watchfloor, the child's own ``getrusage`` over the window
are kept in the JSON as checks.

A run passes when every camera received at least 97 % of 25 fps over the
window, the frames recorded in its segments match the frames it received, and
(``analyse``) no frame was dropped for the consumer. The sweep doubles N from 1
until a Watchfloor mode fails (a near miss is run again), interleaving the
contenders; ffmpeg goes as far as Watchfloor does. N = 1 is repeated to give
medians of the CPU per camera and of its ratio to ffmpeg.

Limitations:
    The simulator shares the two cores with the contender, so at high N the
    machine as a whole, not the contender alone, is what runs out; its CPU and
    any "behind real time" warning are reported beside each run. The test
    file is x264 ``ultrafast`` (Constrained Baseline, CAVLC) made from 10 fps
    footage retimed to 25 fps, so three frames in five repeat the one before:
    a real camera's High-profile stream costs more to decode. When a thread
    ends inside a window its time is taken from ``/proc/PID/stat`` instead, at
    10 ms resolution. The numbers hold for this machine under whatever else
    runs on it; compare ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import queue
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from bench.footage import data_dir
from bench.results import write_section

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = REPO_ROOT / "bench" / "out"
RESULTS_FILE = REPO_ROOT / "bench" / "RESULTS.md"
SECTION = "## Ingest and recording"

FPS = 25
SIZE = (1280, 720)
ANALYSIS_FPS = 5
SEGMENT_S = 10
REALTIME_SHARE = 0.97
# Frames a worker may have read but not yet written when it stops (the decoder
# holds a few back) or written but not yet counted: not a loss.
FRAME_SLACK = 5
VIDEO_SECONDS = 60

CONTENDERS = ("record", "analyse", "ffmpeg")
LABELS = {
    "record": "Watchfloor, record only",
    "analyse": f"Watchfloor, record + frames at {ANALYSIS_FPS} fps",
    "ffmpeg": "ffmpeg -c copy -f segment",
}

_CLOCK_TICK = os.sysconf("SC_CLK_TCK")
log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------
# Child: Watchfloor's ingest service in a process of its own


def site_yaml(media: Path, urls: Sequence[str]) -> str:
    """The site file of a benchmark run: one camera per URL, 10 s segments."""
    cameras = "\n".join(
        f'  - {{name: cam{i:02d}, url: "{url}", fps: {ANALYSIS_FPS}}}'
        for i, url in enumerate(urls)
    )
    return (
        f"storage:\n  media: {media}\n"
        f"recording: {{segment_s: {SEGMENT_S}, min_free_gb: 0}}\n"
        f"cameras:\n{cameras}\n"
    )


class FrameDrain(threading.Thread):
    """Takes every frame from one camera's queue, as a detector would."""

    def __init__(self, frames: Any) -> None:
        super().__init__(name="bench-drain", daemon=True)
        self.frames = frames
        self.count = 0

    def run(self) -> None:
        while True:
            frame = self.frames.get(timeout=0.5)
            if frame is not None:
                self.count += 1
            elif self.frames.closed:
                return


def child_main(mode: str, media: Path, urls: Sequence[str], ready_s: float) -> int:
    """Run the ingest service on ``urls`` and answer the parent's commands.

    Reads lines from stdin: ``mark`` answers a JSON snapshot of the counters,
    ``stop`` stops the service and answers the final counts from the segment
    index and the segment files. Writes only JSON lines to stdout.
    """
    from sqlalchemy import func, select

    from watchfloor.config import parse_site
    from watchfloor.ingest.service import IngestService
    from watchfloor.ingest.status import CameraState
    from watchfloor.models import Segment
    from watchfloor.models.database import Database

    site = parse_site(site_yaml(media, urls))
    db = Database.open(site.database_url)
    service = IngestService(site, db)
    drains: dict[str, FrameDrain] = {}
    if mode == "analyse":
        for name, worker in service.workers.items():
            drains[name] = FrameDrain(worker.subscribe())
    for drain in drains.values():
        drain.start()
    service.start()

    deadline = time.monotonic() + ready_s
    while time.monotonic() < deadline:
        statuses = service.statuses()
        if all(s.state == CameraState.ONLINE and s.frames_in for s in statuses):
            break
        time.sleep(0.1)
    _emit({"event": "ready"})

    def snapshot() -> dict[str, Any]:
        usage = _self_cpu_s()
        cameras = {}
        for status in service.statuses():
            drain = drains.get(status.camera)
            cameras[status.camera] = {
                "frames_in": status.frames_in,
                "frames_dropped": status.frames_dropped,
                "consumed": drain.count if drain else 0,
                "state": str(status.state),
                "attempts": status.attempts,
                "last_error": status.last_error,
            }
        return {"t": time.monotonic(), "cpu_self_s": usage, "cameras": cameras}

    for line in sys.stdin:
        command = line.strip()
        if command == "mark":
            _emit(snapshot())
        elif command == "stop":
            break
    last = snapshot()
    service.stop()
    for drain in drains.values():
        drain.join(5)

    recorded: dict[str, dict[str, int]] = {}
    with db.session() as session:
        rows = session.execute(
            select(Segment.camera, func.count(), func.sum(Segment.frames)).group_by(
                Segment.camera
            )
        )
        for camera, segments, frames in rows:
            recorded[camera] = {"segments": segments, "frames": int(frames or 0)}
        paths = session.execute(select(Segment.camera, Segment.path)).all()
    in_files: dict[str, int] = {}
    for camera, path in paths:
        full = Path(path) if Path(path).is_absolute() else media / path
        in_files[camera] = in_files.get(camera, 0) + count_packets(full)
    db.close()

    counts: dict[str, dict[str, Any]] = {}
    for status in service.statuses():
        name = status.camera
        counts[name] = {
            "frames_in": status.frames_in,
            "consumed": drains[name].count if name in drains else 0,
            "frames_dropped": status.frames_dropped,
            "segments": recorded.get(name, {}).get("segments", 0),
            "recorded": recorded.get(name, {}).get("frames", 0),
            "in_files": in_files.get(name, 0),
        }
    _emit({"event": "final", "last": last, "cameras": counts})
    return 0


def _emit(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


def _self_cpu_s() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def count_packets(path: Path) -> int:
    """Video packets (frames) in a recorded file, by demuxing it."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size)


# ----------------------------------------------------------------------------
# Parent: processes, CPU and the runs


@dataclass(frozen=True)
class CpuSample:
    """CPU time of one running process, read from ``/proc``.

    Attributes:
        ticks_s: utime + stime of the whole process, at clock-tick resolution
            (10 ms), counting threads that have ended.
        threads_ns: CPU time of each live thread, in nanoseconds, from
            ``/proc/PID/task/TID/schedstat``.
    """

    ticks_s: float
    threads_ns: dict[int, int]

    @classmethod
    def of(cls, pid: int) -> CpuSample:
        text = Path(f"/proc/{pid}/stat").read_text()
        fields = text[text.rindex(")") + 2 :].split()
        ticks_s = (int(fields[11]) + int(fields[12])) / _CLOCK_TICK
        threads: dict[int, int] = {}
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                threads[int(task.name)] = int(
                    (task / "schedstat").read_text().split()[0]
                )
            except (OSError, ValueError, IndexError):
                continue
        return cls(ticks_s, threads)

    def until(self, later: CpuSample) -> float:
        """CPU seconds from this sample to ``later``.

        Nanosecond thread times when the same threads lived at both samples;
        else (a thread ended, or schedstat is missing) the tick count.
        """
        if self.threads_ns and self.threads_ns.keys() == later.threads_ns.keys():
            return (
                sum(later.threads_ns[t] - self.threads_ns[t] for t in self.threads_ns)
                / 1e9
            )
        return later.ticks_s - self.ticks_s


def reap(process: subprocess.Popen[Any], timeout: float) -> float | None:
    """Wait for a child with ``os.wait4``; its whole-life CPU seconds, or None.

    Kills the child when it has not ended within ``timeout``.
    """
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_utime + usage.ru_stime
        if time.monotonic() >= deadline:
            log.warning(
                "process %d did not end in %.0f s; killing it", process.pid, timeout
            )
            process.kill()
            deadline = time.monotonic() + 10
        time.sleep(0.05)


@contextmanager
def children() -> Iterator[list[subprocess.Popen[Any]]]:
    """A list to put child processes in; any still running at the end is killed."""
    started: list[subprocess.Popen[Any]] = []
    try:
        yield started
    finally:
        for process in started:
            if process.returncode is None and process.poll() is None:
                process.kill()
                process.wait(10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class MachineSample:
    """What the whole machine and this process had used, from ``/proc/stat``.

    Attributes:
        busy_s: CPU seconds all processes used (user, nice, system, irq).
        steal_s: CPU seconds the hypervisor gave to other machines.
        own_s: CPU seconds this (parent) process used.
    """

    busy_s: float
    steal_s: float
    own_s: float

    @classmethod
    def now(cls) -> MachineSample:
        import resource

        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        ticks = [int(f) for f in fields]
        # user nice system idle iowait irq softirq steal ...
        busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]
        steal = ticks[7] if len(ticks) > 7 else 0
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return cls(
            busy / _CLOCK_TICK, steal / _CLOCK_TICK, usage.ru_utime + usage.ru_stime
        )


class LineReader:
    """Reads a child's stdout lines in a thread, to wait for them with a timeout."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(
            target=self._run, args=(stream,), name="bench-reader", daemon=True
        )
        self._thread.start()

    def _run(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def json(self, timeout: float) -> dict[str, Any]:
        """The next JSON line; raises RuntimeError on timeout or end of output."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(0.01, left))
            except queue.Empty:
                raise RuntimeError(f"no answer from the child in {timeout} s") from None
            if line is None:
                raise RuntimeError("the child ended without answering")
            if line.startswith("{"):
                message: dict[str, Any] = json.loads(line)
                return message


@dataclass
class Simulator:
    """The camera simulator in a process of its own, serving N cameras."""

    video: Path
    cameras: int
    workdir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def names(self) -> list[str]:
        return [f"cam{i:02d}" for i in range(self.cameras)]

    def url(self, name: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{name}"

    def start(self, started: list[subprocess.Popen[Any]], timeout: float = 30) -> None:
        self.port = free_port()
        command = [
            sys.executable,
            "-m",
            "watchfloor.ingest.simulator",
            *(f"{name}={self.video}" for name in self.names),
            "--port",
            str(self.port),
            "--log-level",
            "WARNING",
        ]
        out = self.workdir / "simulator.out"
        with out.open("wb") as stdout, self.log.open("wb") as stderr:
            self.process = subprocess.Popen(
                command, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL
            )
        started.append(self.process)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the camera simulator failed:\n{self.log_text}")
            if len(out.read_text().splitlines()) >= self.cameras:
                return
            time.sleep(0.05)
        raise RuntimeError(f"the camera simulator was not ready in {timeout} s")

    @property
    def log(self) -> Path:
        return self.workdir / "simulator.err"

    @property
    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    @property
    def fell_behind(self) -> bool:
        return "behind real time" in self.log_text

    def cpu(self) -> CpuSample:
        assert self.process is not None
        return CpuSample.of(self.process.pid)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            reap(self.process, 15)


@dataclass
class CameraResult:
    """What one camera did during one run."""

    name: str
    fps: float
    received: int
    recorded: int
    in_files: int
    dropped: int = 0
    consumed_fps: float = 0.0
    reconnects: int = 0


@dataclass
class RunResult:
    """One contender recording N cameras for one window."""

    contender: str
    cameras: int
    window_s: float
    cpu_s: float = 0.0
    cpu_self_s: float | None = None
    cpu_total_s: float | None = None
    lifetime_s: float = 0.0
    simulator_cpu_s: float = 0.0
    simulator_behind: bool = False
    others_cpu_s: float = 0.0
    steal_s: float = 0.0
    per_camera: list[CameraResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    round: int = 0

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def cpu_per_camera(self) -> float:
        """Share of one core per camera over the window (0.1 = 10 %)."""
        return self.cpu_s / self.window_s / self.cameras

    @property
    def min_fps(self) -> float:
        return min((c.fps for c in self.per_camera), default=0.0)


def judge(result: RunResult) -> None:
    """Fill ``result.failures`` from its cameras' counts."""
    need = REALTIME_SHARE * FPS
    for camera in result.per_camera:
        if camera.fps < need:
            result.failures.append(
                f"{camera.name} received {camera.fps:.2f} fps, under {need:.2f}"
            )
        if abs(camera.recorded - camera.received) > FRAME_SLACK:
            result.failures.append(
                f"{camera.name} recorded {camera.recorded} frames of "
                f"{camera.received} received"
            )
        if camera.in_files != camera.recorded:
            result.failures.append(
                f"{camera.name}: {camera.in_files} frames in its files, "
                f"{camera.recorded} in the index"
            )
        if camera.dropped:
            result.failures.append(
                f"{camera.name}: {camera.dropped} frames dropped for the consumer"
            )
        if camera.reconnects:
            result.failures.append(f"{camera.name} reconnected")


class Bench:
    """Runs contenders against a fresh simulator and keeps the results."""

    def __init__(self, video: Path, warmup_s: float, window_s: float) -> None:
        self.video = video
        self.warmup_s = warmup_s
        self.window_s = window_s
        self.results: list[RunResult] = []

    def run(self, contender: str, cameras: int, round_: int) -> RunResult:
        with (
            tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp,
            children() as started,
        ):
            workdir = Path(tmp)
            simulator = Simulator(self.video, cameras, workdir)
            simulator.start(started)
            try:
                if contender == "ffmpeg":
                    result = self._run_ffmpeg(simulator, workdir, started)
                else:
                    result = self._run_watchfloor(
                        contender, simulator, workdir, started
                    )
            except RuntimeError as exc:
                # A contender that cannot even answer has failed the run.
                log.warning(
                    "%s with %d cameras broke down: %s", contender, cameras, exc
                )
                result = RunResult(contender, cameras, window_s=self.window_s)
                result.failures.append(f"broke down: {str(exc).splitlines()[0]}")
            finally:
                simulator.stop()
            result.simulator_behind = simulator.fell_behind
        result.round = round_
        judge(result)
        self.results.append(result)
        log.info(
            "%-8s N=%-2d cpu/camera %5.1f %%  min fps %5.2f  sim %4.0f %%  %s",
            contender,
            cameras,
            100 * result.cpu_per_camera,
            result.min_fps,
            100 * result.simulator_cpu_s / result.window_s,
            "pass" if result.passed else "FAIL: " + "; ".join(result.failures[:3]),
        )
        return result

    def _run_watchfloor(
        self,
        mode: str,
        simulator: Simulator,
        workdir: Path,
        started: list[subprocess.Popen[Any]],
    ) -> RunResult:
        urls = [simulator.url(name) for name in simulator.names]
        command = [
            sys.executable,
            "-m",
            "bench.ingest",
            "child",
            "--mode",
            mode,
            "--media",
            str(workdir / "media"),
            *urls,
        ]
        born = time.monotonic()
        with (workdir / "child.err").open("wb") as stderr:
            process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        started.append(process)
        assert process.stdin is not None and process.stdout is not None
        reader = LineReader(process.stdout)

        def ask(command: str, timeout: float) -> dict[str, Any]:
            assert process.stdin is not None
            process.stdin.write(command + "\n")
            process.stdin.flush()
            return reader.json(timeout)

        try:
            reader.json(60)  # ready
            time.sleep(self.warmup_s)
            machine0 = MachineSample.now()
            cpu0, sim0, t0 = CpuSample.of(process.pid), simulator.cpu(), _now()
            first = ask("mark", 10)
            time.sleep(self.window_s)
            cpu1, sim1, t1 = CpuSample.of(process.pid), simulator.cpu(), _now()
            machine1 = MachineSample.now()
            last = ask("mark", 10)
            final = ask("stop", 120)
        except RuntimeError as exc:
            tail = (workdir / "child.err").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"Watchfloor child ({mode}): {exc}\n{tail}") from exc
        process.stdin.close()
        cpu_total = reap(process, 30)

        result = RunResult(
            contender=mode,
            cameras=simulator.cameras,
            window_s=t1 - t0,
            cpu_s=cpu0.until(cpu1),
            cpu_self_s=last["cpu_self_s"] - first["cpu_self_s"],
            cpu_total_s=cpu_total,
            lifetime_s=time.monotonic() - born,
            simulator_cpu_s=sim0.until(sim1),
        )
        result.others_cpu_s, result.steal_s = others(result, machine0, machine1)
        span = last["t"] - first["t"]
        for name, end in last["cameras"].items():
            start = first["cameras"][name]
            total = final["cameras"][name]
            result.per_camera.append(
                CameraResult(
                    name=name,
                    fps=(end["frames_in"] - start["frames_in"]) / span,
                    received=total["frames_in"],
                    recorded=total["recorded"],
                    in_files=total["in_files"],
                    dropped=total["frames_dropped"],
                    consumed_fps=(end["consumed"] - start["consumed"]) / span,
                    reconnects=int(end["attempts"] > 0 or end["state"] != "online"),
                )
            )
        return result

    def _run_ffmpeg(
        self,
        simulator: Simulator,
        workdir: Path,
        started: list[subprocess.Popen[Any]],
    ) -> RunResult:
        exe = ffmpeg_exe()
        processes: dict[str, subprocess.Popen[bytes]] = {}
        progress: dict[str, Path] = {}
        born = time.monotonic()
        for name in simulator.names:
            folder = workdir / name
            folder.mkdir()
            progress[name] = workdir / f"{name}.progress"
            command = [
                exe,
                *("-hide_banner", "-nostdin", "-loglevel", "error"),
                *("-progress", str(progress[name]), "-stats_period", "0.5"),
                *baseline_args(simulator.url(name), str(folder / "%03d.mp4")),
            ]
            with (workdir / f"{name}.err").open("wb") as stderr:
                processes[name] = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr
                )
            started.append(processes[name])

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if all(progress_frames(path) for path in progress.values()):
                break
            time.sleep(0.1)
        time.sleep(self.warmup_s)

        machine0 = MachineSample.now()
        cpu0 = [CpuSample.of(p.pid) for p in processes.values()]
        sim0, t0 = simulator.cpu(), _now()
        changes = watch_progress(progress, t0 + self.window_s)
        cpu1 = [CpuSample.of(p.pid) for p in processes.values()]
        sim1, t1 = simulator.cpu(), _now()
        machine1 = MachineSample.now()

        for process in processes.values():
            process.send_signal(signal.SIGINT)
        cpu_total = 0.0
        for process in processes.values():
            cpu_total += reap(process, 30) or 0.0

        result = RunResult(
            contender="ffmpeg",
            cameras=simulator.cameras,
            window_s=t1 - t0,
            cpu_s=sum(a.until(b) for a, b in zip(cpu0, cpu1, strict=True)),
            cpu_self_s=None,
            cpu_total_s=cpu_total,
            lifetime_s=time.monotonic() - born,
            simulator_cpu_s=sim0.until(sim1),
        )
        result.others_cpu_s, result.steal_s = others(result, machine0, machine1)
        for name in simulator.names:
            written = progress_frames(progress[name]) or 0
            in_files = sum(
                count_packets(path) for path in sorted((workdir / name).glob("*.mp4"))
            )
            result.per_camera.append(
                CameraResult(
                    name=name,
                    fps=rate(changes[name]),
                    received=written,
                    recorded=in_files,
                    in_files=in_files,
                )
            )
        return result


def _now() -> float:
    return time.monotonic()


def others(
    result: RunResult, before: MachineSample, after: MachineSample
) -> tuple[float, float]:
    """CPU seconds that other work used during a run's window, and steal.

    The machine's busy time less the contender's, the simulator's and this
    process's own.
    """
    ours = result.cpu_s + result.simulator_cpu_s + (after.own_s - before.own_s)
    busy = after.busy_s - before.busy_s
    return max(0.0, busy - ours), after.steal_s - before.steal_s


def ffmpeg_exe() -> str:
    """imageio-ffmpeg's static ffmpeg binary."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def baseline_args(url: str, pattern: str) -> list[str]:
    """The baseline's reading and recording options, as a user would write them."""
    return [
        *("-rtsp_transport", "tcp", "-i", url, "-c", "copy"),
        *("-f", "segment", "-segment_time", str(SEGMENT_S), "-reset_timestamps", "1"),
        pattern,
    ]


def progress_frames(path: Path) -> int | None:
    """The last ``frame=`` ffmpeg wrote to its ``-progress`` file, if any."""
    try:
        with path.open("rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - 2048))
            tail = file.read().decode(errors="replace")
    except OSError:
        return None
    frames = [line for line in tail.splitlines() if line.startswith("frame=")]
    return int(frames[-1].split("=", 1)[1]) if frames else None


def watch_progress(
    progress: dict[str, Path], until: float
) -> dict[str, list[tuple[float, int]]]:
    """Poll progress files until ``until``; per camera, each new count and when.

    ffmpeg writes a block every half second; a block's time is taken as the
    time it was first seen (polled every 0.1 s).
    """
    last_value = {name: progress_frames(path) for name, path in progress.items()}
    seen: dict[str, list[tuple[float, int]]] = {name: [] for name in progress}
    while _now() < until:
        time.sleep(min(0.1, max(0.0, until - _now())))
        now = _now()
        for name, path in progress.items():
            value = progress_frames(path)
            if value is not None and value != last_value[name]:
                last_value[name] = value
                seen[name].append((now, value))
    return seen


def rate(points: Sequence[tuple[float, int]]) -> float:
    """Frames per second: the least-squares slope of frame counts over time.

    The fit spreads the polling delay over every point of the window instead
    of charging it to the first and the last.
    """
    if len(points) < 2:
        return 0.0
    mean_t = statistics.fmean(t for t, _ in points)
    mean_f = statistics.fmean(f for _, f in points)
    cov = sum((t - mean_t) * (f - mean_f) for t, f in points)
    var = sum((t - mean_t) ** 2 for t, _ in points)
    return cov / var if var else 0.0


# ----------------------------------------------------------------------------
# The footage, the plan of runs and the report


def prepare_video(seconds: float = VIDEO_SECONDS) -> tuple[Path, str]:
    """The 720p 25 fps H.264 test file (made once, kept in bench/out/)."""
    from watchfloor.ingest.simulator import make_test_video

    source = data_dir() / "PETS09-S2L1" / "video.avi"
    kind = "pets09" if source.is_file() else "generated"
    width, height = SIZE
    path = OUT_DIR / f"camera-{width}x{height}-{FPS}fps-{kind}-{seconds:.0f}s.mp4"
    if not path.exists():
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        log.info("making the test video %s", path)
        part = path.with_suffix(".part.mp4")
        make_test_video(
            part,
            seconds=seconds,
            size=SIZE,
            fps=FPS,
            gop_s=1.0,
            source=source if kind == "pets09" else None,
        )
        part.replace(path)
    return path, kind


def video_bitrate_mbps(path: Path) -> float:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        sizes = [p.size for p in container.demux(stream) if p.size]
        seconds = len(sizes) / FPS
        return sum(sizes) * 8 / seconds / 1e6


def camera_counts(limit: int) -> list[int]:
    counts, n = [], 1
    while n <= limit:
        counts.append(n)
        n *= 2
    return counts


def rotated(items: Sequence[str], by: int) -> list[str]:
    by %= len(items)
    return [*items[by:], *items[:by]]


def borderline(result: RunResult) -> bool:
    """Whether a failed run was close enough to passing to be run again.

    A run where every camera still got 90 % of its frames may have been
    tipped over by other work on the machine; one far below that has not.
    """
    return not result.passed and result.min_fps >= 0.9 * FPS


def sweep(bench: Bench, limit: int, repeats: int, confirm: bool) -> dict[str, Any]:
    """Double N until each contender fails; repeat N = 1 for medians.

    A failure close to passing is run again and the second run decides.

    Returns:
        Per contender: the largest N that passed (``max_pass``), whether it
        passed only on a second run (``retried``), and the N that failed
        (``failed_at``, None when none did up to the end).
    """
    capacity: dict[str, dict[str, Any]] = {
        c: {"max_pass": 0, "failed_at": None, "retried": False} for c in CONTENDERS
    }
    active = list(CONTENDERS)
    for step, n in enumerate(camera_counts(limit)):
        for contender in rotated(CONTENDERS, step):
            if contender not in active:
                continue
            result = bench.run(contender, n, round_=0)
            retried = False
            if confirm and borderline(result):
                log.info("%s failed at N=%d; running it again to confirm", contender, n)
                result = bench.run(contender, n, round_=-1)
                retried = True
            if result.passed:
                capacity[contender]["max_pass"] = n
                capacity[contender]["retried"] = retried
            else:
                capacity[contender]["failed_at"] = n
                active.remove(contender)
        # ffmpeg is the yardstick: it goes as far as Watchfloor does.
        if not {"record", "analyse"} & set(active):
            break
    for round_ in range(1, repeats):
        for contender in rotated(CONTENDERS, round_):
            bench.run(contender, 1, round_=round_)
    return capacity


def summarise(results: list[RunResult]) -> dict[str, Any]:
    """Medians of the CPU per camera at N = 1, and ratios to ffmpeg per round."""
    single: dict[str, list[float]] = {c: [] for c in CONTENDERS}
    by_round: dict[int, dict[str, float]] = {}
    for r in results:
        if r.cameras == 1 and r.round >= 0 and r.passed:
            single[r.contender].append(r.cpu_per_camera)
            by_round.setdefault(r.round, {})[r.contender] = r.cpu_per_camera
    medians = {c: statistics.median(v) if v else None for c, v in single.items()}
    ratios: dict[str, float | None] = {}
    for contender in ("record", "analyse"):
        per_round = [
            cpu[contender] / cpu["ffmpeg"]
            for cpu in by_round.values()
            if contender in cpu and cpu.get("ffmpeg")
        ]
        ratios[contender] = statistics.median(per_round) if per_round else None
    return {
        "median_cpu_per_camera": medians,
        "samples": {c: len(v) for c, v in single.items()},
        "ratio_to_ffmpeg": ratios,
    }


def machine() -> dict[str, Any]:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    words = subprocess.run(
        [ffmpeg_exe(), "-version"], capture_output=True, text=True, check=False
    ).stdout.split()
    version = f"ffmpeg {words[2]}" if len(words) >= 3 else "ffmpeg"
    import av

    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "pyav": av.__version__,
        "ffmpeg": version,
        "kernel": platform.release(),
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def _capacity(entry: dict[str, Any], short: bool = False) -> str:
    if entry["failed_at"] is None:
        if short:
            return f"at least {entry['max_pass']}"
        return f"≥ {entry['max_pass']} (no failure up to the end of the sweep)"
    if entry["max_pass"] == 0:
        return "none" if short else "0 (fails at 1)"
    if short:
        return f"{entry['max_pass']} (not {entry['failed_at']})"
    text = f"{entry['max_pass']} (fails at {entry['failed_at']}"
    if entry.get("retried"):
        text += f"; passed at {entry['max_pass']} on a second run"
    return text + ")"


def summary_table(summary: dict[str, Any], capacity: dict[str, Any]) -> str:
    medians = summary["median_cpu_per_camera"]
    ratios = summary["ratio_to_ffmpeg"]
    lines = [
        "| contender | CPU per camera, N=1 (% of one core, median) | "
        "vs ffmpeg (median of per-round ratios) | cameras recorded in real time |",
        "|---|---|---|---|",
    ]
    for c in CONTENDERS:
        ratio = "1" if c == "ffmpeg" else _ratio(ratios.get(c))
        lines.append(
            f"| {LABELS[c]} | {_pct(medians[c])} (n={summary['samples'][c]}) | "
            f"{ratio} | {_capacity(capacity[c])} |"
        )
    return "\n".join(lines)


def scaling_table(results: list[RunResult]) -> str:
    """CPU per camera by N for each contender; failed runs are marked."""
    counts = sorted({r.cameras for r in results})
    lines = [
        "| N | " + " | ".join(LABELS[c] for c in CONTENDERS) + " |",
        "|---|" + "---|" * len(CONTENDERS),
    ]
    for n in counts:
        cells = []
        for c in CONTENDERS:
            runs = [r for r in results if r.contender == c and r.cameras == n]
            if not runs:
                cells.append("-")
                continue
            cpu = statistics.median(r.cpu_per_camera for r in runs)
            cell = _pct(cpu)
            failed = [r for r in runs if not r.passed]
            if failed:
                worst = min(r.min_fps for r in failed)
                cell += f" ✗ {len(failed)}/{len(runs)} failed (min {worst:.1f} fps)"
            cells.append(cell)
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def runs_table(results: list[RunResult]) -> str:
    lines = [
        "| # | contender | N | CPU/camera | contender total | min fps | "
        "recorded minus received (worst) | consumer fps | simulator CPU | "
        "other work's CPU (rough) | result |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(results, 1):
        worst = max((c.recorded - c.received for c in r.per_camera), key=abs, default=0)
        consumer = (
            f"{min(c.consumed_fps for c in r.per_camera):.2f}"
            if r.contender == "analyse" and r.per_camera
            else "-"
        )
        verdict = "pass" if r.passed else "FAIL: " + "; ".join(r.failures[:2])
        if r.simulator_behind:
            verdict += " (simulator fell behind)"
        lines.append(
            f"| {i} | {r.contender} | {r.cameras} | {_pct(r.cpu_per_camera)} | "
            f"{_pct(r.cpu_s / r.window_s)} | {r.min_fps:.2f} | {worst:+d} | "
            f"{consumer} | {_pct(r.simulator_cpu_s / r.window_s)} | "
            f"{_pct(r.others_cpu_s / r.window_s if r.window_s else 0.0)} | "
            f"{verdict} |"
        )
    return "\n".join(lines)


def _median_cpu(results: list[RunResult], contender: str, cameras: int) -> float | None:
    values = [
        r.cpu_per_camera
        for r in results
        if r.contender == contender and r.cameras == cameras and r.passed
    ]
    return statistics.median(values) if values else None


def reading(
    summary: dict[str, Any], capacity: dict[str, Any], results: list[RunResult]
) -> str:
    """A few sentences saying what the numbers mean."""
    medians = summary["median_cpu_per_camera"]
    ratios = summary["ratio_to_ffmpeg"]
    parts = []
    if medians["record"] is not None and medians["ffmpeg"] is not None:
        parts.append(
            f"Recording one 720p25 camera costs Watchfloor {_pct(medians['record'])} "
            f"of a core against {_pct(medians['ffmpeg'])} for a plain ffmpeg "
            f"stream copy ({_ratio(ratios['record'])} by the per-round ratios). "
            "Both demux and mux every packet in FFmpeg's C code; Watchfloor adds "
            "a Python step per packet (clock, status, recorder) and hashes and "
            "indexes each segment."
        )
    both = {r.cameras for r in results if r.contender == "record" and r.passed} & {
        r.cameras for r in results if r.contender == "ffmpeg" and r.passed
    }
    if both and max(both) > 1:
        n = max(both)
        ours, theirs = (
            _median_cpu(results, "record", n),
            _median_cpu(results, "ffmpeg", n),
        )
        if ours is not None and theirs:
            parts.append(
                f"With {n} cameras the gap narrows to {_pct(ours)} against "
                f"{_pct(theirs)} per camera ({ours / theirs:.1f}x): part of the "
                "cost of one camera is the process's own, shared by all its "
                "cameras."
            )
    if medians["analyse"] is not None and medians["record"] is not None:
        extra = medians["analyse"] - medians["record"]
        parts.append(
            f"Handing frames to analysis adds {_pct(extra)} per camera "
            f"({_pct(medians['analyse'])} in all): every frame is decoded, as "
            "H.264 needs to keep its reference chain even when only "
            f"{ANALYSIS_FPS} of {FPS} frames per second are used, and those "
            f"{ANALYSIS_FPS} are converted to BGR arrays."
        )
    parts.append(
        "On this machine Watchfloor recorded "
        f"{_capacity(capacity['record'], short=True)} cameras in real time "
        "without a lost frame when recording only, and "
        f"{_capacity(capacity['analyse'], short=True)} with frames for "
        f"analysis; ffmpeg, taken as far as Watchfloor went, managed "
        f"{_capacity(capacity['ffmpeg'], short=True)}."
    )
    largest = max((r.cameras for r in results), default=0)
    if capacity["record"]["failed_at"] is None and largest:
        shares = [
            r.simulator_cpu_s / r.window_s / r.cameras
            for r in results
            if r.cameras == largest and r.window_s
        ]
        share = statistics.median(shares) if shares else 0.0
        text = f"The sweep ends at {largest} cameras (`--max-cameras`)"
        if 2 * largest * share > 0.5:
            text += (
                f": the simulator, on the same two cores, takes {_pct(share)} of "
                f"a core per camera, so at {2 * largest} it would need "
                f"{_pct(2 * largest * share)} by itself, and a failure there "
                "would measure the simulator as much as the contender"
            )
        parts.append(text + ".")
    else:
        parts.append(
            "The simulator shares the two cores (see its column), so a "
            "capacity is that of the machine serving and recording at once."
        )
    shares = [r.others_cpu_s / r.window_s for r in results if r.window_s]
    if shares and max(shares) > 0.25:
        parts.append(
            "Other work on this shared machine used a median of "
            f"{_pct(statistics.median(shares))} and up to {_pct(max(shares))} of "
            f"the {100 * (os.cpu_count() or 1)} % the cores offer during the "
            "windows (its column): CPU per camera counts the contender's own time "
            "only, but the capacities are what was left over, lower "
            "bounds of what the machine does alone."
        )
    return " ".join(parts)


def results_section(report: dict[str, Any]) -> str:
    """The markdown section of RESULTS.md for one report."""
    m = report["machine"]
    runs = [RunResult(**_revive(r)) for r in report["runs"]]
    return "\n".join(
        [
            SECTION,
            "",
            f"Command: `{report['command']}` (from the repository root); "
            f"{report['date']}.",
            "",
            f"Machine: {m['nproc']} CPUs, {m['cpu']}, Linux {m['kernel']}; "
            f"Python {m['python']}, PyAV {m['pyav']}; baseline {m['ffmpeg']} "
            "(imageio-ffmpeg). The machine is shared with other work: see the "
            "column of other work's CPU.",
            "",
            f"Stream: {report['video']['source']} to 1280x720 at {FPS} fps, "
            f"H.264 (x264 ultrafast, key frame every 1 s), "
            f"{report['video']['mbps']:.1f} Mbit/s, served by the camera "
            "simulator in its own process (stream copy, over RTSP/TCP). Each run: "
            f"{report['warmup_s']:.0f} s warm-up, then a "
            f"{report['window_s']:.0f} s window; CPU is the contender's "
            "CPU time over the window (the sum over its threads of "
            "`/proc/PID/task/TID/schedstat`, read by the parent), divided by N "
            "and by the window. Baseline per camera: "
            f"`ffmpeg {' '.join(baseline_args('URL', 'DIR/%03d.mp4'))}`. Pass: "
            f"every camera ≥ {REALTIME_SHARE * FPS:.2f} fps over the window, "
            "frames in the segments equal to frames received (within "
            f"{FRAME_SLACK}, for the decoder's delay at stop), no frame dropped "
            "for the consumer, no reconnection. Other work's CPU is the "
            "machine's busy time in `/proc/stat` less the contender's, the "
            "simulator's and the benchmark's own: tick-sampled, so rough, and "
            "low when the machine is near idle.",
            "",
            summary_table(report["summary"], report["capacity"]),
            "",
            reading(report["summary"], report["capacity"], runs),
            "",
            "CPU per camera (% of one core) by number of cameras, median of "
            "the runs at that N:",
            "",
            scaling_table(runs),
            "",
            "<details><summary>Every run, in order</summary>",
            "",
            runs_table(runs),
            "",
            "</details>",
            "",
        ]
    )


def _revive(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    data["per_camera"] = [CameraResult(**c) for c in data["per_camera"]]
    return data


def parent_main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    # On SIGTERM, unwind through the cleanup that stops every child process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.quick:
        warmup, window, limit, repeats = 3.0, 8.0, min(args.max_cameras, 2), 1
    else:
        warmup, window, limit = args.warmup, args.seconds, args.max_cameras
        repeats = args.repeats
    command = "python -m bench.ingest" + "".join(f" {a}" for a in args.argv)
    video, kind = prepare_video()
    report: dict[str, Any] = {
        "command": command,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "video": {
            "path": str(video.name),
            "kind": kind,
            "source": (
                "PETS09-S2L1 footage (768x576 at 10 fps) scaled and retimed"
                if kind == "pets09"
                else "a generated test pattern"
            ),
        },
        "warmup_s": warmup,
        "window_s": window,
    }
    report["video"]["mbps"] = video_bitrate_mbps(video)
    bench = Bench(video, warmup, window)
    started = time.monotonic()
    capacity = sweep(bench, limit, repeats, confirm=not args.quick)
    report["capacity"] = capacity
    report["summary"] = summarise(bench.results)
    report["runs"] = [asdict(r) for r in bench.results]
    report["elapsed_s"] = time.monotonic() - started

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "ingest.json").write_text(json.dumps(report, indent=2))
    print(summary_table(report["summary"], capacity))
    print()
    print(scaling_table(bench.results))
    print()
    print(runs_table(bench.results))
    print()
    print(reading(report["summary"], capacity, bench.results))
    results = args.results or (None if args.quick else RESULTS_FILE)
    if results is not None:
        write_section(Path(results), results_section(report))
        print(f"\nwritten to {results}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: the benchmark, or (``child``) one Watchfloor contender."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["child"]:
        child = argparse.ArgumentParser(prog="python -m bench.ingest child")
        child.add_argument("--mode", choices=("record", "analyse"), required=True)
        child.add_argument("--media", type=Path, required=True)
        child.add_argument("--ready-s", type=float, default=30.0)
        child.add_argument("urls", nargs="+")
        c = child.parse_args(argv[1:])
        logging.basicConfig(level=logging.WARNING)
        return child_main(c.mode, c.media, c.urls, c.ready_s)

    parser = argparse.ArgumentParser(
        prog="python -m bench.ingest",
        description="CPU per camera and real-time capacity of ingest and "
        "recording, against ffmpeg stream copy.",
    )
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument(
        "--seconds", type=float, default=14.0, help="measured window per run"
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up per run")
    parser.add_argument(
        "--max-cameras", type=int, default=64, help="largest N of the sweep"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of each contender at N=1"
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        help="write the section from a saved report (bench/out/ingest.json) "
        "instead of running",
    )
    parser.add_argument(
        "--results",
        type=Path,
        help="markdown file to write the section into (default: bench/RESULTS.md "
        "for a full run, none for --quick)",
    )
    args = parser.parse_args(argv)
    args.argv = argv
    if args.from_json is not None:
        report = json.loads(args.from_json.read_text())
        results = args.results or RESULTS_FILE
        write_section(Path(results), results_section(report))
        print(f"written to {results}")
        return 0
    return parent_main(args)


if __name__ == "__main__":
    sys.exit(main())
