"""Zone and line geometry in normalised image coordinates (0..1, y downwards)."""

from __future__ import annotations

from collections.abc import Sequence

Point = tuple[float, float]


class GeometryError(ValueError):
    """A polygon or line cannot be used; the message names the fault."""


def check_polygon(name: str, points: Sequence[Sequence[float]]) -> list[Point]:
    """Validate a zone's polygon and return it as a list of points.

    Raises:
        GeometryError: Fewer than 3 points, a point outside 0..1, repeated
            points, no area, or edges that cross each other.

    Example:
        >>> check_polygon("dock", [(0.1, 0.1), (0.9, 0.1), (0.5, 0.9)])
        [(0.1, 0.1), (0.9, 0.1), (0.5, 0.9)]
    """
    polygon = _points(name, points, "zone")
    if len(polygon) < 3:
        raise GeometryError(
            f"zone {name!r} has {len(polygon)} points; a polygon needs at least 3"
        )
    if len(set(polygon)) != len(polygon):
        raise GeometryError(f"zone {name!r} repeats a point; give each corner once")
    edges = list(zip(polygon, polygon[1:] + polygon[:1], strict=True))
    for i, first in enumerate(edges):
        for j in range(i + 1, len(edges)):
            if j == i + 1 or (i == 0 and j == len(edges) - 1):
                continue  # neighbouring edges share a corner
            if _segments_intersect(*first, *edges[j]):
                raise GeometryError(
                    f"zone {name!r} crosses itself: edge {i + 1} "
                    f"{_fmt(first)} and edge {j + 1} {_fmt(edges[j])} intersect; "
                    "list the corners in order around the zone"
                )
    if abs(_signed_area(polygon)) < 1e-9:
        raise GeometryError(f"zone {name!r} has no area: its points lie on one line")
    return polygon


def check_line(name: str, points: Sequence[Sequence[float]]) -> tuple[Point, Point]:
    """Validate a line (two distinct points) and return it.

    Raises:
        GeometryError: Not exactly two points, a point outside 0..1, or both
            points the same.
    """
    line = _points(name, points, "line")
    if len(line) != 2:
        raise GeometryError(
            f"line {name!r} has {len(line)} points; a line needs exactly 2 (a, b)"
        )
    if line[0] == line[1]:
        raise GeometryError(f"line {name!r} has both points at {line[0]}")
    return line[0], line[1]


def _points(name: str, points: Sequence[Sequence[float]], what: str) -> list[Point]:
    out: list[Point] = []
    for index, point in enumerate(points):
        if len(point) != 2:
            raise GeometryError(
                f"{what} {name!r} point {index + 1} is {list(point)}; a point is [x, y]"
            )
        x, y = float(point[0]), float(point[1])
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise GeometryError(
                f"{what} {name!r} point {index + 1} is ({x}, {y}); coordinates are "
                "fractions of the image, from 0 to 1"
            )
        out.append((x, y))
    return out


def contains(polygon: Sequence[Point], point: Point) -> bool:
    """Whether ``point`` is inside ``polygon`` (even-odd rule; edges count as in)."""
    x, y = point
    inside = False
    count = len(polygon)
    for i in range(count):
        (x1, y1), (x2, y2) = polygon[i], polygon[(i + 1) % count]
        if _on_segment((x1, y1), (x2, y2), point):
            return True
        if (y1 > y) != (y2 > y):
            cross_x = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < cross_x:
                inside = not inside
    return inside


def side(line: tuple[Point, Point], point: Point) -> int:
    """Which side of the line a point is on: -1 left, 1 right, 0 on it.

    Left and right are as seen walking from point ``a`` to point ``b`` on
    the image (y grows downwards).
    """
    (ax, ay), (bx, by) = line
    cross = (bx - ax) * (point[1] - ay) - (by - ay) * (point[0] - ax)
    if abs(cross) < 1e-12:
        return 0
    return 1 if cross > 0 else -1


def crosses(line: tuple[Point, Point], before: Point, after: Point) -> bool:
    """Whether moving from ``before`` to ``after`` crosses the line's segment."""
    return _segments_intersect(before, after, line[0], line[1])


def _signed_area(polygon: Sequence[Point]) -> float:
    return 0.5 * sum(
        x1 * y2 - x2 * y1
        for (x1, y1), (x2, y2) in zip(polygon, [*polygon[1:], polygon[0]], strict=True)
    )


def _orientation(p: Point, q: Point, r: Point) -> int:
    value = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
    if abs(value) < 1e-12:
        return 0
    return 1 if value > 0 else -1


def _on_segment(p: Point, q: Point, r: Point) -> bool:
    """Whether r lies on the segment p-q."""
    return _orientation(p, q, r) == 0 and (
        min(p[0], q[0]) - 1e-12 <= r[0] <= max(p[0], q[0]) + 1e-12
        and min(p[1], q[1]) - 1e-12 <= r[1] <= max(p[1], q[1]) + 1e-12
    )


def _segments_intersect(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    o1, o2 = _orientation(p1, p2, q1), _orientation(p1, p2, q2)
    o3, o4 = _orientation(q1, q2, p1), _orientation(q1, q2, p2)
    if o1 != o2 and o3 != o4:
        return True
    return (
        (o1 == 0 and _on_segment(p1, p2, q1))
        or (o2 == 0 and _on_segment(p1, p2, q2))
        or (o3 == 0 and _on_segment(q1, q2, p1))
        or (o4 == 0 and _on_segment(q1, q2, p2))
    )


def _fmt(edge: tuple[Point, Point]) -> str:
    (x1, y1), (x2, y2) = edge
    return f"({x1:g}, {y1:g})-({x2:g}, {y2:g})"
