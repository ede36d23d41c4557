"""Where an alerted track's feet went: a thinned, capped path kept with its alert."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

PATH_EVERY_S = 0.25
"""Least seconds between two kept points of a path: four points a second
draw a walk smoothly and keep a minute of it small."""

PATH_MAX_POINTS = 600
"""Most points a path keeps. A longer path keeps every other point and
doubles its spacing, so it still runs from the track's first frame to its
latest, only coarser."""

PathPoint = tuple[float, float, float]
"""``(seconds, x, y)``: the time, and the feet in normalised picture coordinates."""


@dataclass
class FootPath:
    """The feet (bottom centre of the box) of one track, frame after frame.

    Points closer in time than the spacing are not kept, except the latest,
    which is always the path's last point.

    Example:
        >>> path = FootPath()
        >>> for step in range(5):
        ...     path.add(100.0 + step * 0.1, 0.1 * step, 0.5)
        >>> [round(t, 1) for t, _, _ in path.points()]
        [100.0, 100.3, 100.4]
    """

    every_s: float = PATH_EVERY_S
    max_points: int = PATH_MAX_POINTS
    _kept: list[PathPoint] = field(default_factory=list)
    _latest: PathPoint | None = None

    def add(self, time_s: float, x: float, y: float) -> None:
        """Take the feet at ``(x, y)`` at POSIX time ``time_s`` (in time order)."""
        point = (time_s, min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0))
        self._latest = point
        if self._kept and time_s - self._kept[-1][0] < self.every_s:
            return
        self._kept.append(point)
        if len(self._kept) >= self.max_points:
            self._kept = self._kept[::2]
            self.every_s *= 2

    def add_box(
        self,
        time_s: float,
        box: tuple[float, float, float, float],
        size: tuple[int, int],
    ) -> None:
        """Take a box ``(x1, y1, x2, y2)`` in pixels of a ``(width, height)`` frame."""
        x1, _, x2, y2 = box
        width, height = size
        self.add(time_s, (x1 + x2) * 0.5 / width, y2 / height)

    def points(self) -> list[PathPoint]:
        """The kept points in time order, ending with the latest one taken."""
        if self._latest is None:
            return []
        if self._kept[-1] is self._latest:
            return list(self._kept)
        return [*self._kept, self._latest]


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
