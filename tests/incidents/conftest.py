"""Fixtures for incident tests: a real database (SQLite and PostgreSQL) and rows to
link: alerts, clips, track events and segments, at known wall-clock times."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.databases import database_url, postgres_database
from watchfloor.models import Alert, Base, Clip, Event, Track
from watchfloor.models.database import Database

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """``T0`` plus some seconds."""
    return T0 + timedelta(seconds=seconds)


@pytest.fixture(scope="session")
def postgres_db() -> Iterator[Database]:
    """One PostgreSQL database for the run, emptied after each test that uses it."""
    with postgres_database() as url:
        database = Database.open(url)
        try:
            yield database
        finally:
            database.close()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database, once SQLite and once PostgreSQL."""
    if request.param == "sqlite":
        with database_url("sqlite", tmp_path) as url:
            database = Database.open(url)
            try:
                yield database
            finally:
                database.close()
        return
    database = request.getfixturevalue("postgres_db")
    try:
        yield database
    finally:
        # DELETE of a few rows is much quicker than TRUNCATE; ids need not restart.
        with database.engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(text(f'DELETE FROM "{table.name}"'))


@dataclass
class Rows:
    """Inserts the rows that incidents link to, straight into the database."""

    db: Database

    def alert(self, **values: Any) -> int:
        fields: dict[str, Any] = {
            "camera": "gate",
            "rule": "dock-intrusion",
            "kind": "restricted_area",
            "zone": "dock",
            "label": "person",
            "score": 0.9,
            "start": T0,
            "end": at(20),
        }
        fields.update(values)
        with self.db.session() as session:
            alert = Alert(**fields)
            session.add(alert)
            session.flush()
            return alert.id

    def clip(self, camera: str = "yard", start: float = 30, end: float = 45) -> int:
        with self.db.session() as session:
            clip = Clip(
                camera=camera,
                start=at(start),
                end=at(end),
                path=f"clips/{camera}/{start}.mp4",
                bytes=1000,
                sha256="ab" * 32,
                duration_s=end - start,
            )
            session.add(clip)
            session.flush()
            return clip.id

    def event(self, camera: str = "lobby", seconds: float = 50) -> int:
        with self.db.session() as session:
            track = Track(
                camera=camera,
                tracker_id=3,
                label="person",
                first_seen=at(seconds - 5),
                last_seen=at(seconds + 5),
                best_score=0.8,
            )
            session.add(track)
            session.flush()
            event = Event(
                track_id=track.id,
                camera=camera,
                kind="appeared",
                time=at(seconds),
                label="person",
                score=0.8,
                x1=0.1,
                y1=0.2,
                x2=0.3,
                y2=0.6,
            )
            session.add(event)
            session.flush()
            return event.id


@pytest.fixture
def rows(db: Database) -> Rows:
    """Inserts alerts, clips and events into ``db``."""
    return Rows(db)
