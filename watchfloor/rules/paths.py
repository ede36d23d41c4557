"""An alerted track's path as its alert stores it (the path itself is a
:class:`~watchfloor.tracking.paths.FootPath`)."""

from __future__ import annotations

import json
from datetime import datetime

from watchfloor.tracking.paths import PathPoint


def path_json(points: list[PathPoint], start: datetime) -> str:
    """A path as stored with its alert: JSON ``[[seconds, x, y], ...]``.

    Seconds count from the alert's ``start`` (negative before it, where the
    track was before the alert began); times are kept to the millisecond and
    coordinates to four decimals (a tenth of a pixel on a 1000-pixel picture).
    """
    origin = start.timestamp()
    rows = [[round(t - origin, 3), round(x, 4), round(y, 4)] for t, x, y in points]
    return json.dumps(rows, separators=(",", ":"))


def path_rows(stored: str | None) -> list[list[float]]:
    """A stored path as ``[[seconds, x, y], ...]``; empty when none was stored."""
    if not stored:
        return []
    rows = json.loads(stored)
    return [[float(t), float(x), float(y)] for t, x, y in rows]
