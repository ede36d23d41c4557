"""Fixtures of the tracking tests: the labelled sequences."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tracking.scenes import sequence_folder


@pytest.fixture(scope="session")
def pets09() -> Path:
    """The PETS09-S2L1 sequence folder."""
    return sequence_folder("PETS09-S2L1")


@pytest.fixture(scope="session")
def tud_campus() -> Path:
    """The TUD-Campus sequence folder."""
    return sequence_folder("TUD-Campus")
