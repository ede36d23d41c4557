"""The detector interface that every backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class Detection:
    """One box in one frame.

    Attributes:
        box: ``(x1, y1, x2, y2)`` in pixels of the frame given to the detector.
        score: Confidence in ``[0, 1]``.
        label: Object class name, such as ``"person"`` or ``"car"``.
    """

    box: tuple[float, float, float, float]
    score: float
    label: str


class Detector(Protocol):
    """A loaded model that turns BGR frames into detections.

    A detector is loaded once per process and shared by all cameras; ``detect``
    takes a batch so that backends able to batch can do so.
    """

    name: str
    labels: Sequence[str]

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Detect objects in each BGR ``uint8`` image of the batch."""
        ...
