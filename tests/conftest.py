"""Shared pytest fixtures: test footage, free ports and camera simulator processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """Where the shared labelled footage lives (env ``WATCHFLOOR_TEST_DATA``)."""
    default = REPO_ROOT.parent / "shared" / "data"
    return Path(os.environ.get("WATCHFLOOR_TEST_DATA", str(default)))


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def test_data() -> Path:
    """The shared footage folder; skips the test when it is absent."""
    folder = shared_data_dir()
    if not folder.is_dir():
        pytest.skip(f"shared test footage not found at {folder} (WATCHFLOOR_TEST_DATA)")
    return folder


@pytest.fixture(scope="session")
def pets09_video(test_data: Path) -> Path:
    """PETS09-S2L1 ``video.avi`` (768x576, 10 fps, MS-MPEG4 v3)."""
    path = test_data / "PETS09-S2L1" / "video.avi"
    if not path.is_file():
        pytest.skip(f"PETS09-S2L1 footage not found at {path}")
    return path


@pytest.fixture
def unused_port() -> int:
    """A free TCP port on 127.0.0.1."""
    return free_port()


class SimulatorProcess:
    """A camera simulator run as a child process, to kill, pause and restart.

    Runs ``python -m watchfloor.ingest.simulator NAME=VIDEO ... --port PORT``;
    its output goes to files in ``log_dir`` (see :attr:`log`).
    """

    def __init__(
        self,
        videos: Mapping[str, Path],
        port: int,
        log_dir: Path,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.videos = dict(videos)
        self.port = port
        self.host = "127.0.0.1"
        self._log_dir = log_dir
        self._extra_args = list(extra_args)
        self._process: subprocess.Popen[bytes] | None = None
        self._starts = 0
        self._stdout: Path | None = None
        self._stderr: Path | None = None

    @property
    def pid(self) -> int:
        """Process id of the running simulator."""
        if self._process is None:
            raise RuntimeError("the simulator process is not started")
        return self._process.pid

    @property
    def running(self) -> bool:
        """Whether the process exists and has not exited."""
        return self._process is not None and self._process.poll() is None

    @property
    def log(self) -> str:
        """What the latest run wrote to stderr."""
        if self._stderr is None or not self._stderr.exists():
            return ""
        return self._stderr.read_text(errors="replace")

    def url(self, name: str) -> str:
        """RTSP URL of camera ``name``."""
        return f"rtsp://{self.host}:{self.port}/{name}"

    def start(self, timeout: float = 30.0) -> None:
        """Start the process and wait until it serves every camera."""
        if self.running:
            raise RuntimeError("the simulator process is already running")
        self._starts += 1
        self._stdout = self._log_dir / f"simulator-{self.port}-{self._starts}.out"
        self._stderr = self._log_dir / f"simulator-{self.port}-{self._starts}.err"
        command = [
            sys.executable,
            "-m",
            "watchfloor.ingest.simulator",
            *(f"{name}={path}" for name, path in self.videos.items()),
            "--port",
            str(self.port),
            "--host",
            self.host,
            *self._extra_args,
        ]
        with self._stdout.open("wb") as out, self._stderr.open("wb") as err:
            self._process = subprocess.Popen(command, stdout=out, stderr=err)

        # The simulator prints one line per camera once it listens.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"simulator exited with {self._process.returncode}:\n{self.log}"
                )
            lines = self._stdout.read_text(errors="replace").splitlines()
            if len(lines) >= len(self.videos):
                return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"simulator not ready after {timeout} s:\n{self.log}")

    def kill(self) -> None:
        """SIGKILL the process, as a crash or power loss would."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(10)

    def pause(self) -> None:
        """SIGSTOP the process: streams stall without closing."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT a paused process."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGCONT)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the process and wait; SIGKILL it if it does not end.

        Returns:
            The exit status, or ``None`` when it was never started.
        """
        if self._process is None:
            return None
        if self._process.poll() is None:
            self.resume()
            self._process.terminate()
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
        return self._process.returncode

    def restart(self, timeout: float = 30.0) -> None:
        """Kill the process and start a new one on the same port at once."""
        self.kill()
        self.start(timeout)


@pytest.fixture
def simulator_process(
    tmp_path: Path,
) -> Iterator[Callable[..., SimulatorProcess]]:
    """Factory that starts camera simulator processes; all are stopped after.

    Call it as ``simulator_process({"gate": path}, port=None, extra_args=())``;
    a free port is chosen when ``port`` is ``None``.
    """
    processes: list[SimulatorProcess] = []

    def start(
        videos: Mapping[str, Path],
        port: int | None = None,
        extra_args: Sequence[str] = (),
    ) -> SimulatorProcess:
        process = SimulatorProcess(
            videos, port if port is not None else free_port(), tmp_path, extra_args
        )
        processes.append(process)
        process.start()
        return process

    yield start
    for process in processes:
        process.stop()
