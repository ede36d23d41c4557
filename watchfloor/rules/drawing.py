"""Zones, lines and boxes drawn on a picture, for snapshots and the live view."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

Box = tuple[float, float, float, float]


def draw_shape(
    picture: np.ndarray,
    points: Sequence[tuple[float, float]],
    closed: bool,
    colour: tuple[int, int, int],
) -> None:
    """Draw a zone (``closed``) or a line given in normalised coordinates."""
    height, width = picture.shape[:2]
    pixels = np.array(
        [(round(x * width), round(y * height)) for x, y in points], np.int32
    )
    cv2.polylines(picture, [pixels], closed, colour, 2)


def draw_box(
    picture: np.ndarray, box: Box, caption: str, colour: tuple[int, int, int]
) -> None:
    """Draw a box in pixels with its caption above it."""
    x1, y1, x2, y2 = (round(v) for v in box)
    cv2.rectangle(picture, (x1, y1), (x2, y2), colour, 2)
    cv2.putText(
        picture,
        caption,
        (x1, max(y1 - 6, 12)),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.5,
        colour,
        1,
        cv2.LINE_AA,
    )
