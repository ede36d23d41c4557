"""Camera simulator: serves video files as live H.264 RTSP streams, one per camera."""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import av
import av.bitstream
import gi
import numpy as np

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import (  # noqa: E402
    GLib,
    Gst,
    GstApp,  # noqa: F401  (registers the AppSrc class for push_buffer)
    GstRtspServer,
)

logger = logging.getLogger(__name__)

__all__ = [
    "CameraSimulator",
    "make_test_video",
    "parse_size",
    "parse_video_args",
    "read_frame_number",
    "serve",
]

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_NS = 1_000_000_000
# How much footage appsrc may hold while nobody drains it (a prepared media
# waiting for PLAY): older buffers are dropped instead of piling up.
_MAX_QUEUED_NS = 2 * _NS
# How far the pushing thread may fall behind real time before it says so.
_BEHIND_WARNING_NS = _NS
_FRAME_MARK_BITS = 16
_SESSION_SWEEP_S = 5


@dataclass(frozen=True, slots=True)
class _VideoInfo:
    """What the simulator needs to know about one video file."""

    path: Path
    codec: str
    width: int
    height: int
    rate: Fraction


@dataclass(frozen=True, slots=True)
class _StreamPlan:
    """How one camera's stream is produced from its video file."""

    name: str
    video: _VideoInfo
    passthrough: bool
    width: int
    height: int
    rate: Fraction | None  # output frame rate when retimed, else the file's timing
    gop_frames: int

    @property
    def caps(self) -> str:
        rate = self.rate if self.rate is not None else self.video.rate
        framerate = f"{rate.numerator}/{rate.denominator}"
        if self.passthrough:
            return (
                "video/x-h264,stream-format=byte-stream,alignment=au,"
                f"width={self.width},height={self.height},framerate={framerate}"
            )
        return (
            f"video/x-raw,format=I420,width={self.width},height={self.height},"
            f"framerate={framerate}"
        )

    @property
    def launch(self) -> str:
        source = (
            "appsrc name=src is-live=true format=time do-timestamp=false "
            f"leaky-type=downstream max-bytes=0 max-buffers=0 max-time={_MAX_QUEUED_NS}"
        )
        # h264parse, not the payloader, repeats SPS and PPS before each key
        # frame: rtph264pay would put them before every slice of a key frame,
        # and FFmpeg then splits a many-slice frame into broken pictures.
        payloader = "h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96"
        if self.passthrough:
            return f"( {source} ! {payloader} )"
        rate = self.rate if self.rate is not None else self.video.rate
        # 0.2 bit per pixel keeps x264's ultrafast output near 35 dB PSNR,
        # close enough to the source for detection to behave as on the file.
        bits_per_second = self.width * self.height * float(rate) * 0.2
        bitrate_kbps = max(256, int(bits_per_second / 1000))
        encoder = (
            "x264enc tune=zerolatency speed-preset=ultrafast "
            f"key-int-max={self.gop_frames} bitrate={bitrate_kbps}"
        )
        return f"( {source} ! {encoder} ! {payloader} )"


@dataclass(frozen=True, slots=True)
class _Chunk:
    """One buffer for appsrc, with times counted from the start of the stream."""

    dts_ns: int
    pts_ns: int
    duration_ns: int
    data: bytes
    key: bool


def _to_ns(value: Fraction | int | float) -> int:
    return round(Fraction(value) * _NS)


def _probe_video(path: Path) -> _VideoInfo:
    """Open a video file once to learn its codec, size and frame rate."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ValueError(
                    f"video file {path} has no video stream; expected a file with "
                    "one video stream (MP4, AVI, MKV, ...)"
                )
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or Fraction(25)
            return _VideoInfo(
                path=path,
                codec=stream.codec_context.name,
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                rate=Fraction(rate),
            )
    except av.FFmpegError as error:
        raise ValueError(
            f"cannot read video file {path}: {error}; expected a video file that "
            "FFmpeg can decode"
        ) from error


def _fps_fraction(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001)


def _plan_stream(
    name: str,
    video: _VideoInfo,
    size: tuple[int, int] | None,
    fps: float | None,
    gop_s: float,
) -> _StreamPlan:
    """Decide between stream copy and re-encoding for one camera."""
    resize = size is not None and size != (video.width, video.height)
    retime = fps is not None and _fps_fraction(fps) != video.rate
    passthrough = video.codec == "h264" and not resize and not retime
    if passthrough:
        return _StreamPlan(
            name=name,
            video=video,
            passthrough=True,
            width=video.width,
            height=video.height,
            rate=None,
            gop_frames=0,
        )
    # 4:2:0 chroma needs even dimensions.
    width, height = size if size is not None else (video.width, video.height)
    width, height = width - width % 2, height - height % 2
    rate = _fps_fraction(fps) if retime and fps is not None else None
    gop_frames = max(1, round(gop_s * float(rate if rate is not None else video.rate)))
    return _StreamPlan(
        name=name,
        video=video,
        passthrough=False,
        width=width,
        height=height,
        rate=rate,
        gop_frames=gop_frames,
    )


def _looped_frames(path: Path, camera: str) -> Iterator[tuple[int, av.VideoFrame]]:
    """Decode a video file forever, restarting at its end.

    Yields:
        ``(time_ns, frame)`` where the time starts at 0 and keeps increasing
        across restarts: each pass is shifted by the length of the one before.
    """
    offset = 0
    while True:
        first: int | None = None
        last: int | None = None
        frame_ns = _NS // 25
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or Fraction(25)
            frame_ns = _to_ns(1 / Fraction(rate))
            for index, frame in enumerate(container.decode(stream)):
                if frame.pts is not None and stream.time_base is not None:
                    t = _to_ns(frame.pts * stream.time_base)
                else:
                    t = index * frame_ns
                if first is None:
                    first = t
                if last is not None and t <= last:
                    continue  # a repeated or reordered time stamp: keep time rising
                last = t
                yield offset + t - first, frame
        if first is None or last is None:
            raise RuntimeError(f"video file {path} has no decodable frames")
        offset += last - first + frame_ns
        logger.debug("camera %s: video %s looped", camera, path)


def _retimed(
    frames: Iterator[tuple[int, av.VideoFrame]], rate: Fraction
) -> Iterator[tuple[int, av.VideoFrame]]:
    """Resample timed frames to a fixed rate, repeating or skipping frames."""
    current = next(frames)
    upcoming = next(frames)
    index = 0
    while True:
        t = _to_ns(Fraction(index) / rate)
        while upcoming[0] <= t:
            current, upcoming = upcoming, next(frames)
        yield t, current[1]
        index += 1


def _raw_chunks(plan: _StreamPlan) -> Iterator[_Chunk]:
    """I420 pictures of the plan's size, timed by the file or by the new rate."""
    frames = _looped_frames(plan.video.path, plan.name)
    rate = plan.rate if plan.rate is not None else plan.video.rate
    if plan.rate is not None:
        frames = _retimed(frames, plan.rate)
    duration = _to_ns(1 / rate)
    converted: tuple[av.VideoFrame, bytes] | None = None
    for t, frame in frames:
        if converted is None or converted[0] is not frame:
            picture = frame.reformat(
                width=plan.width, height=plan.height, format="yuv420p"
            )
            converted = (frame, picture.to_ndarray().tobytes())
        yield _Chunk(t, t, duration, converted[1], True)


def _h264_chunks(plan: _StreamPlan) -> Iterator[_Chunk]:
    """The file's H.264 access units in Annex-B form, looped with rising times."""
    offset = 0
    while True:
        start: int | None = None
        end: int | None = None
        with av.open(str(plan.video.path)) as container:
            stream = container.streams.video[0]
            time_base = stream.time_base or Fraction(1, 90000)
            rate = stream.average_rate or stream.guessed_rate or Fraction(25)
            frame_ticks = max(1, round(1 / (Fraction(rate) * time_base)))
            annexb = av.bitstream.BitStreamFilterContext(
                "h264_mp4toannexb", in_stream=stream
            )
            index = 0
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                for unit in annexb.filter(packet):
                    pts = unit.pts if unit.pts is not None else unit.dts
                    dts = unit.dts if unit.dts is not None else unit.pts
                    if pts is None or dts is None:
                        pts = dts = index * frame_ticks
                    duration = unit.duration or frame_ticks
                    if start is None:
                        start = min(pts, dts)
                    end = pts + duration if end is None else max(end, pts + duration)
                    index += 1
                    yield _Chunk(
                        dts_ns=offset + _to_ns((dts - start) * time_base),
                        pts_ns=offset + _to_ns((pts - start) * time_base),
                        duration_ns=_to_ns(duration * time_base),
                        data=bytes(unit),
                        key=unit.is_keyframe,
                    )
        if start is None or end is None:
            raise RuntimeError(f"video file {plan.video.path} has no video packets")
        offset += _to_ns((end - start) * time_base)
        logger.debug("camera %s: video %s looped", plan.name, plan.video.path)


class _StreamFeeder:
    """Pushes one camera's footage into one media's appsrc at real-time pace."""

    def __init__(self, plan: _StreamPlan, appsrc: Any) -> None:
        self._plan = plan
        self._appsrc = appsrc
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"camera-{plan.name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _wait_until_playing(self) -> int | None:
        """Wait for the pipeline to run; return its running time in ns.

        Returns:
            The running time, or ``None`` when stopped before the pipeline ran.
        """
        while not self._stopping.is_set():
            _, state, _ = self._appsrc.get_state(0)
            clock = self._appsrc.get_clock()
            if state == Gst.State.PLAYING and clock is not None:
                running = clock.get_time() - self._appsrc.get_base_time()
                return max(0, int(running))
            self._stopping.wait(0.005)
        return None

    def _run(self) -> None:
        try:
            self._push_forever()
        except Exception:
            logger.exception("camera %s: stream stopped on an error", self._plan.name)
            self._appsrc.end_of_stream()

    def _push_forever(self) -> None:
        # Buffers carry the pipeline's running time, so that the stream's
        # time stamps advance with the clock; pacing uses the same clock
        # through time.monotonic_ns (both are CLOCK_MONOTONIC).
        running_start = self._wait_until_playing()
        if running_start is None:
            return
        wall_start = time.monotonic_ns()
        chunks = (
            _h264_chunks(self._plan)
            if self._plan.passthrough
            else _raw_chunks(self._plan)
        )
        next_warning = 0
        for chunk in chunks:
            if self._stopping.is_set():
                return
            now = time.monotonic_ns()
            lag = now - (wall_start + chunk.dts_ns)
            if lag < 0 and self._stopping.wait(-lag / _NS):
                return
            if lag > _BEHIND_WARNING_NS and now >= next_warning:
                logger.warning(
                    "camera %s: stream is %.1f s behind real time; the machine "
                    "cannot keep up with this many cameras",
                    self._plan.name,
                    lag / _NS,
                )
                next_warning = now + 10 * _NS

            buffer = Gst.Buffer.new_wrapped(chunk.data)
            buffer.pts = running_start + chunk.pts_ns
            buffer.dts = running_start + chunk.dts_ns
            buffer.duration = chunk.duration_ns
            if not chunk.key:
                buffer.set_flags(Gst.BufferFlags.DELTA_UNIT)
            result = self._appsrc.push_buffer(buffer)
            if result != Gst.FlowReturn.OK:
                logger.debug(
                    "camera %s: appsrc refused a buffer (%s)", self._plan.name, result
                )
                return


class CameraSimulator:
    """Serves video files as live RTSP cameras, each looping forever.

    Each camera is reachable at ``rtsp://host:port/NAME`` and gives one H.264
    stream, paced to the file's frame rate, whose time stamps keep rising when
    the file restarts. All clients of one camera share one stream. An H.264
    file is sent as it is (stream copy, its own key frames) unless ``size`` or
    ``fps`` asks for a change; any other file is decoded and re-encoded with
    x264, with a key frame every ``gop_s`` seconds.

    The GLib main loop runs in a background thread between :meth:`start` and
    :meth:`stop`; the object is also a context manager.

    Args:
        videos: Camera name to video file. Names become URL paths and may hold
            letters, digits, ``_``, ``-`` and ``.``.
        port: TCP port of the RTSP server; 0 picks a free one (see :attr:`port`).
        host: Address to listen on.
        size: ``(width, height)`` to scale every stream to (re-encodes).
        fps: Frame rate to retime every stream to (re-encodes).
        gop_s: Seconds between key frames when re-encoding.

    Raises:
        ValueError: A name, file or option is not usable.

    Example:
        >>> with CameraSimulator({"gate": Path("gate.mp4")}, port=8554) as sim:
        ...     url = sim.url("gate")  # rtsp://127.0.0.1:8554/gate

    Limitations:
        A camera's stream starts at the beginning of its file when its first
        client connects and stops when its last client leaves, so a client
        that reconnects later sees the file from the start again. ``size``
        scales without keeping the aspect ratio. Re-encoding uses x264's
        ultrafast preset at about 0.2 bit per pixel (near 35 dB PSNR on the
        PETS09 footage), so a re-encoded stream is slightly softer than its
        file. Pass-through is tested with MP4 files; files without time
        stamps are timed by their frame rate. Audio is not served. When the
        machine cannot keep up, the stream falls behind real time (a warning
        is logged) instead of dropping frames.
    """

    def __init__(
        self,
        videos: Mapping[str, Path],
        port: int = 8554,
        host: str = "127.0.0.1",
        size: tuple[int, int] | None = None,
        fps: float | None = None,
        gop_s: float = 1.0,
    ) -> None:
        if not videos:
            raise ValueError("no cameras given; give at least one NAME=VIDEO pair")
        if not 0 <= port <= 65535:
            raise ValueError(f"port {port} is out of range; expected 0 to 65535")
        if size is not None:
            _check_size(size)
        if fps is not None and not 0 < fps <= 240:
            raise ValueError(f"fps {fps} is out of range; expected 0 < fps <= 240")
        if not gop_s > 0:
            raise ValueError(f"gop_s {gop_s} must be positive (seconds between keys)")
        for name in videos:
            _check_name(name)

        self._host = host
        self._port = port
        self._plans = {
            name: _plan_stream(name, _probe_video(Path(path)), size, fps, gop_s)
            for name, path in videos.items()
        }
        self._lock = threading.Lock()
        self._feeders: list[_StreamFeeder] = []
        self._medias: list[Any] = []
        self._server: Any = None
        self._source: Any = None
        self._sweeper: Any = None
        self._context: Any = None
        self._loop: Any = None
        self._thread: threading.Thread | None = None
        self._bound_port: int | None = None

    @property
    def cameras(self) -> list[str]:
        """Names of the simulated cameras."""
        return list(self._plans)

    @property
    def port(self) -> int:
        """The port the server listens on (the chosen one when started with 0)."""
        return self._bound_port if self._bound_port is not None else self._port

    @property
    def running(self) -> bool:
        """Whether the server is started."""
        return self._thread is not None

    def passthrough(self, name: str) -> bool:
        """Whether camera ``name`` sends its file's H.264 without re-encoding."""
        return self._plan(name).passthrough

    def url(self, name: str) -> str:
        """The RTSP URL of camera ``name``."""
        self._plan(name)
        return f"rtsp://{self._host}:{self.port}/{name}"

    def start(self) -> None:
        """Start listening and serving in a background thread.

        Raises:
            RuntimeError: The simulator is already running.
            OSError: The server cannot listen on the host and port.
        """
        if self._thread is not None:
            raise RuntimeError("camera simulator is already running; stop it first")
        if not Gst.is_initialized():
            Gst.init(None)

        context = GLib.MainContext.new()
        server = GstRtspServer.RTSPServer.new()
        server.set_address(self._host)
        server.set_service(str(self._port))
        mounts = server.get_mount_points()
        for name, plan in self._plans.items():
            factory = GstRtspServer.RTSPMediaFactory.new()
            factory.set_launch(plan.launch)
            factory.set_shared(True)
            factory.connect("media-configure", self._on_media_configure, plan)
            mounts.add_factory(f"/{name}", factory)
        server.connect("client-connected", self._on_client_connected)
        try:
            source = server.create_source(None)
        except GLib.Error as error:
            raise OSError(
                f"cannot serve RTSP on {self._host}:{self._port}: {error.message}; "
                "choose a free port or stop whatever listens there"
            ) from error
        source.attach(context)
        # Sessions of clients that vanished without a TEARDOWN (UDP clients
        # that were killed) expire only when the pool is swept.
        pool = server.get_session_pool()
        sweeper = GLib.timeout_source_new_seconds(_SESSION_SWEEP_S)
        sweeper.set_callback(lambda *_: pool.cleanup() >= 0)
        sweeper.attach(context)

        self._server = server
        self._sweeper = sweeper
        self._source = source
        self._context = context
        self._bound_port = server.get_bound_port()
        self._loop = GLib.MainLoop(context)
        self._thread = threading.Thread(
            target=self._run_loop, name=f"rtsp-server-{self.port}", daemon=True
        )
        self._thread.start()
        logger.info(
            "camera simulator serving %d camera(s) on rtsp://%s:%d/",
            len(self._plans),
            self._host,
            self.port,
        )

    def stop(self) -> None:
        """Disconnect every client, stop every stream and close the port."""
        thread = self._thread
        if thread is None:
            return
        finished = threading.Event()

        def shut_down() -> bool:
            try:
                self._shut_down_in_loop()
            finally:
                finished.set()
                self._loop.quit()
            return False

        idle = GLib.idle_source_new()
        idle.set_callback(lambda *_: shut_down())
        idle.attach(self._context)
        thread.join(10.0)
        with self._lock:
            feeders = list(self._feeders)
            self._feeders.clear()
        for feeder in feeders:
            feeder.stop()
        for feeder in feeders:
            feeder.join(5.0)
        self._thread = None
        self._server = None
        self._source = None
        self._sweeper = None
        self._loop = None
        self._context = None
        logger.info("camera simulator on port %d stopped", self.port)

    def __enter__(self) -> CameraSimulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _plan(self, name: str) -> _StreamPlan:
        try:
            return self._plans[name]
        except KeyError:
            known = ", ".join(sorted(self._plans))
            raise ValueError(
                f"no camera named {name!r}; the simulator has: {known}"
            ) from None

    def _run_loop(self) -> None:
        self._context.push_thread_default()
        try:
            self._loop.run()
        finally:
            self._context.pop_thread_default()

    def _shut_down_in_loop(self) -> None:
        remove = GstRtspServer.RTSPFilterResult.REMOVE
        self._server.client_filter(lambda _server, _client: remove)
        self._server.get_session_pool().filter(lambda _pool, _session: remove)
        with self._lock:
            medias = list(self._medias)
            self._medias.clear()
            for feeder in self._feeders:
                feeder.stop()
        for media in medias:
            media.unprepare()
        self._sweeper.destroy()
        self._source.destroy()

    def _on_client_connected(self, _server: Any, client: Any) -> None:
        connection = client.get_connection()
        address = connection.get_ip() if connection is not None else "?"
        logger.debug("camera simulator: client connected from %s", address)
        client.connect(
            "closed",
            lambda _client: logger.debug(
                "camera simulator: client from %s left", address
            ),
        )

    def _on_media_configure(self, _factory: Any, media: Any, plan: _StreamPlan) -> None:
        appsrc = media.get_element().get_by_name("src")
        appsrc.set_caps(Gst.Caps.from_string(plan.caps))
        feeder = _StreamFeeder(plan, appsrc)
        with self._lock:
            self._feeders = [f for f in self._feeders if f.alive]
            self._feeders.append(feeder)
            self._medias.append(media)

        def unprepared(_media: Any) -> None:
            feeder.stop()
            with self._lock:
                if media in self._medias:
                    self._medias.remove(media)
            logger.debug("camera %s: stream stopped (no clients)", plan.name)

        media.connect("unprepared", unprepared)
        feeder.start()
        logger.debug(
            "camera %s: stream started (%s)",
            plan.name,
            "H.264 stream copy" if plan.passthrough else "re-encoded",
        )


def _check_name(name: str) -> None:
    if not _NAME_PATTERN.match(name):
        raise ValueError(
            f"camera name {name!r} is not usable in a URL; use letters, digits, "
            "'_', '-' and '.', starting with a letter or digit"
        )


def _check_size(size: tuple[int, int]) -> None:
    width, height = size
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError(
            f"size {width}x{height} is not usable; width and height must be "
            "positive even numbers, e.g. 1280x720"
        )


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``"WIDTHxHEIGHT"`` (e.g. ``"1280x720"``) into a size.

    Raises:
        ValueError: The text is not two positive even numbers joined by ``x``.
    """
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if match is None:
        raise ValueError(f"size {text!r} is not WIDTHxHEIGHT, e.g. 1280x720")
    size = (int(match.group(1)), int(match.group(2)))
    _check_size(size)
    return size


def parse_video_args(args: Sequence[str]) -> dict[str, Path]:
    """Parse ``NAME=VIDEO`` command-line arguments into camera names and files.

    Args:
        args: Arguments such as ``["gate=footage/gate.mp4", "dock=dock.avi"]``.

    Returns:
        Camera name to video path, in the order given.

    Raises:
        ValueError: An argument is not ``NAME=VIDEO``, a name is not usable in
            a URL or given twice, or a file does not exist.
    """
    if not args:
        raise ValueError("no cameras given; give at least one NAME=VIDEO pair")
    videos: dict[str, Path] = {}
    for arg in args:
        name, sep, video = arg.partition("=")
        if not sep or not name or not video:
            raise ValueError(
                f"camera argument {arg!r} is not NAME=VIDEO, e.g. gate=gate.mp4"
            )
        _check_name(name)
        if name in videos:
            raise ValueError(
                f"camera name {name!r} is given twice; each camera needs its own name"
            )
        path = Path(video).expanduser()
        if not path.is_file():
            raise ValueError(
                f"video file {video!r} for camera {name!r} does not exist or is not "
                "a file"
            )
        videos[name] = path
    return videos


def serve(
    videos: Mapping[str, Path],
    port: int = 8554,
    host: str = "127.0.0.1",
    size: tuple[int, int] | None = None,
    fps: float | None = None,
    gop_s: float = 1.0,
    on_ready: Callable[[CameraSimulator], None] | None = None,
) -> None:
    """Run a camera simulator until SIGINT or SIGTERM.

    Must be called from the main thread (it installs signal handlers, and
    puts the previous ones back on return).

    Args:
        videos: Camera name to video file.
        port: TCP port of the RTSP server.
        host: Address to listen on.
        size: ``(width, height)`` to scale every stream to (re-encodes).
        fps: Frame rate to retime every stream to (re-encodes).
        gop_s: Seconds between key frames when re-encoding.
        on_ready: Called with the running simulator once it listens.

    Raises:
        ValueError: A name, file or option is not usable.
        OSError: The server cannot listen on the host and port.
    """
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("camera simulator: %s received, stopping", signal.strsignal(signum))
        stopping.set()

    previous = {
        sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        with CameraSimulator(
            videos, port=port, host=host, size=size, fps=fps, gop_s=gop_s
        ) as simulator:
            for name in simulator.cameras:
                logger.info("camera %s at %s", name, simulator.url(name))
            if on_ready is not None:
                on_ready(simulator)
            # A short timeout: the signal may be delivered to another thread,
            # and only the main thread runs Python signal handlers.
            while not stopping.wait(0.2):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _frame_mark_block(width: int) -> int:
    return max(8, width // (2 * _FRAME_MARK_BITS))


def _generated_frames(size: tuple[int, int], fps: Fraction) -> Iterator[np.ndarray]:
    """Moving shapes over a gradient, with the frame number drawn as bits."""
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width]
    background = np.empty((height, width, 3), dtype=np.uint8)
    background[..., 0] = (40 + 80 * xs / max(1, width - 1)).astype(np.uint8)
    background[..., 1] = (60 + 60 * ys / max(1, height - 1)).astype(np.uint8)
    background[..., 2] = 90
    block = _frame_mark_block(width)
    shapes = [
        # (colour, box width and height as a fraction of the frame, speed in
        # frame widths per second, vertical position)
        ((220, 60, 60), 0.05, 0.18, 0.12, 0.55),
        ((60, 200, 70), 0.04, 0.15, -0.08, 0.35),
        ((240, 220, 50), 0.10, 0.08, 0.05, 0.80),
    ]
    index = 0
    while True:
        image = background.copy()
        t = index / float(fps)
        for colour, box_w, box_h, speed, row in shapes:
            w, h = max(2, int(box_w * width)), max(2, int(box_h * height))
            span = width + w
            x = int((t * speed * width) % span) - w
            y = int(row * height) - h // 2
            x0, x1 = max(0, x), min(width, x + w)
            y0, y1 = max(0, y), min(height, y + h)
            if x1 > x0 and y1 > y0:
                image[y0:y1, x0:x1] = colour
        image[: block + 2 * (block // 4), : _FRAME_MARK_BITS * block] = 128
        for bit in range(_FRAME_MARK_BITS):
            value = 255 if (index >> bit) & 1 else 0
            x0 = bit * block
            image[block // 4 : block // 4 + block, x0 : x0 + block] = value
        yield image
        index += 1


def read_frame_number(image: np.ndarray) -> int:
    """Read the frame number drawn into a frame of a generated test video.

    Only for videos that :func:`make_test_video` generated (``source=None``),
    at any size they were scaled to. Counts wrap at 65536.

    Args:
        image: The decoded picture, ``(h, w)`` grey or ``(h, w, 3)`` colour.

    Returns:
        The index of the frame in the generated video, from 0.
    """
    grey = image.mean(axis=2) if image.ndim == 3 else image.astype(np.float64)
    block = _frame_mark_block(grey.shape[1])
    y0 = block // 4 + block // 4
    y1 = block // 4 + block - block // 4
    number = 0
    for bit in range(_FRAME_MARK_BITS):
        x0 = bit * block + block // 4
        x1 = bit * block + block - block // 4
        if float(grey[y0:y1, x0:x1].mean()) > 128:
            number |= 1 << bit
    return number


def make_test_video(
    path: Path,
    seconds: float,
    size: tuple[int, int] = (1280, 720),
    fps: float = 25,
    gop_s: float = 1.0,
    source: Path | None = None,
) -> Path:
    """Write an H.264 MP4 for tests and benchmarks.

    The picture is either generated (shapes moving over a gradient, with the
    frame number drawn at the top left, readable with
    :func:`read_frame_number`) or taken from ``source``, scaled to ``size``,
    retimed to ``fps`` and looped until ``seconds`` are filled. Key frames
    come every ``gop_s`` seconds exactly, with no B-frames, as from a camera.

    Args:
        path: Where to write the file (``.mp4``; other containers FFmpeg
            knows by their suffix also work).
        seconds: Length of the video.
        size: ``(width, height)``, positive even numbers.
        fps: Frame rate.
        gop_s: Seconds between key frames.
        source: A video to take the pictures from; generated when ``None``.

    Returns:
        ``path``.

    Raises:
        ValueError: An option is out of range or ``source`` cannot be read.

    Example:
        >>> make_test_video(Path("gate.mp4"), seconds=10, size=(1280, 720))
    """
    _check_size(size)
    if not seconds > 0:
        raise ValueError(f"seconds {seconds} must be positive")
    if not 0 < fps <= 240:
        raise ValueError(f"fps {fps} is out of range; expected 0 < fps <= 240")
    if not gop_s > 0:
        raise ValueError(f"gop_s {gop_s} must be positive (seconds between keys)")
    rate = _fps_fraction(fps)
    count = max(1, round(seconds * float(rate)))
    gop = max(1, round(gop_s * float(rate)))
    width, height = size

    pictures: Iterator[av.VideoFrame]
    if source is None:
        pictures = (
            av.VideoFrame.from_ndarray(image, format="rgb24")
            for image in _generated_frames(size, rate)
        )
    else:
        _probe_video(Path(source))
        looped = _looped_frames(Path(source), camera=Path(source).stem)
        pictures = (frame for _, frame in _retimed(looped, rate))

    path = Path(path)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {
            "preset": "ultrafast",
            "crf": "23",
            "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0",
        }
        for index in range(count):
            picture = next(pictures).reformat(
                width=width, height=height, format="yuv420p"
            )
            picture.pts = index
            picture.time_base = 1 / rate
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m watchfloor.ingest.simulator NAME=VIDEO ...``."""
    parser = argparse.ArgumentParser(
        prog="python -m watchfloor.ingest.simulator",
        description="Serve video files as live H.264 RTSP cameras, looping forever.",
    )
    parser.add_argument(
        "videos", nargs="+", metavar="NAME=VIDEO", help="camera name and video file"
    )
    parser.add_argument("--port", type=int, default=8554, help="RTSP port")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--size", help="scale every stream to WIDTHxHEIGHT")
    parser.add_argument("--fps", type=float, help="retime every stream to FPS")
    parser.add_argument(
        "--gop",
        type=float,
        default=1.0,
        help="seconds between key frames when re-encoding",
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, ...")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        videos = parse_video_args(args.videos)
        size = parse_size(args.size) if args.size else None
    except ValueError as error:
        parser.error(str(error))

    def announce(simulator: CameraSimulator) -> None:
        for name in simulator.cameras:
            print(f"{name} {simulator.url(name)}", flush=True)

    try:
        serve(
            videos,
            port=args.port,
            host=args.host,
            size=size,
            fps=args.fps,
            gop_s=args.gop,
            on_ready=announce,
        )
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    # Run the imported module's main, so that log records carry the module's
    # real name rather than "__main__".
    from watchfloor.ingest.simulator import main as _main

    sys.exit(_main())
