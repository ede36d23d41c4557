"""The database layer on SQLite and on the machine's PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from tests.databases import database_url
from watchfloor.models import Hold, Segment
from watchfloor.models.database import Database, current_revision, head_revision


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_url(request.param, tmp_path) as url:
        database = Database.open(url)
        yield database
        database.close()


def test_open_migrates_to_head(db: Database) -> None:
    assert current_revision(db.engine) == head_revision()
    tables = set(inspect(db.engine).get_table_names())
    assert {"segments", "clips", "holds", "alembic_version"} <= tables


def test_times_round_trip_as_aware_utc(db: Database) -> None:
    local = datetime(2026, 3, 29, 2, 30, tzinfo=timezone(timedelta(hours=2)))
    with db.session() as session:
        session.add(
            Segment(
                camera="gate",
                start=local,
                end=local + timedelta(seconds=10),
                path="recordings/gate/a.mp4",
                bytes=1,
                sha256="0" * 64,
                codec="h264",
                frames=250,
            )
        )
    with db.session() as session:
        segment = session.scalars(select(Segment)).one()
    assert segment.start.tzinfo is not None
    assert segment.start == local
    assert segment.start.utcoffset() == timedelta(0)


def test_naive_time_is_refused(db: Database) -> None:
    with pytest.raises(Exception, match="timezone-aware"), db.session() as session:
        session.add(
            Hold(
                camera="gate",
                start=datetime(2026, 1, 1),
                end=datetime(2026, 1, 2, tzinfo=UTC),
                reason="test",
            )
        )
        session.flush()


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    database = Database.open(f"sqlite:///{tmp_path / 'nested' / 'w.db'}")
    with database.engine.connect() as connection:
        mode = connection.execute(text("PRAGMA journal_mode")).scalar()
    database.close()
    assert mode == "wal"


def test_second_open_is_a_no_op(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    Database.open(url).close()
    database = Database.open(url)
    assert current_revision(database.engine) == head_revision()
    database.close()
