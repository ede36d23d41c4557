"""Where a track's feet went: a thinned, capped path of its box's bottom centre."""

from __future__ import annotations

from dataclasses import dataclass, field

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
        ...     _ = path.add(100.0 + step * 0.1, 0.1 * step, 0.5)
        >>> [round(t, 1) for t, _, _ in path.points()]
        [100.0, 100.3, 100.4]
    """

    every_s: float = PATH_EVERY_S
    max_points: int = PATH_MAX_POINTS
    _kept: list[PathPoint] = field(default_factory=list)
    _latest: PathPoint | None = None

    def add(self, time_s: float, x: float, y: float) -> bool:
        """Take the feet at ``(x, y)`` at POSIX time ``time_s`` (in time order);
        whether the point is kept (not only as the latest)."""
        point = (time_s, min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0))
        self._latest = point
        if self._kept and time_s - self._kept[-1][0] < self.every_s:
            return False
        self._kept.append(point)
        if len(self._kept) >= self.max_points:
            self._kept = self._kept[::2]
            self.every_s *= 2
        return True

    def add_box(
        self,
        time_s: float,
        box: tuple[float, float, float, float],
        size: tuple[int, int],
    ) -> bool:
        """Take a box ``(x1, y1, x2, y2)`` in pixels of a ``(width, height)``
        frame; whether its point is kept."""
        x1, _, x2, y2 = box
        width, height = size
        return self.add(time_s, (x1 + x2) * 0.5 / width, y2 / height)

    def points(self) -> list[PathPoint]:
        """The kept points in time order, ending with the latest one taken."""
        if self._latest is None:
            return []
        if self._kept[-1] is self._latest:
            return list(self._kept)
        return [*self._kept, self._latest]
