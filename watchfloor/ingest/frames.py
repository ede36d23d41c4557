"""Decoded frames as they leave a camera worker, stamped with wall-clock time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded picture from one camera.

    Attributes:
        camera: Name of the camera the frame came from.
        index: Position of the frame in its stream, counted from 0 at the start
            of the source (for a video file: the video's frame index).
        time: Wall-clock UTC time at which the frame was captured or received.
        image: The picture as a BGR ``uint8`` array of shape ``(h, w, 3)``.
        stream_time: Seconds since the start of the source by the stream's own
            time stamps, when it has them.
    """

    camera: str
    index: int
    time: datetime
    image: np.ndarray
    stream_time: float | None = None

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])
