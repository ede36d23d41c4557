"""The live view: each camera's latest analysed frame, drawn and JPEG-encoded."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

import cv2
import numpy as np

from watchfloor.pipeline import FrameResult
from watchfloor.rules.drawing import draw_box, draw_shape
from watchfloor.rules.evaluator import RuleSet

# BGR colours, readable on both daylight and night footage.
_ZONE_COLOUR = (0, 200, 255)
_LINE_COLOUR = (255, 160, 0)
_TRACK_COLOUR = (80, 255, 80)
_LOST_COLOUR = (160, 160, 160)


@dataclass(frozen=True)
class LiveFrame:
    """One camera's latest analysed frame as a JPEG.

    Attributes:
        camera: The camera's name.
        sequence: Counts the camera's analysed frames; a new number is a new
            picture.
        time: The frame's wall-clock capture time.
        jpeg: The picture with tracked boxes, zones and lines drawn.
    """

    camera: str
    sequence: int
    time: datetime
    jpeg: bytes


@dataclass
class _Latest:
    result: FrameResult
    sequence: int
    encoded: LiveFrame | None = None
    encoded_at: float = 0.0


class LiveViewKeeper:
    """An analysis result consumer that keeps each camera's latest frame.

    It only keeps a reference to the frame as it passes; drawing and JPEG
    encoding happen when someone asks for the picture (:meth:`latest`), at
    most ``max_fps`` times a second per camera however many ask, so a camera
    that nobody watches costs nothing.

    Args:
        rules: The zones and lines to draw; replace them with :meth:`set_rules`.
        max_fps: The most pictures a second encoded per camera.
        quality: JPEG quality, 1..100.

    Example:
        >>> keeper = LiveViewKeeper(RuleSet.from_site(site))  # doctest: +SKIP
        >>> engine.analysis.sinks["gate"].append(keeper)  # doctest: +SKIP
        >>> keeper.latest("gate").jpeg[:2]  # doctest: +SKIP
        b'\\xff\\xd8'
    """

    def __init__(
        self, rules: RuleSet | None = None, max_fps: float = 5.0, quality: int = 75
    ) -> None:
        self.max_fps = max_fps
        self.quality = quality
        self._rules = rules or RuleSet()
        self._latest: dict[str, _Latest] = {}
        self._lock = threading.Lock()

    def __call__(self, result: FrameResult) -> None:
        camera = result.frame.camera
        with self._lock:
            previous = self._latest.get(camera)
            sequence = previous.sequence + 1 if previous else 1
            self._latest[camera] = _Latest(result, sequence)
            if previous is not None:
                # Keep the last encoded picture until a newer one is made.
                self._latest[camera].encoded = previous.encoded
                self._latest[camera].encoded_at = previous.encoded_at

    def set_rules(self, rules: RuleSet) -> None:
        """Draw these zones and lines from the next picture on."""
        with self._lock:
            self._rules = rules

    def latest(self, camera: str) -> LiveFrame | None:
        """The camera's latest picture; None before its first analysed frame."""
        with self._lock:
            latest = self._latest.get(camera)
            if latest is None:
                return None
            encoded = latest.encoded
            due = time.monotonic() - latest.encoded_at >= 1.0 / self.max_fps
            if encoded is not None and (encoded.sequence == latest.sequence or not due):
                return encoded
            rules = self._rules
        # Draw and encode outside the lock, so analysis never waits on it.
        picture = draw_live_picture(latest.result, rules)
        ok, data = cv2.imencode(
            ".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, self.quality]
        )
        if not ok:
            return encoded
        frame = LiveFrame(
            camera, latest.sequence, latest.result.frame.time, bytes(data)
        )
        with self._lock:
            current = self._latest.get(camera)
            if current is not None and (
                current.encoded is None or current.encoded.sequence < frame.sequence
            ):
                current.encoded = frame
                current.encoded_at = time.monotonic()
        return frame


def draw_live_picture(result: FrameResult, rules: RuleSet) -> np.ndarray:
    """The frame with the camera's zones, lines and tracked boxes drawn on a copy."""
    picture = result.frame.image.copy()
    camera = result.frame.camera
    for zone in rules.zones:
        if zone.camera == camera:
            draw_shape(picture, zone.polygon, True, _ZONE_COLOUR)
    for line in rules.lines:
        if line.camera == camera:
            draw_shape(picture, line.points, False, _LINE_COLOUR)

    for track, colour in [
        *((t, _TRACK_COLOUR) for t in result.update.tracks),
        *((t, _LOST_COLOUR) for t in result.update.lost_tracks),
    ]:
        draw_box(picture, track.box, f"{track.track_id} {track.label}", colour)
    return picture
