"""Fixtures for API tests: a site, a real database (SQLite and PostgreSQL), a bus,
the application under FastAPI's TestClient, and a small real MP4."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.databases import database_url, postgres_database
from watchfloor.api.app import create_app
from watchfloor.bus import Bus
from watchfloor.config import SiteConfig
from watchfloor.ingest.status import CameraState, CameraStatus, RecordingState
from watchfloor.models import Alert, Base
from watchfloor.models.database import Database

PASSWORD = "s3cr3t-pa55"
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def site_config(media: Path) -> SiteConfig:
    """Two cameras (one with a password in its URL), a zone, a line, two rules."""
    return SiteConfig.model_validate(
        {
            "storage": {"media": str(media)},
            "cameras": [
                {"name": "gate", "url": f"rtsp://admin:{PASSWORD}@10.0.0.5/live"},
                {
                    "name": "yard",
                    "url": "rtsp://10.0.0.6/sub",
                    "record_url": f"rtsp://viewer:{PASSWORD}@10.0.0.6/main",
                    "fps": 5,
                },
            ],
            "zones": [
                {
                    "name": "dock",
                    "camera": "gate",
                    "polygon": [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]],
                }
            ],
            "lines": [
                {"name": "fence", "camera": "yard", "points": [[0.0, 0.5], [1.0, 0.5]]}
            ],
            "rules": [
                {"name": "dock-intrusion", "kind": "restricted_area", "zone": "dock"},
                {"name": "fence-crossing", "kind": "line_crossing", "line": "fence"},
            ],
        }
    )


@dataclass
class Api:
    """The application under test and what it works on."""

    client: TestClient
    site: SiteConfig
    db: Database
    bus: Bus
    media: Path
    rule_changes: list[int] = field(default_factory=list)

    def add_alert(self, **values: Any) -> int:
        """Insert an alert row directly; returns its id."""
        fields: dict[str, Any] = {
            "camera": "gate",
            "rule": "dock-intrusion",
            "kind": "restricted_area",
            "zone": "dock",
            "label": "person",
            "score": 0.9,
            "start": T0,
        }
        fields.update(values)
        with self.db.session() as session:
            alert = Alert(**fields)
            session.add(alert)
            session.flush()
            return alert.id


def camera_statuses() -> list[CameraStatus]:
    """Gate online; yard reconnecting with an error that quotes its URL."""
    return [
        CameraStatus(
            "gate",
            CameraState.ONLINE,
            T0,
            fps_in=12.5,
            frames_in=400,
            recording=RecordingState.RECORDING,
        ),
        CameraStatus(
            "yard",
            CameraState.RECONNECTING,
            T0,
            attempts=3,
            last_error=f"cannot open rtsp://viewer:{PASSWORD}@10.0.0.6/main: refused",
        ),
    ]


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
        tables = ", ".join(
            f'"{table.name}"' for table in reversed(Base.metadata.sorted_tables)
        )
        with database.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def api(db: Database, tmp_path: Path) -> Iterator[Api]:
    """The API of the test site over ``db``, with a live bus."""
    media = tmp_path / "media"
    media.mkdir()
    site = site_config(media)
    bus = Bus()
    changes: list[int] = []
    app = create_app(
        site, db, bus, camera_statuses, lambda: changes.append(len(changes) + 1)
    )
    with TestClient(app) as client:
        yield Api(client, site, db, bus, media.resolve(), changes)


def make_mp4(path: Path, seconds: float = 2.0, fps: int = 10) -> Path:
    """A small real H.264 MP4 (160x120), made with PyAV."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = 160, 120
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        for i in range(int(seconds * fps)):
            picture = np.full((120, 160, 3), (i * 12) % 256, dtype=np.uint8)
            picture[:, (i * 7) % 160] = 255
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


@pytest.fixture(scope="session")
def small_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 s H.264 MP4, made once per run."""
    return make_mp4(tmp_path_factory.mktemp("clip") / "clip.mp4")


def at(minutes: float) -> datetime:
    """``T0`` plus some minutes."""
    return T0 + timedelta(minutes=minutes)
