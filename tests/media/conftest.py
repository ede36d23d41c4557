"""Fixtures for media tests: real H.264 segments indexed in a real database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.databases import database_url
from tests.media.footage import Footage, Recording, index_segments, make_recording
from watchfloor.models.database import Database


@pytest.fixture(scope="session")
def recordings(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[int], Recording]:
    """Made once per test run: ``recordings(bframes)`` gives ~32 s of footage
    at 25 fps in 10 s segments, encoded with that many B-frames."""
    made: dict[int, Recording] = {}

    def get(bframes: int = 0) -> Recording:
        if bframes not in made:
            folder = tmp_path_factory.mktemp(f"recording-b{bframes}")
            made[bframes] = make_recording(folder, bframes)
        return made[bframes]

    return get


def _footage(
    tmp_path: Path, recording: Recording, kind: str = "sqlite"
) -> Iterator[Footage]:
    media = tmp_path / "media"
    with database_url(kind, tmp_path) as url:
        db = Database.open(url)
        try:
            yield Footage(db, media, recording, index_segments(db, media, recording))
        finally:
            db.close()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def footage(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    recordings: Callable[[int], Recording],
) -> Iterator[Footage]:
    """Camera 'gate' recorded from T0 for about 32 s, without B-frames, indexed
    in SQLite and in PostgreSQL."""
    yield from _footage(tmp_path, recordings(0), request.param)


@pytest.fixture(params=[0, 2], ids=["no-bframes", "bframes"])
def any_footage(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    recordings: Callable[[int], Recording],
) -> Iterator[Footage]:
    """As ``footage``, once without and once with B-frames (reordered packets)."""
    yield from _footage(tmp_path, recordings(request.param))
