"""Health, cameras (passwords hidden), the OpenAPI document and error answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import PASSWORD, Api, site_config
from watchfloor import __version__
from watchfloor.api.app import create_app
from watchfloor.bus import Bus
from watchfloor.models.database import Database


def test_health_reports_database_and_cameras(api: Api) -> None:
    response = api.client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "version": __version__,
        "timezone": None,
        "database": {"reachable": True, "error": None},
        "cameras": {"total": 2, "online": 1},
    }
    api.site.timezone = "Europe/Paris"
    assert api.client.get("/api/health").json()["timezone"] == "Europe/Paris"


def test_health_answers_503_when_the_database_is_gone(tmp_path: Path) -> None:
    db = Database.open("postgresql+psycopg://nobody:pw@127.0.0.1:1/none", migrate=False)
    app = create_app(site_config(tmp_path), db, Bus())
    with TestClient(app) as client:
        response = client.get("/api/health")
        assert response.status_code == 503
        body = response.json()
        assert body["ok"] is False
        assert body["database"]["reachable"] is False
        assert body["database"]["error"]
        assert body["cameras"] == {"total": 2, "online": 0}
        listed = client.get("/api/alerts")
        assert listed.status_code == 503
        assert "the database cannot be reached now" in listed.json()["detail"]
    db.close()


def test_cameras_show_configuration_and_live_status_without_passwords(
    api: Api,
) -> None:
    response = api.client.get("/api/cameras")

    assert PASSWORD not in response.text
    gate, yard = response.json()
    assert gate["url"] == "rtsp://admin:***@10.0.0.5/live"
    assert gate["status"]["state"] == "online"
    assert gate["status"]["fps_in"] == 12.5
    assert gate["status"]["since"] == "2024-05-01T12:00:00+00:00"
    assert "person" in gate["classes"]
    assert yard["url"] == "rtsp://10.0.0.6/sub"
    assert yard["record_url"] == "rtsp://viewer:***@10.0.0.6/main"
    assert yard["fps"] == 5
    assert yard["status"]["state"] == "reconnecting"
    assert yard["status"]["attempts"] == 3
    assert yard["status"]["last_error"] == (
        "cannot open rtsp://viewer:***@10.0.0.6/main: refused"
    )
    assert api.client.get("/api/cameras/yard").json() == yard


def test_an_unknown_camera_answers_404_naming_the_known_ones(api: Api) -> None:
    response = api.client.get("/api/cameras/roof")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "no camera named 'roof'; the site has: gate, yard"
    }


def test_cameras_without_a_status_source_show_none(
    db: Database, tmp_path: Path
) -> None:
    app = create_app(site_config(tmp_path), db, Bus())
    with TestClient(app) as client:
        assert [c["status"] for c in client.get("/api/cameras").json()] == [None, None]
        assert client.get("/api/health").json()["cameras"]["online"] == 0


def test_openapi_documents_routes_and_error_shape(api: Api) -> None:
    document = api.client.get("/openapi.json").json()

    paths = document["paths"]
    for path in (
        "/api/health",
        "/api/cameras/{name}",
        "/api/zones/{name}",
        "/api/lines",
        "/api/rules/{name}",
        "/api/alerts",
        "/api/alerts/{alert_id}/clip",
        "/api/alerts/{alert_id}/dismiss",
    ):
        assert path in paths
    dismiss = paths["/api/alerts/{alert_id}/dismiss"]["post"]["responses"]
    assert dismiss["409"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorOut"
    )
    assert dismiss["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorOut"
    )
    assert "HTTPValidationError" not in json.dumps(document)
    assert (
        "video/mp4"
        in paths["/api/alerts/{alert_id}/clip"]["get"]["responses"]["206"]["content"]
    )
    assert PASSWORD not in json.dumps(document)


@pytest.mark.parametrize(
    ("method", "path", "status", "detail"),
    [
        (
            "GET",
            "/api/nothing",
            404,
            "no such path /api/nothing; the API is listed at /openapi.json",
        ),
        ("PATCH", "/api/zones", 405, "PATCH is not allowed on /api/zones"),
    ],
)
def test_unknown_paths_and_methods_answer_json(
    api: Api, method: str, path: str, status: int, detail: str
) -> None:
    response = api.client.request(method, path)
    assert response.status_code == status
    assert response.json() == {"detail": detail}
