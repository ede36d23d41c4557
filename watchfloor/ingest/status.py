"""What a camera is doing now, as operators and the API see it."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class CameraState(StrEnum):
    """Where a camera's stream is in its life."""

    CONNECTING = "connecting"
    ONLINE = "online"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"


class RecordingState(StrEnum):
    """Whether the camera's footage is being written."""

    OFF = "off"
    WAITING = "waiting"
    RECORDING = "recording"
    PAUSED = "paused"


@dataclass(frozen=True)
class CameraStatus:
    """A snapshot of one camera's status.

    Attributes:
        camera: The camera's name.
        state: Stream state.
        since: When the camera entered ``state``.
        attempts: Failed connection attempts since the stream was last online.
        last_error: The last failure, in words, or None.
        fps_in: Frames per second arriving from the stream (over the last few s).
        frames_in: Frames that arrived since the worker started.
        frames_dropped: Frames dropped because a consumer was slow.
        recording: Recording state.
        recording_error: Why recording is paused, or None.
    """

    camera: str
    state: CameraState
    since: datetime
    attempts: int = 0
    last_error: str | None = None
    fps_in: float = 0.0
    frames_in: int = 0
    frames_dropped: int = 0
    recording: RecordingState = RecordingState.OFF
    recording_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = str(self.state)
        data["recording"] = str(self.recording)
        data["since"] = self.since.isoformat()
        return data

    def describe(self) -> str:
        """One line for a terminal or a log."""
        text = f"{self.camera}: {self.state}"
        if self.state == CameraState.ONLINE and self.fps_in:
            text += f" ({self.fps_in:.1f} fps"
            if self.frames_dropped:
                text += f", {self.frames_dropped} frames dropped"
            text += ")"
        if self.state == CameraState.RECONNECTING:
            text += f" (attempt {self.attempts}"
            text += f": {self.last_error})" if self.last_error else ")"
        text += {
            RecordingState.OFF: "; not recording",
            RecordingState.WAITING: "; recording waits for a key frame",
            RecordingState.RECORDING: "; recording",
            RecordingState.PAUSED: "; recording paused",
        }[self.recording]
        if self.recording_error:
            text += f": {self.recording_error}"
        return text


@dataclass
class _Counters:
    arrivals: deque[float] = field(default_factory=lambda: deque(maxlen=256))
    frames_in: int = 0


class StatusBoard:
    """Thread-safe keeper of one camera's status that reports its changes.

    ``listener`` is called with the new status whenever the state, the error
    or the recording state changes (not on every frame).
    """

    def __init__(self, camera: str, listener: Any = None) -> None:
        self._lock = threading.Lock()
        self._status = CameraStatus(camera, CameraState.CONNECTING, _now())
        self._counters = _Counters()
        self._listener = listener

    def snapshot(self) -> CameraStatus:
        with self._lock:
            arrivals = self._counters.arrivals
            fps = 0.0
            span = arrivals[-1] - arrivals[0] if arrivals else 0.0
            # Under a second of arrivals (a burst on connect) says no rate yet.
            if span >= 1.0 and time.monotonic() - arrivals[-1] < 2.0:
                fps = (len(arrivals) - 1) / span
            return replace(self._status, fps_in=fps, frames_in=self._counters.frames_in)

    def frame_arrived(self) -> None:
        with self._lock:
            now = time.monotonic()
            arrivals = self._counters.arrivals
            while arrivals and now - arrivals[0] > 5.0:
                arrivals.popleft()
            arrivals.append(now)
            self._counters.frames_in += 1

    def frames_dropped(self, count: int) -> None:
        with self._lock:
            self._status = replace(
                self._status, frames_dropped=self._status.frames_dropped + count
            )

    def set_state(
        self, state: CameraState, *, attempts: int = 0, last_error: str | None = None
    ) -> None:
        """Move to ``state``; ``last_error`` is kept while not online."""
        with self._lock:
            old = self._status
            if last_error is None and state != CameraState.ONLINE:
                last_error = old.last_error
            self._status = replace(
                old,
                state=state,
                since=_now() if state != old.state else old.since,
                attempts=attempts,
                last_error=last_error,
            )
            changed = (old.state, old.last_error, old.attempts) != (
                state,
                last_error,
                attempts,
            )
        if changed:
            self._notify()

    def set_recording(self, state: RecordingState, error: str | None = None) -> None:
        with self._lock:
            old = self._status
            self._status = replace(old, recording=state, recording_error=error)
            changed = (old.recording, old.recording_error) != (state, error)
        if changed:
            self._notify()

    def _notify(self) -> None:
        if self._listener is not None:
            self._listener(self.snapshot())


def _now() -> datetime:
    return datetime.now(UTC)
