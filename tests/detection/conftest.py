"""Fixtures of the detection tests: labelled footage and the default model's weights."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.detection.footage import data_dir
from watchfloor.detection.catalogue import ModelFiles, load_files, pull


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "network: downloads from the package index (PyPI)"
    )


@pytest.fixture(scope="session")
def pets09() -> Path:
    """The PETS09-S2L1 sequence folder; skips the test when it is absent."""
    folder = data_dir() / "PETS09-S2L1"
    if not (folder / "video.avi").is_file() or not (folder / "gt" / "gt.txt").is_file():
        pytest.skip(f"labelled footage not found at {folder}; set WATCHFLOOR_TEST_DATA")
    return folder


@pytest.fixture(scope="session")
def yolov3_tiny() -> Iterator[ModelFiles]:
    """The catalogue's yolov3-tiny files, pulled into the default cache if missing."""
    yield load_files(pull("yolov3-tiny"))
