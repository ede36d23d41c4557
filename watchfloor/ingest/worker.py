"""The camera worker: one per camera, it reads the stream, records and hands out frames.

A worker opens its camera's stream with PyAV, demuxes each packet once, gives
every packet to the segment recorder, and decodes frames for analysis, sampled
to the camera's frame rate and stamped with wall-clock UTC time. It reconnects
forever, with exponential backoff and jitter, and one camera's failure never
touches another's.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import av
import av.container
import av.error
import av.packet
import av.stream

from watchfloor.config import CameraConfig, IngestSettings, is_local_file, local_path
from watchfloor.config import redact as redact_url
from watchfloor.ingest.clock import StreamClock
from watchfloor.ingest.frames import Frame
from watchfloor.ingest.queues import FrameQueue
from watchfloor.ingest.recorder import SegmentRecorder
from watchfloor.ingest.sampling import FrameSampler
from watchfloor.ingest.status import CameraState, CameraStatus, StatusBoard

log = logging.getLogger(__name__)

# FFmpeg renders any text file as "video" through its tty demuxer.
_TEXT_CODECS = frozenset({"ansi", "bintext", "xbin", "idf"})


class StreamError(Exception):
    """A stream failed; the message says how, in words an operator can act on."""


def backoff_delays(
    initial: float,
    maximum: float,
    jitter: float = 0.2,
    rng: random.Random | None = None,
) -> Iterator[float]:
    """Waits between reconnection attempts: ``initial`` doubling up to ``maximum``.

    Each wait is spread by ``±jitter`` (a fraction) so that many cameras behind
    one failed switch do not all knock at the same instant.

    Example:
        >>> waits = backoff_delays(1, 30, jitter=0)
        >>> [next(waits) for _ in range(7)]
        [1, 2, 4, 8, 16, 30, 30]
    """
    rng = rng or random.Random()
    delay = initial
    while True:
        spread = 1 + rng.uniform(-jitter, jitter) if jitter else 1
        yield min(delay, maximum) * spread
        delay = min(delay * 2, maximum)


def describe_error(exc: BaseException, url: str) -> str:
    """Turn an exception from opening or reading a stream into words."""
    where = redact_url(url)
    if isinstance(exc, StreamError):
        return str(exc)
    if isinstance(exc, av.error.ConnectionRefusedError):
        return f"connection refused by {_host_port(url)}; is the camera reachable?"
    if isinstance(exc, av.error.HTTPNotFoundError) or "404" in str(exc):
        return f"the server has no stream at {where} (404 Not Found); check the path"
    if isinstance(exc, av.error.HTTPUnauthorizedError) or "401" in str(exc):
        return f"the server refused the credentials for {where} (401 Unauthorized)"
    if isinstance(exc, av.error.FileNotFoundError):
        return f"no such file: {where}"
    if isinstance(exc, av.error.InvalidDataError):
        return f"{where} is not a video stream FFmpeg can read (invalid data)"
    if (
        isinstance(exc, av.error.TimeoutError | TimeoutError)
        or "timed out" in str(exc).lower()
    ):
        return f"no data from {where} in time (timed out)"
    if isinstance(exc, av.error.FFmpegError):
        return f"cannot read {where}: {exc.strerror or exc}"
    return f"cannot read {where}: {redact_url(str(exc)) or type(exc).__name__}"


def _host_port(url: str) -> str:
    parts = urlsplit(url)
    default = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}
    port = parts.port or default.get(parts.scheme, 0)
    return f"{parts.hostname}:{port}"


class CameraWorker:
    """Reads one camera, records its footage and hands its frames to consumers.

    Args:
        camera: The camera's configuration.
        settings: Timeouts, backoff and queue sizes.
        recorder: Where packets are recorded, or None not to record.
        on_status: Called with the camera's status whenever it changes.

    Example:
        >>> worker = CameraWorker(camera, IngestSettings())  # doctest: +SKIP
        >>> frames = worker.subscribe()  # doctest: +SKIP
        >>> worker.start()  # doctest: +SKIP
    """

    def __init__(
        self,
        camera: CameraConfig,
        settings: IngestSettings,
        recorder: SegmentRecorder | None = None,
        on_status: Callable[[CameraStatus], None] | None = None,
    ) -> None:
        self.camera = camera
        self.settings = settings
        self.recorder = recorder
        self.board = StatusBoard(camera.name, on_status)
        if recorder is not None and recorder.board is None:
            recorder.board = self.board
        self._queues: list[FrameQueue] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last_wall: datetime | None = None

    def subscribe(self, maxsize: int | None = None) -> FrameQueue:
        """A new queue that receives this camera's sampled frames."""
        queue = FrameQueue(
            maxsize or self.settings.frame_queue, self.board.frames_dropped
        )
        self._queues.append(queue)
        return queue

    def status(self) -> CameraStatus:
        return self.board.snapshot()

    def start(self) -> None:
        """Start reading in background threads (one per distinct stream URL)."""
        separate_record = (
            self.recorder is not None
            and self.camera.record_url
            and self.camera.record_url != self.camera.url
        )
        if separate_record:
            self._spawn(self.camera.url, record=False, analyse=True)
            self._spawn(self.camera.record_url or "", record=True, analyse=False)
        else:
            self._spawn(self.camera.url, record=self.recorder is not None, analyse=True)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop reading, close the open segment and close every queue."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for queue in self._queues:
            queue.close()
        self.board.set_state(CameraState.STOPPED)

    def _spawn(self, url: str, record: bool, analyse: bool) -> None:
        role = "record" if not analyse else "analyse"
        thread = threading.Thread(
            target=self._run,
            args=(url, record, analyse),
            name=f"camera-{self.camera.name}-{role}",
            daemon=True,
        )
        self._threads.append(thread)
        thread.start()

    def _run(self, url: str, record: bool, analyse: bool) -> None:
        delays = backoff_delays(
            self.settings.backoff_initial_s, self.settings.backoff_max_s
        )
        attempts = 0
        while not self._stop.is_set():
            went_online = False
            try:
                went_online = self._read(url, record, analyse)
                if not self._stop.is_set():
                    raise StreamError(
                        f"the stream {redact_url(url)} ended: the server closed "
                        "the connection"
                    )
            except Exception as exc:
                if self._stop.is_set():
                    break
                if went_online:
                    attempts = 0
                    delays = backoff_delays(
                        self.settings.backoff_initial_s, self.settings.backoff_max_s
                    )
                attempts += 1
                error = describe_error(exc, url)
                if analyse:
                    self.board.set_state(
                        CameraState.RECONNECTING, attempts=attempts, last_error=error
                    )
                log.warning(
                    "camera %s: %s; reconnecting (attempt %d)",
                    self.camera.name,
                    error,
                    attempts,
                )
                self._stop.wait(next(delays))
            finally:
                if record and self.recorder is not None:
                    self.recorder.end_stream()
        if record and self.recorder is not None:
            self.recorder.close()

    def _open(self, url: str) -> av.container.InputContainer:
        if is_local_file(url):
            return av.open(str(local_path(url)), timeout=self._timeouts())
        host = urlsplit(url).hostname
        if host:
            try:
                socket.getaddrinfo(host, None)
            except socket.gaierror as exc:
                raise StreamError(
                    f"cannot resolve host {host!r} of {redact_url(url)}: {exc.strerror}"
                ) from exc
        options = {}
        if urlsplit(url).scheme in ("rtsp", "rtsps"):
            options["rtsp_transport"] = self.settings.rtsp_transport
        return av.open(url, options=options, timeout=self._timeouts())

    def _timeouts(self) -> tuple[float, float]:
        return (self.settings.open_timeout_s, self.settings.read_timeout_s)

    def _read(self, url: str, record: bool, analyse: bool) -> bool:
        """Read one connection until it fails; True if it delivered packets."""
        local = is_local_file(url)
        if analyse:
            self.board.set_state(
                CameraState.CONNECTING, attempts=self.board.snapshot().attempts
            )
        container = self._open(url)
        online = False
        try:
            if not container.streams.video:
                raise StreamError(f"{redact_url(url)} has no video stream")
            stream = container.streams.video[0]
            if stream.codec_context.name in _TEXT_CODECS:
                raise StreamError(
                    f"{redact_url(url)} is not a video stream FFmpeg can read "
                    "(it is text)"
                )
            stream.thread_type = "AUTO"
            clock = StreamClock()
            recorder = self.recorder if record else None
            if recorder is not None:
                recorder.start_stream(stream, clock)
            log.info("camera %s: opened %s", self.camera.name, redact_url(url))

            sampler = FrameSampler(self.camera.fps)
            loop_offset = 0.0
            frame_index = 0
            last_s = 0.0
            tb = float(stream.time_base or 0) or 1 / 90000
            while not self._stop.is_set():
                for packet in container.demux(stream):
                    if self._stop.is_set():
                        return online
                    if packet.size == 0:
                        continue
                    ts = packet.pts if packet.pts is not None else packet.dts
                    stream_s = (ts * tb if ts is not None else last_s) + loop_offset
                    last_s = stream_s
                    if local:
                        clock.wait_until(stream_s, self._stop)
                    clock.observe(stream_s)
                    if not online:
                        online = True
                        if analyse:
                            self.board.set_state(CameraState.ONLINE)
                            log.info("camera %s: online", self.camera.name)
                    if analyse and self._queues:
                        for frame in packet.decode():
                            frame_s = (
                                frame.pts * tb + loop_offset
                                if frame.pts is not None
                                else stream_s
                            )
                            self.board.frame_arrived()
                            if sampler.due(frame_s):
                                self._publish(
                                    frame, frame_index, clock.wall(frame_s), frame_s
                                )
                            frame_index += 1
                    elif analyse:
                        self.board.frame_arrived()
                    if recorder is not None:
                        if loop_offset:
                            _shift(packet, loop_offset, tb)
                        try:
                            recorder.write(packet)
                        except Exception:
                            # Analysis goes on even when the footage cannot
                            # be written; the recorder reports its own state.
                            log.exception(
                                "camera %s: recording failed", self.camera.name
                            )
                if not local:
                    return online
                # A local file loops: time stamps go on from where they ended.
                loop_offset = last_s + 1 / float(stream.average_rate or 25)
                container.seek(0)
            return online
        finally:
            container.close()

    def _publish(
        self, frame: av.VideoFrame, index: int, wall: datetime, stream_s: float
    ) -> None:
        # Consumers (the tracker, rules) need frame times that never go back,
        # whatever the stream clock's mapping did since the last frame.
        if self._last_wall is not None and wall <= self._last_wall:
            wall = self._last_wall + timedelta(milliseconds=1)
        self._last_wall = wall
        image = frame.to_ndarray(format="bgr24")
        item = Frame(self.camera.name, index, wall, image, stream_s)
        for queue in self._queues:
            queue.put(item)


def _shift(packet: av.packet.Packet, seconds: float, tb: float) -> None:
    offset = round(seconds / tb)
    if packet.pts is not None:
        packet.pts += offset
    if packet.dts is not None:
        packet.dts += offset
