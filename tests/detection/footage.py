"""Finding and decoding the shared labelled footage for the detection tests."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """The labelled footage: $WATCHFLOOR_TEST_DATA, else ../shared/data."""
    env = os.environ.get("WATCHFLOOR_TEST_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def read_frames(video: Path, indices: list[int]) -> dict[int, np.ndarray]:
    """Decode the frames of a video at the given indices (counted from 0)."""
    wanted = set(indices)
    frames: dict[int, np.ndarray] = {}
    capture = cv2.VideoCapture(str(video))
    try:
        index = 0
        while len(frames) < len(wanted):
            ok, image = capture.read()
            if not ok:
                break
            if index in wanted:
                frames[index] = image
            index += 1
    finally:
        capture.release()
    assert len(frames) == len(wanted), f"{video} has fewer frames than asked"
    return frames
