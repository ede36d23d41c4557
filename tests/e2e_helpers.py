"""End-to-end test parts: a short PETS09 piece, its ground truth, live listeners."""

from __future__ import annotations

import contextlib
import hashlib
import json
import queue
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
import numpy as np
import paho.mqtt.client as mqtt
import uvicorn
from fastapi import FastAPI
from paho.mqtt.enums import CallbackAPIVersion
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.conftest import free_port
from watchfloor.notify.webhooks import EVENT_HEADER
from watchfloor.pipeline import FrameResult
from watchfloor.rules.geometry import Point, contains


def make_video_piece(
    source: Path, path: Path, first: int, last: int, gop_s: float = 1.0
) -> Path:
    """Write video frames ``first..last`` (inclusive, from 0) of ``source`` as MP4.

    The piece is H.264 at the source's frame rate, with a key frame every
    ``gop_s`` seconds exactly and no B-frames, as a camera sends it; served by
    the camera simulator it goes out by stream copy.
    """
    with av.open(str(source)) as reader:
        stream = reader.streams.video[0]
        rate = Fraction(stream.average_rate or stream.guessed_rate or 25)
        width, height = stream.codec_context.width, stream.codec_context.height
        gop = max(1, round(gop_s * rate))
        with av.open(str(path), mode="w") as writer:
            out = writer.add_stream("libx264", rate=rate)
            out.width, out.height = width, height
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


def picture_digest(image: np.ndarray) -> bytes:
    """A fingerprint of one decoded picture (a BGR array), equal only for equal ones."""
    return hashlib.blake2b(
        np.ascontiguousarray(image).tobytes(), digest_size=16
    ).digest()


def picture_digests(path: Path) -> list[bytes]:
    """The fingerprint of every picture of a video, decoded to BGR as cameras are.

    H.264 decoding is exact, so a picture decoded from the file and the same
    picture decoded after the simulator, the recorder and the clip cutter have
    stream-copied it have the same fingerprint.
    """
    with av.open(str(path)) as container:
        return [
            picture_digest(frame.to_ndarray(format="bgr24"))
            for frame in container.decode(video=0)
        ]


@dataclass(frozen=True)
class ZoneVisit:
    """One labelled person's stay inside a zone, in frames of a piece.

    Attributes:
        person: The ground truth's id of the person.
        first: Index in the piece of the first frame with the feet inside.
        last: Index of the last such frame of this stay.
    """

    person: int
    first: int
    last: int


def zone_visits(
    gt_file: Path,
    polygon: Sequence[Point],
    size: tuple[int, int],
    first: int,
    last: int,
) -> list[ZoneVisit]:
    """Stays of labelled people inside ``polygon`` during video frames first..last.

    Reads a MOTChallenge ``gt.txt`` (frame numbers from 1 = video index + 1);
    a person is inside when the bottom centre of their box is, as the rules
    decide. Frames are returned as indices into the piece (``first`` is 0).
    """
    width, height = size
    inside: dict[int, list[int]] = defaultdict(list)
    for line in gt_file.read_text().splitlines():
        fields = line.split(",")
        index = int(fields[0]) - 1
        if not first <= index <= last or float(fields[6]) == 0:
            continue
        left, top, w, h = (float(v) for v in fields[2:6])
        feet = ((left + w / 2) / width, (top + h) / height)
        if contains(polygon, feet):
            inside[int(fields[1])].append(index - first)
    visits: list[ZoneVisit] = []
    for person, frames in sorted(inside.items()):
        frames.sort()
        start = previous = frames[0]
        for index in frames[1:]:
            if index != previous + 1:
                visits.append(ZoneVisit(person, start, previous))
                start = index
            previous = index
        visits.append(ZoneVisit(person, start, previous))
    return visits


class ApiServer:
    """An application served by uvicorn on a thread, on a free port of 127.0.0.1."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                lifespan="off",
            )
        )
        self.thread = threading.Thread(
            target=self.server.run, name="api-server", daemon=True
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"uvicorn did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass(frozen=True)
class LiveMessage:
    """One WebSocket message and the ``time.time()`` it was received at."""

    data: dict[str, Any]
    received: float


class LiveListener:
    """A WebSocket client of ``/api/live`` that keeps every message, on a thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.messages: list[LiveMessage] = []
        self.hello: dict[str, Any] | None = None
        self.changed = threading.Condition()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._socket: ClientConnection | None = None
        self._thread = threading.Thread(target=self._run, name="live-client")

    def start(self, timeout: float = 5.0) -> dict[str, Any]:
        """Connect; returns the server's hello."""
        self._thread.start()
        if not self._ready.wait(timeout) or self.hello is None:
            raise RuntimeError(
                f"no hello from {self.url} within {timeout} s: {self._error!r}"
            )
        return self.hello

    def stop(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._thread.join(5)

    def alerts(self, change: str | None = None) -> list[LiveMessage]:
        """Alert messages so far, of one ``change`` when given."""
        with self.changed:
            return [
                m
                for m in self.messages
                if m.data.get("type") == "alert"
                and (change is None or m.data.get("change") == change)
            ]

    def _run(self) -> None:
        try:
            with connect(self.url, open_timeout=5) as socket:
                self._socket = socket
                self.hello = json.loads(socket.recv(timeout=5))
                self._ready.set()
                with contextlib.suppress(ConnectionClosed):
                    for text in socket:
                        received = time.time()
                        with self.changed:
                            self.messages.append(
                                LiveMessage(json.loads(text), received)
                            )
                            self.changed.notify_all()
        except Exception as exc:  # reported by start()
            self._error = exc
        finally:
            self._ready.set()


class MqttListener:
    """A plain MQTT subscriber that keeps what arrives on one topic filter."""

    def __init__(self, host: str, port: int, topic: str) -> None:
        self.messages: queue.Queue[tuple[str, bytes, float]] = queue.Queue()
        subscribed: queue.Queue[bool] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda client, *_: client.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: subscribed.put(True)
        self.client.on_message = lambda _c, _u, m: self.messages.put(
            (m.topic, bytes(m.payload), time.time())
        )
        self.client.connect(host, port)
        self.client.loop_start()
        subscribed.get(timeout=5)

    def drain(self) -> list[tuple[str, bytes, float]]:
        """Everything received so far: (topic, payload, receive time)."""
        got = []
        with contextlib.suppress(queue.Empty):
            while True:
                got.append(self.messages.get_nowait())
        return got

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@dataclass(frozen=True)
class Delivery:
    """One webhook request as received: raw body, headers, receive time."""

    headers: dict[str, str]
    body: bytes
    received: float


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1 that answers 200 and keeps every POST."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.changed:
                    receiver.deliveries.append(
                        Delivery(dict(self.headers), body, time.time())
                    )
                    receiver.changed.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="webhook-receiver",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def events(self, event: str) -> list[Delivery]:
        """Deliveries whose ``X-Watchfloor-Event`` header is ``event``."""
        with self.changed:
            return [d for d in self.deliveries if d.headers.get(EVENT_HEADER) == event]


@dataclass(frozen=True)
class AnalysedFrame:
    """A frame the analysis went through, placed in the served piece.

    Attributes:
        time: The frame's wall-clock time (an alert's ``start`` is one of these).
        piece_index: Which picture of the piece it is; None when unknown.
        passes: How many times the piece had restarted before it.
    """

    time: datetime
    piece_index: int | None
    passes: int


class FrameProbe:
    """An analysis result consumer that notes where in the piece each frame lies.

    Placed after a camera's alert recorder, it sees each frame once the rules
    have run on it, so when it has seen the piece restart, every alert of the
    first pass has been raised.
    """

    def __init__(self, digests: Sequence[bytes]) -> None:
        self._index = {digest: i for i, digest in enumerate(digests)}
        self.frames: list[AnalysedFrame] = []
        self._lock = threading.Lock()
        self._passes = 0
        self._last: int | None = None

    def __call__(self, result: FrameResult) -> None:
        index = self._index.get(picture_digest(result.frame.image))
        with self._lock:
            if index is not None:
                if self._last is not None and index < self._last:
                    self._passes += 1
                self._last = index
            self.frames.append(AnalysedFrame(result.frame.time, index, self._passes))

    def snapshot(self) -> list[AnalysedFrame]:
        with self._lock:
            return list(self.frames)

    @property
    def restarted(self) -> bool:
        """Whether a frame of the piece's second pass has been analysed."""
        with self._lock:
            return self._passes > 0

    def at(self, when: datetime) -> AnalysedFrame | None:
        """The analysed frame of time ``when``."""
        return next((f for f in self.snapshot() if f.time == when), None)


def wait_for(condition: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    """Poll ``condition()`` until it holds or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def broker_reachable(host: str, port: int) -> bool:
    """Whether something accepts TCP connections at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False
