"""Helpers of the tracking tests: finding the labelled footage and making boxes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from watchfloor.detection.base import Detection


def data_dir() -> Path:
    """The labelled footage: $WATCHFLOOR_TEST_DATA or ../shared/data."""
    env = os.environ.get("WATCHFLOOR_TEST_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def sequence_folder(name: str) -> Path:
    """A labelled sequence's folder; skips the test when it is absent."""
    folder = data_dir() / name
    if (
        not (folder / "gt" / "gt.txt").is_file()
        or not (folder / "seqinfo.ini").is_file()
    ):
        pytest.skip(f"labelled footage not found at {folder}; set WATCHFLOOR_TEST_DATA")
    return folder


def person(
    x: float, y: float, w: float = 40.0, h: float = 100.0, score: float = 0.9
) -> Detection:
    """A person detection whose top-left corner is at ``(x, y)``."""
    return Detection(box=(x, y, x + w, y + h), score=score, label="person")


def car(
    x: float, y: float, w: float = 120.0, h: float = 70.0, score: float = 0.9
) -> Detection:
    """A car detection whose top-left corner is at ``(x, y)``."""
    return Detection(box=(x, y, x + w, y + h), score=score, label="car")


BGR = {
    "black": (20, 20, 20),
    "white": (235, 235, 235),
    "grey": (128, 128, 128),
    "red": (30, 30, 200),
    "orange": (0, 128, 255),
    "yellow": (0, 220, 230),
    "green": (40, 160, 40),
    "blue": (200, 60, 10),
    "purple": (140, 30, 110),
    "pink": (203, 170, 255),
    "brown": (30, 60, 110),
}
"""A clear example of each colour name, as OpenCV stores pixels (blue, green, red)."""
