"""Identities through the live service and the API: stored attributes, joins
across cameras, journeys, snapshots and footage, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from tests.api.conftest import T0, Api
from tests.api.test_incidents import index_segment
from watchfloor.config import SiteConfig
from watchfloor.identities import IdentityService
from watchfloor.models import Clip, Event, Identity, Track
from watchfloor.pipeline import FinishedTrack
from watchfloor.tracking.appearance import describe

RED_BLUE = ((30, 30, 200), (200, 60, 10))
GREEN_WHITE = ((40, 160, 40), (235, 235, 235))


def person(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> np.ndarray:
    crop = np.full((90, 36, 3), (90, 140, 90), np.uint8)
    crop[12:45, 6:30] = top
    crop[45:85, 8:28] = bottom
    return crop


def overlapping(api: Api) -> SiteConfig:
    return api.site.model_copy(
        update={
            "topology": api.site.topology.model_validate(
                {"overlaps": [["gate", "yard"]]}
            )
        }
    )


def stored_track(api: Api, camera: str, start_s: float, end_s: float) -> int:
    with api.db.session() as session:
        track = Track(
            camera=camera,
            tracker_id=1,
            label="person",
            first_seen=T0 + timedelta(seconds=start_s),
            last_seen=T0 + timedelta(seconds=end_s),
            best_score=0.8,
            snapshot=None,
        )
        session.add(track)
        session.flush()
        session.add(
            Event(
                track_id=track.id,
                camera=camera,
                kind="appeared",
                time=track.first_seen,
                label="person",
                score=0.8,
                x1=0.1,
                y1=0.1,
                x2=0.2,
                y2=0.4,
            )
        )
        return track.id


def finished(
    camera: str, start_s: float, end_s: float, colours: tuple[tuple[int, ...], ...]
) -> FinishedTrack:
    return FinishedTrack(
        camera=camera,
        tracker_id=1,
        label="person",
        first_seen=T0 + timedelta(seconds=start_s),
        last_seen=T0 + timedelta(seconds=end_s),
        appearance=describe([person(*colours)] * 3),  # type: ignore[arg-type]
        direction="right",
        size_class="medium",
    )


def test_tracks_seen_together_by_overlapping_cameras_become_one_identity(
    api: Api,
) -> None:
    service = IdentityService(overlapping(api), api.db)
    gate = stored_track(api, "gate", 0, 10)
    yard = stored_track(api, "yard", 2, 12)
    other = stored_track(api, "yard", 1, 9)
    service.track_finished(gate, finished("gate", 0, 10, RED_BLUE))
    service.track_finished(yard, finished("yard", 2, 12, RED_BLUE))
    service.track_finished(other, finished("yard", 1, 9, GREEN_WHITE))
    assignments = service.flush()
    assert len(assignments) == 3

    with api.db.session() as session:
        tracks = {t.id: t for t in session.scalars(select(Track))}
        assert tracks[gate].identity_id == tracks[yard].identity_id
        assert tracks[other].identity_id not in (None, tracks[gate].identity_id)
        assert (tracks[gate].upper_colour, tracks[gate].lower_colour) == (
            "red",
            "blue",
        )
        assert tracks[gate].direction == "right"
        assert tracks[gate].appearance is not None
        event = session.scalars(select(Event).where(Event.track_id == yard)).one()
        assert event.identity_id == tracks[yard].identity_id
        assert (event.upper_colour, event.direction) == ("red", "right")
        joined = session.get(Identity, tracks[gate].identity_id)
        assert joined is not None
        assert (joined.tracks, joined.cameras) == (2, "gate,yard")
        assert joined.first_seen == T0 and joined.last_seen == T0 + timedelta(
            seconds=12
        )
        identity_id = joined.id

    answer = api.client.get(f"/api/identities/{identity_id}")
    assert answer.status_code == 200
    assert answer.json()["cameras"] == ["gate", "yard"]

    journey = api.client.get(f"/api/identities/{identity_id}/journey").json()
    assert [a["camera"] for a in journey["appearances"]] == ["gate", "yard"]
    first = journey["appearances"][0]
    assert first["upper_colour"] == "red"
    assert first["footage_url"].startswith("/api/cameras/gate/footage?start=")
    assert first["snapshot_url"] is None  # the stored track has no snapshot

    listed = api.client.get("/api/identities", params={"min_cameras": 2}).json()
    assert [i["id"] for i in listed["items"]] == [identity_id]
    by_camera = api.client.get("/api/identities", params={"camera": "gate"}).json()
    assert [i["id"] for i in by_camera["items"]] == [identity_id]


def test_an_alert_names_its_identity(api: Api) -> None:
    service = IdentityService(overlapping(api), api.db)
    gate = stored_track(api, "gate", 0, 10)
    alert = api.add_alert(track_id=gate)
    assert api.client.get(f"/api/alerts/{alert}").json()["identity_id"] is None
    service.track_finished(gate, finished("gate", 0, 10, RED_BLUE))
    (assignment,) = service.flush()
    shown = api.client.get(f"/api/alerts/{alert}").json()
    assert shown["identity_id"] == assignment.identity
    listed = api.client.get("/api/alerts").json()["items"]
    assert listed[0]["identity_id"] == assignment.identity


def test_a_track_without_usable_crops_is_stored_and_stays_alone(api: Api) -> None:
    service = IdentityService(overlapping(api), api.db)
    gate = stored_track(api, "gate", 0, 10)
    blind = FinishedTrack("gate", 1, "person", T0, T0, None, None, None)
    service.track_finished(gate, blind)
    (assignment,) = service.flush()
    assert not assignment.joined
    with api.db.session() as session:
        track = session.get(Track, gate)
        assert track is not None and track.appearance is None
        assert track.identity_id == assignment.identity


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/api/identities/999", 404, "no identity 999"),
        ("/api/identities/999/journey", 404, "no identity 999"),
        ("/api/tracks/999/snapshot", 404, "no track 999"),
        (
            "/api/cameras/nowhere/footage?start=2024-05-01T12:00:00Z"
            "&end=2024-05-01T12:00:10Z",
            404,
            "no camera named 'nowhere'",
        ),
        (
            "/api/cameras/gate/footage?start=2024-05-01T12:00:10Z"
            "&end=2024-05-01T12:00:00Z",
            422,
            "not after 'start'",
        ),
        (
            "/api/cameras/gate/footage?start=2024-05-01T12:00:00Z"
            "&end=2024-05-01T14:00:00Z",
            422,
            "at most",
        ),
        (
            "/api/cameras/gate/footage?start=2024-05-01T12:00:00Z"
            "&end=2024-05-01T12:00:10Z",
            404,
            "gate",
        ),
        ("/api/identities?cursor=nonsense", 422, "cursor"),
    ],
)
def test_errors_name_the_problem(api: Api, path: str, status: int, words: str) -> None:
    answer = api.client.get(path)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["detail"]


def test_footage_is_cut_from_the_recordings_and_served_with_ranges(
    api: Api, small_mp4: Path
) -> None:
    index_segment(api, small_mp4)
    url = (
        "/api/cameras/gate/footage?start=2024-05-01T12:00:00Z&end=2024-05-01T12:00:01Z"
    )
    whole = api.client.get(url)
    assert whole.status_code == 200, whole.text
    assert whole.headers["content-type"] == "video/mp4"
    part = api.client.get(url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    with api.db.session() as session:
        assert len(session.scalars(select(Clip)).all()) == 1  # cut once, then kept
