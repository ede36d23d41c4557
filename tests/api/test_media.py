"""Media paths kept inside the media directory, and Range headers read as HTTP says."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchfloor.api.media import (
    MediaPathError,
    RangeNotSatisfiable,
    parse_range,
    resolve_media,
)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-0", (0, 0)),
        ("bytes=0-99", (0, 99)),
        ("bytes=990-", (990, 999)),
        ("bytes=990-5000", (990, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes = 5 - 9", (5, 9)),
        ("BYTES=5-9", (5, 9)),
        ("bytes=0-9, 20-29", None),
        ("items=0-9", None),
        ("bytes", None),
    ],
)
def test_ranges_are_read(header: str, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=1000-", 1000, "starts past the end of the file (1000 bytes)"),
        ("bytes=9-5", 1000, "ends before it starts"),
        ("bytes=-0", 1000, "asks for no bytes"),
        ("bytes=0-", 0, "starts past the end"),
        ("bytes=-", 1000, "is malformed"),
        ("bytes=a-b", 1000, "is malformed"),
        ("bytes=+1-2", 1000, "is malformed"),
        ("bytes=²-3", 1000, "is malformed"),
        ("bytes=12", 1000, "is malformed"),
    ],
)
def test_bad_ranges_are_refused_saying_why(
    header: str, size: int, expected: str
) -> None:
    with pytest.raises(RangeNotSatisfiable, match="ask for bytes=START-END") as caught:
        parse_range(header, size)
    assert expected in str(caught.value)


def test_media_paths_stay_inside_the_media_directory(tmp_path: Path) -> None:
    media = tmp_path / "media"
    (media / "snapshots").mkdir(parents=True)
    inside = media / "snapshots" / "a.jpg"
    inside.write_bytes(b"x")
    outside = tmp_path / "secret.txt"
    outside.write_bytes(b"x")
    (media / "snapshots" / "link.jpg").symlink_to(outside)

    assert resolve_media(media, "snapshots/a.jpg", allow_outside=False) == inside
    assert resolve_media(media, str(inside), allow_outside=False) == inside
    assert resolve_media(media, str(outside), allow_outside=True) == outside
    for stored in (
        "../secret.txt",
        "snapshots/../../secret.txt",
        str(outside),
        "snapshots/link.jpg",
    ):
        with pytest.raises(MediaPathError, match="outside the media directory"):
            resolve_media(media, stored, allow_outside=False)
