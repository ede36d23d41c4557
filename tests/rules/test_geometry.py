"""Zone and line geometry: containment, sides, crossings and shape checks."""

from __future__ import annotations

import pytest

from watchfloor.rules.geometry import (
    GeometryError,
    Point,
    check_line,
    check_polygon,
    contains,
    crosses,
    side,
)

SQUARE = [(0.2, 0.2), (0.6, 0.2), (0.6, 0.6), (0.2, 0.6)]
# A U open at the bottom (y grows downwards): a notch from (0.4, 0.4) to
# (0.6, 0.9) is cut out of the square (0.1, 0.1)-(0.9, 0.9).
U_SHAPE = [
    (0.1, 0.1),
    (0.9, 0.1),
    (0.9, 0.9),
    (0.6, 0.9),
    (0.6, 0.4),
    (0.4, 0.4),
    (0.4, 0.9),
    (0.1, 0.9),
]
TRIANGLE = [(0.5, 0.1), (0.9, 0.9), (0.1, 0.9)]


@pytest.mark.parametrize(
    ("polygon", "point", "inside"),
    [
        pytest.param(SQUARE, (0.4, 0.4), True, id="square-centre"),
        pytest.param(SQUARE, (0.8, 0.4), False, id="square-right-of"),
        pytest.param(SQUARE, (0.4, 0.1), False, id="square-above"),
        pytest.param(SQUARE, (0.6, 0.4), True, id="square-right-edge"),
        pytest.param(SQUARE, (0.4, 0.2), True, id="square-top-edge"),
        pytest.param(SQUARE, (0.2, 0.2), True, id="square-corner"),
        pytest.param(SQUARE, (0.6000001, 0.4), False, id="square-just-outside"),
        pytest.param(U_SHAPE, (0.5, 0.7), False, id="u-in-the-notch"),
        pytest.param(U_SHAPE, (0.5, 0.2), True, id="u-top-bar"),
        pytest.param(U_SHAPE, (0.2, 0.8), True, id="u-left-leg"),
        pytest.param(U_SHAPE, (0.8, 0.8), True, id="u-right-leg"),
        pytest.param(U_SHAPE, (0.5, 0.4), True, id="u-notch-top-edge"),
        pytest.param(U_SHAPE, (0.2, 0.4), True, id="u-level-with-notch-corners"),
        pytest.param(U_SHAPE, (0.95, 0.4), False, id="u-right-of-all"),
        pytest.param(U_SHAPE, (0.5, 0.95), False, id="u-below-the-notch"),
        pytest.param(TRIANGLE, (0.5, 0.1), True, id="triangle-apex"),
        pytest.param(TRIANGLE, (0.2, 0.2), False, id="triangle-beside-apex"),
        pytest.param(TRIANGLE, (0.5, 0.5), True, id="triangle-inside"),
    ],
)
def test_contains(polygon: list[Point], point: Point, inside: bool) -> None:
    assert contains(polygon, point) is inside
    assert contains(list(reversed(polygon)), point) is inside, "either winding"


# Along a -> b pointing right on the image, with y growing downwards, the
# right-hand side is below the line.
@pytest.mark.parametrize(
    ("line", "point", "expected"),
    [
        pytest.param(((0.0, 0.5), (1.0, 0.5)), (0.5, 0.7), 1, id="below-is-right"),
        pytest.param(((0.0, 0.5), (1.0, 0.5)), (0.5, 0.3), -1, id="above-is-left"),
        pytest.param(((1.0, 0.5), (0.0, 0.5)), (0.5, 0.7), -1, id="reversed-line"),
        pytest.param(((0.0, 0.5), (1.0, 0.5)), (0.5, 0.5), 0, id="on-the-line"),
        pytest.param(((0.2, 0.5), (0.4, 0.5)), (0.9, 0.5), 0, id="on-its-extension"),
        pytest.param(((0.5, 0.2), (0.5, 0.8)), (0.7, 0.5), -1, id="down-line-east"),
        pytest.param(((0.5, 0.2), (0.5, 0.8)), (0.3, 0.5), 1, id="down-line-west"),
    ],
)
def test_side(line: tuple[Point, Point], point: Point, expected: int) -> None:
    assert side(line, point) == expected


DOOR = ((0.5, 0.2), (0.5, 0.8))


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        pytest.param((0.3, 0.5), (0.7, 0.5), True, id="through-the-middle"),
        pytest.param((0.7, 0.5), (0.3, 0.5), True, id="either-way"),
        pytest.param((0.3, 0.9), (0.7, 0.9), False, id="beyond-end-b"),
        pytest.param((0.3, 0.1), (0.7, 0.1), False, id="beyond-end-a"),
        pytest.param((0.3, 0.2), (0.7, 0.2), True, id="through-end-a"),
        pytest.param((0.3, 0.5), (0.5, 0.5), True, id="stops-on-it"),
        pytest.param((0.3, 0.5), (0.45, 0.5), False, id="stops-short"),
        pytest.param((0.6, 0.2), (0.6, 0.8), False, id="parallel"),
        pytest.param((0.5, 0.1), (0.5, 0.3), True, id="collinear-overlapping"),
        pytest.param((0.5, 0.85), (0.5, 0.95), False, id="collinear-beyond"),
        pytest.param((0.3, 0.3), (0.7, 0.9), True, id="diagonal"),
    ],
)
def test_crosses(before: Point, after: Point, expected: bool) -> None:
    assert crosses(DOOR, before, after) is expected


@pytest.mark.parametrize(
    ("points", "message"),
    [
        pytest.param([], "has 0 points; a polygon needs at least 3", id="empty"),
        pytest.param(
            [(0.1, 0.1), (0.5, 0.5)],
            "has 2 points; a polygon needs at least 3",
            id="two-points",
        ),
        pytest.param(
            [(0.1, 0.1), (1.2, 0.1), (0.5, 0.5)],
            r"point 2 is \(1.2, 0.1\); coordinates are fractions",
            id="x-over-1",
        ),
        pytest.param(
            [(0.1, 0.1), (0.9, 0.1), (0.5, -0.01)],
            r"point 3 is \(0.5, -0.01\)",
            id="negative-y",
        ),
        pytest.param(
            [(0.1, 0.1), (0.9, 0.1, 0.3), (0.5, 0.5)],
            r"point 2 is \[0.9, 0.1, 0.3\]; a point is \[x, y\]",
            id="three-coordinates",
        ),
        pytest.param(
            [(0.1, 0.1), (0.9, 0.9), (0.9, 0.1), (0.1, 0.9)],
            "crosses itself: edge 1 .* and edge 3 .* intersect",
            id="bowtie",
        ),
        pytest.param(
            [(0.1, 0.1), (0.5, 0.5), (0.9, 0.9)],
            "has no area: its points lie on one line",
            id="collinear",
        ),
        pytest.param(
            [(0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.1)],
            "repeats a point",
            id="repeated-point",
        ),
    ],
)
def test_check_polygon_refuses(points: list[tuple[float, ...]], message: str) -> None:
    with pytest.raises(GeometryError, match=f"zone 'dock' {message}"):
        check_polygon("dock", points)


@pytest.mark.parametrize(
    "points",
    [
        pytest.param(SQUARE, id="square"),
        pytest.param(U_SHAPE, id="concave"),
        pytest.param([(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)], id="image-corners"),
        pytest.param([[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]], id="lists"),
    ],
)
def test_check_polygon_accepts(points: list[Point]) -> None:
    assert check_polygon("dock", points) == [(float(x), float(y)) for x, y in points]


@pytest.mark.parametrize(
    ("points", "message"),
    [
        pytest.param([(0.1, 0.1)], "has 1 points; a line needs exactly 2", id="one"),
        pytest.param(
            [(0.1, 0.1), (0.2, 0.2), (0.3, 0.3)],
            "has 3 points; a line needs exactly 2",
            id="three",
        ),
        pytest.param(
            [(0.4, 0.4), (0.4, 0.4)], r"has both points at \(0.4, 0.4\)", id="same"
        ),
        pytest.param(
            [(0.4, 0.4), (0.4, 1.5)], r"point 2 is \(0.4, 1.5\)", id="off-image"
        ),
    ],
)
def test_check_line_refuses(points: list[Point], message: str) -> None:
    with pytest.raises(GeometryError, match=f"line 'door' {message}"):
        check_line("door", points)


def test_check_line_accepts() -> None:
    assert check_line("door", [[0.5, 0.2], [0.5, 0.8]]) == ((0.5, 0.2), (0.5, 0.8))
