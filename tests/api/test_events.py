"""Footage search over the API: filters, pages, text, snapshots and similar tracks."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

from tests.api.conftest import Api
from tests.tracking.search_scene import Scene, add_scene, person, vehicle
from watchfloor.models import Event, Track
from watchfloor.tracking.appearance import COLOURS


@pytest.fixture
def scene(api: Api) -> Scene:
    """The search scene in the API's database, with its snapshot JPEGs."""
    return add_scene(api.db, api.media)


def ids(page: dict[str, Any]) -> set[int]:
    return {item["id"] for item in page["items"]}


def get(api: Api, url: str, status: int = 200) -> dict[str, Any]:
    response = api.client.get(url)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


# --- filters -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "tracks"),
    [
        ("camera=gate", ("red-blue", "green-black", "blue-truck")),
        ("camera=gate&camera=yard&label=truck", ("blue-truck",)),
        ("label=car&label=truck", ("white-car", "blue-truck")),
        ("identity=1", ("red-blue", "red-black")),
        ("colour=Red", ("red-blue", "red-black")),
        ("upper_colour=red&lower_colour=black", ("red-black",)),
        ("direction=left", ("red-blue", "yellow-grey")),
        ("zone=dock", ("red-blue",)),
        ("rule=fence-crossing", ("red-black",)),
        ("has_clip=true", ("red-blue", "green-black", "white-car")),
        ("has_clip=false&label=person", ("red-black", "yellow-grey")),
        (
            "since=2024-05-01T12:10:00Z&until=2024-05-01T14:32:00%2B02:00",
            ("green-black", "red-black", "white-car"),
        ),
        ("since=2024-05-01T14:45:00 02:00", ("yellow-grey",)),
    ],
)
def test_filters(api: Api, scene: Scene, query: str, tracks: tuple[str, ...]) -> None:
    page = get(api, f"/api/events?{query}&count=true")
    assert ids(page) == scene.of(*tracks)
    assert page["total"] == len(page["items"]) and page["total_exact"]


def test_kind_and_score_filters(api: Api, scene: Scene) -> None:
    page = get(api, "/api/events?kind=lost&kind=recovered")
    assert [item["kind"] for item in page["items"]] == ["recovered", "lost"]
    page = get(api, "/api/events?min_score=0.8&sort=score")
    assert [item["score"] for item in page["items"]] == [0.9, 0.85, 0.85, 0.8, 0.8]


def test_an_event_as_the_search_shows_it(api: Api, scene: Scene) -> None:
    event_id = scene.first("red-blue")
    item = get(api, f"/api/events/{event_id}")
    assert (
        item == get(api, "/api/events?identity=1&kind=appeared&camera=gate")["items"][0]
    )
    assert item["track_id"] == scene.tracks["red-blue"]
    assert item["time"] == "2024-05-01T12:00:00+00:00"
    assert item["attributes"] == {
        "colour": "red",
        "upper_colour": "red",
        "lower_colour": "blue",
        "direction": "left",
        "size_class": "medium",
    }
    assert item["snapshot_url"] == f"/api/events/{event_id}/snapshot"
    assert item["clip_available"] is True
    assert item["footage"] == {
        "camera": "gate",
        "start": "2024-05-01T12:00:00+00:00",
        "end": "2024-05-01T12:02:00+00:00",
        "url": "/api/cameras/gate/footage?start=2024-05-01T12:00:00Z"
        "&end=2024-05-01T12:02:00Z",
    }
    assert item["box"] == [0.1, 0.2, 0.3, 0.8]
    get(api, "/api/events/999999", 404)


# --- pages ---------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["newest", "oldest", "score"])
def test_pages_follow_next_to_the_end(api: Api, scene: Scene, sort: str) -> None:
    whole = get(api, f"/api/events?sort={sort}")["items"]
    seen: list[dict[str, Any]] = []
    url: str | None = f"/api/events?sort={sort}&limit=4&count=true"
    pages = 0
    while url is not None:
        page = get(api, url)
        seen += page["items"]
        assert page["total"] == 14
        url = page["next"]
        pages += 1
    assert seen == whole and pages == 4
    if sort == "oldest":
        assert seen[0]["id"] == scene.first("red-blue")


def test_a_cursor_of_another_sort_is_refused(api: Api, scene: Scene) -> None:
    cursor = get(api, "/api/events?limit=2")["next_cursor"]
    detail = get(api, f"/api/events?sort=score&cursor={cursor}", 422)["detail"]
    assert "sort=newest, not sort=score" in detail


# --- refusals ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("colour=reddish", ["'colour'", "reddish", ", ".join(COLOURS)]),
        ("upper_colour=teal", ["'upper_colour'", "teal", "black, white"]),
        ("direction=up", ["'direction'", "left, right, towards, away"]),
        ("kind=entered", ["kind 'entered'", "appeared, lost, recovered, ended"]),
        ("since=2024-05-01T12:00:00", ["'since'", "no UTC offset"]),
        (
            "since=2024-05-01T13:00:00Z&until=2024-05-01T12:00:00Z",
            ["since", "is not before until"],
        ),
        ("min_score=2", ["'min_score'", "less than or equal to 1"]),
        ("sort=random", ["'sort'", "newest"]),
        ("cursor=garbage", ["'cursor'", "not a cursor", "leave it out"]),
        ("limit=0", ["'limit'"]),
        ("timezone=Mars/Olympus", ["'timezone'", "IANA"]),
        ("q=on 2024-05-01 in the last hour", ["'q'", "leave no time"]),
        ("identity=bob", ["'identity'"]),
    ],
)
def test_bad_queries_are_refused_naming_the_fix(
    api: Api, query: str, words: list[str]
) -> None:
    detail = get(api, f"/api/events?{query}", 422)["detail"]
    for word in words:
        assert word in detail


# --- free text -----------------------------------------------------------------


def test_text_becomes_filters_and_says_how(api: Api, scene: Scene) -> None:
    page = get(api, "/api/events?q=man in a red jacket walking left near the dock")
    assert ids(page) == scene.of("red-blue")
    reading = page["interpreted"]
    assert reading["text"] == "man in a red jacket walking left near the dock"
    assert reading["timezone"] == "UTC"
    assert reading["filters"]["upper_colour"] == "red"
    assert reading["filters"]["label"] == ["person"]
    assert reading["filters"]["zone"] == ["dock"]
    assert reading["filters"]["direction"] == "left"
    assert reading["unused"] == []
    assert {p["filter"] for p in reading["phrases"]} == {
        "labels",
        "upper_colour",
        "direction",
        "zones",
    }
    assert page["filters"] == reading["filters"]


def test_unused_words_are_reported(api: Api, scene: Scene) -> None:
    page = get(api, "/api/events?q=a tall person with a dog on the yard camera")
    assert page["interpreted"]["unused"] == ["tall", "dog"]
    assert ids(page) == scene.of("red-black", "yellow-grey")


def test_parameters_take_precedence_over_the_text(api: Api, scene: Scene) -> None:
    page = get(api, "/api/events?q=person in a red top&upper_colour=yellow")
    assert ids(page) == scene.of("yellow-grey")
    assert page["interpreted"]["filters"]["upper_colour"] == "red"
    assert page["filters"]["upper_colour"] == "yellow"


def test_text_times_and_a_time_zone(api: Api, scene: Scene) -> None:
    page = get(
        api, "/api/events?q=person on 2024-05-01 after 14:45&timezone=Europe/Paris"
    )
    assert page["filters"]["since"] == "2024-05-01T12:45:00+00:00"
    assert ids(page) == scene.of("yellow-grey")


def test_without_q_nothing_is_interpreted_nor_counted(api: Api, scene: Scene) -> None:
    page = get(api, "/api/events?limit=1")
    assert page["interpreted"] is None and page["total"] is None


# --- snapshots -----------------------------------------------------------------


def test_snapshot_is_the_jpeg(api: Api, scene: Scene) -> None:
    event_id = scene.first("green-black")
    response = api.client.get(f"/api/events/{event_id}/snapshot")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    picture = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None and picture.shape[:2] == (90, 36)


def test_snapshot_missing_or_none_is_404(api: Api, scene: Scene) -> None:
    event_id = scene.first("green-black")
    with api.db.session() as session:
        stored = session.get(Event, event_id)
        assert stored is not None and stored.snapshot is not None
        (api.media / stored.snapshot).unlink()
        other = session.get(Event, scene.first("white-car"))
        assert other is not None
        other.snapshot = None
    detail = get(api, f"/api/events/{event_id}/snapshot", 404)["detail"]
    assert "missing from the media directory" in detail
    detail = get(api, f"/api/events/{scene.first('white-car')}/snapshot", 404)["detail"]
    assert "has no snapshot" in detail
    assert "no event" in get(api, "/api/events/424242/snapshot", 404)["detail"]


# --- similar -------------------------------------------------------------------


def test_similar_to_an_event(api: Api, scene: Scene) -> None:
    event_id = scene.first("red-blue")
    page = get(api, f"/api/events/{event_id}/similar?limit=3")
    assert page["query"]["track_id"] == scene.tracks["red-blue"]
    assert page["query"]["upper_colour"] == "red"
    first = page["items"][0]
    assert first["track_id"] == scene.tracks["red-black"]
    assert first["camera"] == "yard" and first["identity_id"] == 1
    assert first["snapshot_url"] == (
        f"/api/events/{scene.events['red-black'][-1]}/snapshot"
    )
    assert first["first_seen"] == "2024-05-01T12:20:00+00:00"
    distances = [item["distance"] for item in page["items"]]
    assert distances == sorted(distances) and len(distances) == 3
    assert scene.tracks["red-blue"] not in {i["track_id"] for i in page["items"]}
    assert (page["candidates"], page["bounded"]) == (5, False)

    page = get(api, f"/api/events/{event_id}/similar?camera=gate&label=truck")
    assert [i["track_id"] for i in page["items"]] == [scene.tracks["blue-truck"]]


def test_similar_to_an_event_without_appearance_is_409(api: Api, scene: Scene) -> None:
    with api.db.session() as session:
        track = session.get(Track, scene.tracks["white-car"])
        assert track is not None
        track.appearance = None
    detail = get(api, f"/api/events/{scene.first('white-car')}/similar", 409)["detail"]
    assert "no appearance descriptor" in detail
    get(api, "/api/events/424242/similar", 404)


def _encoded(crop: np.ndarray, ext: str) -> bytes:
    ok, data = cv2.imencode(ext, crop)
    assert ok
    return data.tobytes()


@pytest.mark.parametrize(
    ("crop", "ext", "kind", "closest"),
    [
        (person("green", "black", height=240), ".png", "image/png", "green-black"),
        (person("red", "blue"), ".jpg", "image/jpeg", "red-blue"),
        (vehicle("white"), ".jpg", "image/jpeg", "white-car"),
    ],
)
def test_similar_to_a_picture(
    api: Api, scene: Scene, crop: np.ndarray, ext: str, kind: str, closest: str
) -> None:
    response = api.client.post(
        "/api/search/similar?limit=2",
        content=_encoded(crop, ext),
        headers={"content-type": kind},
    )
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["items"][0]["track_id"] == scene.tracks[closest]
    assert page["query"]["event_id"] is None
    assert page["candidates"] == 6 and len(page["items"]) == 2


def test_similar_to_a_picture_with_filters(api: Api, scene: Scene) -> None:
    response = api.client.post(
        "/api/search/similar?camera=yard&label=person&since=2024-05-01T12:30:00Z",
        content=_encoded(person("red", "blue"), ".png"),
        headers={"content-type": "image/png"},
    )
    assert response.status_code == 200, response.text
    page = response.json()
    assert [i["track_id"] for i in page["items"]] == [scene.tracks["yellow-grey"]]
    assert page["query"]["upper_colour"] == "red"


@pytest.mark.parametrize(
    ("body", "kind", "status", "words"),
    [
        (b"", "image/jpeg", 422, "the body is empty"),
        (b"hello", "text/plain", 415, "send image/jpeg or image/png"),
        (b"", "", 415, "(none)"),
        (b"GIF89a....", "image/png", 422, "not a JPEG or PNG"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 40, "image/jpeg", 422, "cannot be decoded"),
        (_encoded(np.zeros((10, 10, 3), np.uint8), ".png"), "image/png", 422, "10x10"),
    ],
)
def test_bad_pictures_are_refused_naming_the_problem(
    api: Api, body: bytes, kind: str, status: int, words: str
) -> None:
    headers = {"content-type": kind} if kind else {}
    response = api.client.post("/api/search/similar", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]


def test_search_is_in_the_openapi_description(api: Api) -> None:
    paths = get(api, "/openapi.json")["paths"]
    assert {"/api/events", "/api/events/{event_id}/similar"} <= set(paths)
    body = paths["/api/search/similar"]["post"]["requestBody"]["content"]
    assert set(body) == {"image/jpeg", "image/png"}
    scope = {"limit", "camera", "since", "until", "label"}
    for path, method in (
        ("/api/events/{event_id}/similar", "get"),
        ("/api/search/similar", "post"),
    ):
        names = {p["name"] for p in paths[path][method]["parameters"]}
        assert scope <= names, f"{method} {path}: {names}"


def test_text_times_default_to_the_site_time_zone(api: Api, scene: Scene) -> None:
    api.site.timezone = "Europe/Paris"
    page = get(api, "/api/events?q=person on 2024-05-01 after 14:45")
    assert page["interpreted"]["timezone"] == "Europe/Paris"
    assert page["filters"]["since"] == "2024-05-01T12:45:00+00:00"
