"""Alerts over the API: search and pages, snapshots, clips by byte range, handling."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from tests.api.conftest import T0, Api, at
from watchfloor.models import Alert, Clip

# --- search and pages ----------------------------------------------------------


@pytest.fixture
def many(api: Api) -> dict[str, int]:
    """Nine alerts over two cameras, several rules and statuses; two share a start."""
    rows: dict[str, dict[str, Any]] = {
        "a": dict(start=at(0)),
        "b": dict(start=at(1), label="car"),
        "c": dict(start=at(2), status="acknowledged"),
        "d": dict(
            camera="yard",
            rule="fence-crossing",
            kind="line_crossing",
            zone=None,
            line="fence",
            start=at(3),
        ),
        "e": dict(start=at(4), status="resolved"),
        "f": dict(start=at(4)),
        "g": dict(
            camera="yard",
            rule="fence-crossing",
            kind="line_crossing",
            zone=None,
            line="fence",
            start=at(5),
            status="dismissed",
        ),
        "h": dict(start=at(6)),
        "i": dict(start=at(7), label="car", status="acknowledged"),
    }
    return {key: api.add_alert(**values) for key, values in rows.items()}


def ids(page: dict[str, Any]) -> list[int]:
    return [item["id"] for item in page["items"]]


def test_alerts_come_newest_first_in_pages_that_follow_a_cursor(
    api: Api, many: dict[str, int]
) -> None:
    newest_first = (
        [many[k] for k in "ihg"]
        + sorted([many["e"], many["f"]], reverse=True)
        + [many[k] for k in "dcba"]
    )

    seen: list[int] = []
    url: str | None = "/api/alerts?limit=4"
    pages = 0
    while url:
        page = api.client.get(url).json()
        assert page["total"] == 9
        seen += ids(page)
        url = page["next"]
        pages += 1
    assert pages == 3
    assert seen == newest_first

    # A new alert does not shift the pages a client is walking.
    first = api.client.get("/api/alerts", params={"limit": 4}).json()
    api.add_alert(start=at(60))
    second = api.client.get(
        "/api/alerts", params={"limit": 4, "cursor": first["next_cursor"]}
    ).json()
    assert ids(second) == newest_first[4:8]
    assert second["total"] == 10


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"camera": "yard"}, "gd"),
        ({"rule": "dock-intrusion", "label": "car"}, "ib"),
        ({"zone": "dock", "status": "new"}, "hfba"),
        ({"status": ["acknowledged", "dismissed"]}, "igc"),
        ({"since": "2024-05-01T12:05:00+00:00"}, "ihg"),
        # 14:02 at +02:00 is 12:02 UTC; until is exclusive.
        ({"since": "2024-05-01T14:02:00+02:00", "until": "2024-05-01T12:04:00Z"}, "dc"),
        ({"camera": "roof"}, ""),
    ],
)
def test_filters_combine(
    api: Api, many: dict[str, int], params: dict[str, Any], expected: str
) -> None:
    page = api.client.get("/api/alerts", params=params).json()
    assert ids(page) == [many[k] for k in expected]
    assert page["total"] == len(expected)
    assert page["next"] is None


def test_a_plus_sign_left_unencoded_in_an_offset_still_means_plus(
    api: Api, many: dict[str, int]
) -> None:
    page = api.client.get("/api/alerts?since=2024-05-01T14:05:00+02:00").json()
    assert ids(page) == [many[k] for k in "ihg"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "since=2024-05-01T12:00:00",
            "query parameter 'since': '2024-05-01T12:00:00' has no UTC offset",
        ),
        (
            "until=2024-05-01 12:00:00",
            "query parameter 'until': '2024-05-01 12:00:00' has no UTC offset",
        ),
        ("until=yesterday", "query parameter 'until': "),
        (
            "since=2024-05-01T13:00:00Z&until=2024-05-01T12:00:00Z",
            "'since' (2024-05-01T13:00:00+00:00) is not before 'until'",
        ),
        ("limit=0", "query parameter 'limit': Input should be greater than or equal"),
        ("limit=501", "query parameter 'limit': Input should be less than or equal"),
        ("status=open", "query parameter 'status[0]': Input should be 'new'"),
        ("cursor=bm9wZQ", "query parameter 'cursor': 'bm9wZQ' is not a cursor"),
    ],
)
def test_bad_queries_are_refused_naming_the_parameter(
    api: Api, query: str, expected: str
) -> None:
    response = api.client.get(f"/api/alerts?{query}")
    assert response.status_code == 422
    assert expected in response.json()["detail"]


def test_one_alert_is_json_with_offsets_and_links(api: Api) -> None:
    with api.db.session() as session:
        clip = Clip(
            camera="gate",
            start=T0,
            end=at(1),
            path="clips/1.mp4",
            bytes=1,
            sha256="0" * 64,
            duration_s=60.0,
        )
        session.add(clip)
        session.flush()
        clip_id = clip.id
    alert_id = api.add_alert(
        end=at(0.5), snapshot="snapshots/1.jpg", clip_state="ready", clip_id=clip_id
    )
    bare_id = api.add_alert()

    alert = api.client.get(f"/api/alerts/{alert_id}").json()
    bare = api.client.get(f"/api/alerts/{bare_id}").json()

    assert alert["start"] == "2024-05-01T12:00:00+00:00"
    assert alert["end"] == "2024-05-01T12:00:30+00:00"
    assert alert["status"] == "new"
    assert alert["snapshot_url"] == f"/api/alerts/{alert_id}/snapshot"
    assert alert["snapshot_crop_url"] is None
    assert alert["clip_url"] == f"/api/alerts/{alert_id}/clip"
    assert (bare["snapshot_url"], bare["clip_url"], bare["end"]) == (None, None, None)
    assert bare["clip_state"] == "pending"
    missing = api.client.get("/api/alerts/999999")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "no alert with id 999999"}
    assert api.client.get("/api/alerts/abc").status_code == 422


# --- snapshots -------------------------------------------------------------------


def jpeg(shade: int) -> bytes:
    ok, data = cv2.imencode(".jpg", np.full((48, 64, 3), shade, np.uint8))
    assert ok
    return data.tobytes()


def test_snapshot_and_crop_are_served_as_jpeg(api: Api) -> None:
    (api.media / "snapshots").mkdir()
    (api.media / "snapshots" / "full.jpg").write_bytes(jpeg(200))
    (api.media / "snapshots" / "crop.jpg").write_bytes(jpeg(50))
    alert_id = api.add_alert(
        snapshot="snapshots/full.jpg", snapshot_crop="snapshots/crop.jpg"
    )

    full = api.client.get(f"/api/alerts/{alert_id}/snapshot")
    crop = api.client.get(f"/api/alerts/{alert_id}/snapshot", params={"crop": True})

    assert full.status_code == 200
    assert full.headers["content-type"] == "image/jpeg"
    assert full.content == jpeg(200)
    assert crop.content == jpeg(50)
    picture = cv2.imdecode(np.frombuffer(crop.content, np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None
    assert picture.shape == (48, 64, 3)


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (None, "alert {id} has no snapshot"),
        ("snapshots/gone.jpg", "the snapshot of alert {id} is missing"),
        ("../outside.jpg", "lies outside the media directory and is not served"),
        ("{outside}", "lies outside the media directory and is not served"),
    ],
    ids=["none", "file-missing", "dot-dot", "absolute-outside"],
)
def test_missing_or_escaping_snapshots_answer_404(
    api: Api, tmp_path: Path, stored: str | None, expected: str
) -> None:
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(jpeg(10))
    path = stored.format(outside=outside) if stored else None
    alert_id = api.add_alert(snapshot=path)

    response = api.client.get(f"/api/alerts/{alert_id}/snapshot")

    assert response.status_code == 404
    assert expected.format(id=alert_id) in response.json()["detail"]


# --- clips -----------------------------------------------------------------------


@pytest.fixture
def clip_alert(api: Api, small_mp4: Path) -> tuple[int, bytes]:
    """An alert whose ready clip is a real MP4 in the media directory."""
    (api.media / "clips").mkdir()
    shutil.copy(small_mp4, api.media / "clips" / "a.mp4")
    data = small_mp4.read_bytes()
    with api.db.session() as session:
        clip = Clip(
            camera="gate",
            start=T0,
            end=at(0.1),
            path="clips/a.mp4",
            bytes=len(data),
            sha256="0" * 64,
            duration_s=2.0,
        )
        session.add(clip)
        session.flush()
        clip_id = clip.id
    return api.add_alert(clip_state="ready", clip_id=clip_id), data


def test_whole_clip_is_a_playable_mp4(api: Api, clip_alert: tuple[int, bytes]) -> None:
    alert_id, data = clip_alert

    response = api.client.get(f"/api/alerts/{alert_id}/clip")

    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-length"] == str(len(data))
    assert response.content == data
    with av.open(io.BytesIO(response.content), "r") as container:
        frames = len(list(container.decode(video=0)))
    assert frames == 20


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, None),
        ("bytes=-50", None, None),
        ("bytes=10-99999999", 10, None),
    ],
)
def test_byte_ranges_answer_206(
    api: Api,
    clip_alert: tuple[int, bytes],
    header: str,
    first: int | None,
    last: int | None,
) -> None:
    alert_id, data = clip_alert
    size = len(data)
    start = size - 50 if first is None else first
    end = size - 1 if last is None else last

    response = api.client.get(f"/api/alerts/{alert_id}/clip", headers={"Range": header})

    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {start}-{end}/{size}"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.headers["accept-ranges"] == "bytes"
    assert response.content == data[start : end + 1]


def test_ranges_read_in_pieces_rebuild_the_file(
    api: Api, clip_alert: tuple[int, bytes]
) -> None:
    alert_id, data = clip_alert
    step = 4096
    pieces = [
        api.client.get(
            f"/api/alerts/{alert_id}/clip",
            headers={"Range": f"bytes={offset}-{offset + step - 1}"},
        ).content
        for offset in range(0, len(data), step)
    ]
    assert b"".join(pieces) == data


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes={size}-", "starts past the end of the file ({size} bytes)"),
        ("bytes=500-100", "ends before it starts"),
        ("bytes=-0", "asks for no bytes"),
        ("bytes=abc-", "is malformed"),
    ],
)
def test_bad_ranges_answer_416(
    api: Api, clip_alert: tuple[int, bytes], header: str, expected: str
) -> None:
    alert_id, data = clip_alert
    size = len(data)

    response = api.client.get(
        f"/api/alerts/{alert_id}/clip", headers={"Range": header.format(size=size)}
    )

    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{size}"
    assert expected.format(size=size) in response.json()["detail"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Range": "bytes=0-9,20-29"},
        {"Range": "frames=0-9"},
        {"Range": "bytes=0-9", "If-Range": '"stale"'},
    ],
    ids=["several-ranges", "other-unit", "stale-if-range"],
)
def test_ranges_that_are_ignored_get_the_whole_clip(
    api: Api, clip_alert: tuple[int, bytes], headers: dict[str, str]
) -> None:
    alert_id, data = clip_alert
    response = api.client.get(f"/api/alerts/{alert_id}/clip", headers=headers)
    assert response.status_code == 200
    assert response.content == data


def test_if_range_with_the_current_etag_gets_the_range(
    api: Api, clip_alert: tuple[int, bytes]
) -> None:
    alert_id, data = clip_alert
    etag = api.client.get(f"/api/alerts/{alert_id}/clip").headers["etag"]
    response = api.client.get(
        f"/api/alerts/{alert_id}/clip", headers={"Range": "bytes=0-9", "If-Range": etag}
    )
    assert response.status_code == 206
    assert response.content == data[:10]


def test_a_clip_recorded_at_an_absolute_path_elsewhere_is_served(
    api: Api, small_mp4: Path
) -> None:
    with api.db.session() as session:
        clip = Clip(
            camera="gate",
            start=T0,
            end=at(0.1),
            path=str(small_mp4),
            bytes=1,
            sha256="0" * 64,
            duration_s=2.0,
        )
        session.add(clip)
        session.flush()
        clip_id = clip.id
    alert_id = api.add_alert(clip_state="ready", clip_id=clip_id)

    response = api.client.get(f"/api/alerts/{alert_id}/clip")

    assert response.status_code == 200
    assert response.content == small_mp4.read_bytes()


@pytest.mark.parametrize(
    ("values", "status", "expected"),
    [
        ({}, 409, "the clip of alert {id} is still being cut"),
        (
            {"clip_state": "failed", "clip_error": "no footage from 12:00 to 12:01"},
            404,
            "alert {id} has no clip: cutting it failed: no footage from 12:00",
        ),
        ({"clip_state": "ready"}, 404, "its clip record was removed"),
    ],
    ids=["pending", "failed", "ready-without-clip"],
)
def test_a_clip_that_is_not_there_says_why(
    api: Api, values: dict[str, Any], status: int, expected: str
) -> None:
    alert_id = api.add_alert(**values)
    response = api.client.get(f"/api/alerts/{alert_id}/clip")
    assert response.status_code == status
    assert expected.format(id=alert_id) in response.json()["detail"]


# --- handling ---------------------------------------------------------------------

OK, NO = 200, 409


@pytest.mark.parametrize(
    ("current", "action", "code"),
    [
        ("new", "acknowledge", OK),
        ("new", "resolve", OK),
        ("new", "dismiss", OK),
        ("acknowledged", "acknowledge", NO),
        ("acknowledged", "resolve", OK),
        ("acknowledged", "dismiss", OK),
        ("escalated", "acknowledge", NO),
        ("escalated", "resolve", OK),
        ("escalated", "dismiss", NO),
        ("resolved", "acknowledge", NO),
        ("resolved", "resolve", NO),
        ("dismissed", "resolve", NO),
        ("dismissed", "dismiss", NO),
    ],
)
def test_status_moves_follow_the_allowed_table(
    api: Api, current: str, action: str, code: int
) -> None:
    alert_id = api.add_alert(status=current)
    body = {"by": "sam", "reason" if action == "dismiss" else "note": "checked"}

    response = api.client.post(f"/api/alerts/{alert_id}/{action}", json=body)

    assert response.status_code == code, response.text
    with api.db.session() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        if code == OK:
            assert alert.status == response.json()["status"]
            assert alert.status_by == "sam"
            assert alert.status_note == "checked"
            assert alert.status_at is not None
        else:
            assert alert.status == current
            assert alert.status_by is None


@pytest.mark.parametrize(
    ("current", "action", "expected"),
    [
        (
            "acknowledged",
            "acknowledge",
            "alert {id} is already acknowledged; from acknowledged it can be "
            "resolved (POST .../resolve) or dismissed (POST .../dismiss)",
        ),
        (
            "escalated",
            "dismiss",
            "alert {id} is escalated and cannot be dismissed; from escalated it can "
            "be resolved (POST .../resolve)",
        ),
        (
            "resolved",
            "acknowledge",
            "alert {id} is resolved, which is final; it cannot be acknowledged "
            "any more",
        ),
    ],
)
def test_refused_moves_say_which_are_allowed(
    api: Api, current: str, action: str, expected: str
) -> None:
    alert_id = api.add_alert(status=current)
    body = {"by": "sam", "reason": "x"} if action == "dismiss" else {"by": "sam"}
    response = api.client.post(f"/api/alerts/{alert_id}/{action}", json=body)
    assert response.status_code == 409
    assert response.json() == {"detail": expected.format(id=alert_id)}


@pytest.mark.parametrize(
    ("action", "body", "expected"),
    [
        ("dismiss", {"by": "sam"}, "reason: Field required"),
        ("dismiss", {"by": "sam", "reason": "  "}, "reason: String should have at"),
        ("acknowledge", {"note": "hi"}, "by: Field required"),
        ("resolve", {"by": "sam", "notes": "typo"}, "notes: unknown key"),
    ],
)
def test_handling_bodies_are_checked(
    api: Api, action: str, body: dict[str, str], expected: str
) -> None:
    alert_id = api.add_alert()
    response = api.client.post(f"/api/alerts/{alert_id}/{action}", json=body)
    assert response.status_code == 422
    assert expected in response.json()["detail"]
    assert api.client.get(f"/api/alerts/{alert_id}").json()["status"] == "new"


def test_a_status_change_is_published_on_the_bus(api: Api) -> None:
    alert_id = api.add_alert()
    alerts = api.bus.subscribe({"alert"})

    response = api.client.post(
        f"/api/alerts/{alert_id}/dismiss", json={"by": "sam", "reason": "a cat"}
    )

    message = alerts.get(timeout=1)
    assert message is not None
    assert message.payload["change"] == "updated"
    assert message.payload["id"] == alert_id
    assert message.payload["status"] == "dismissed"
    assert message.payload["status_note"] == "a cat"
    assert {k: v for k, v in message.payload.items() if k != "change"} == (
        response.json()
    )
    assert response.json()["status_at"].endswith("+00:00")
    missing = api.client.post("/api/alerts/999999/resolve", json={"by": "sam"})
    assert missing.status_code == 404
    assert alerts.get(timeout=0.1) is None
