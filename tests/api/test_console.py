"""The console's page and static files, and the cameras' live view endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import site_config
from watchfloor.api.app import create_app
from watchfloor.bus import Bus
from watchfloor.live_view import LiveFrame
from watchfloor.models.database import Database

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
JPEG = b"\xff\xd8fake-jpeg\xff\xd9"


@pytest.fixture
def client(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    """The test site's API with a live view where only camera 'gate' has a frame."""

    def frames(camera: str) -> LiveFrame | None:
        return LiveFrame(camera, 1, T0, JPEG) if camera == "gate" else None

    media = tmp_path / "media"
    media.mkdir()
    app = create_app(site_config(media), db, Bus(), live_frames=frames)
    with TestClient(app) as test_client:
        yield test_client


def test_the_console_page_and_its_files_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/console/app.js">' in page.text
    for path, kind in [
        ("/console/app.js", "javascript"),
        ("/console/style.css", "text/css"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert kind in response.headers["content-type"]


def test_the_latest_frame_as_jpeg(client: TestClient) -> None:
    response = client.get("/api/cameras/gate/frame.jpg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.content == JPEG
    assert response.headers["x-frame-time"] == T0.isoformat()


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/api/cameras/yard/frame.jpg", 503, "no analysed frame yet"),
        ("/api/cameras/nope/frame.jpg", 404, "the site has: gate, yard"),
        ("/api/cameras/nope/live.mjpeg", 404, "no camera named 'nope'"),
    ],
)
def test_refusals_say_why(
    client: TestClient, path: str, status: int, says: str
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert says in response.json()["detail"]


def test_without_a_live_view_cameras_have_none(db: Database, tmp_path: Path) -> None:
    with TestClient(create_app(site_config(tmp_path), db, Bus())) as plain:
        response = plain.get("/api/cameras/gate/frame.jpg")
    assert response.status_code == 404
    assert "no live view" in response.json()["detail"]
