"""Where the benchmarks find the labelled footage."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """The labelled footage: ``$WATCHFLOOR_TEST_DATA``, else ``shared/data``
    beside the repository."""
    env = os.environ.get("WATCHFLOOR_TEST_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "data"
