"""Event search and similar tracks on SQLite and PostgreSQL, over a known scene."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.databases import database_url
from tests.tracking.search_scene import Scene, add_scene, at, person, vehicle
from watchfloor.models import Event, Track
from watchfloor.models.database import Database
from watchfloor.tracking.appearance import appearance_distance, describe
from watchfloor.tracking.search import (
    COUNT_CAP,
    EventFilter,
    EventOrder,
    SearchError,
    TrackFilter,
    descriptor_distances,
    get_event,
    search_events,
    similar_tracks,
)


@dataclass
class Searched:
    """A database holding the scene."""

    db: Database
    scene: Scene


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def searched(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Searched]:
    """The scene in a fresh database, once SQLite and once PostgreSQL; read only."""
    with database_url(request.param, tmp_path_factory.mktemp("search")) as url:
        db = Database.open(url)
        try:
            yield Searched(db, add_scene(db))
        finally:
            db.close()


def found(searched: Searched, filters: EventFilter, **kwargs: Any) -> list[int]:
    with searched.db.session() as session:
        return [hit.id for hit in search_events(session, filters, **kwargs).hits]


ALL = (
    "red-blue",
    "green-black",
    "red-black",
    "white-car",
    "blue-truck",
    "yellow-grey",
)


@pytest.mark.parametrize(
    ("filters", "tracks"),
    [
        pytest.param(EventFilter(), ALL, id="none"),
        pytest.param(EventFilter(cameras=("gate",)), ALL[:2] + ALL[4:5], id="camera"),
        pytest.param(
            EventFilter(cameras=("gate", "yard")), ALL, id="cameras-any-of-them"
        ),
        pytest.param(EventFilter(labels=("car", "truck")), ALL[3:5], id="labels"),
        pytest.param(EventFilter(identity=1), ("red-blue", "red-black"), id="identity"),
        pytest.param(EventFilter(colour="red"), ("red-blue", "red-black"), id="colour"),
        pytest.param(
            EventFilter(upper_colour="red", lower_colour="black"),
            ("red-black",),
            id="upper-and-lower",
        ),
        pytest.param(EventFilter(lower_colour="grey"), ("yellow-grey",), id="lower"),
        pytest.param(
            EventFilter(direction="left"), ("red-blue", "yellow-grey"), id="direction"
        ),
        pytest.param(EventFilter(zones=("dock",)), ("red-blue",), id="zone"),
        pytest.param(EventFilter(rules=("fence-crossing",)), ("red-black",), id="rule"),
        pytest.param(
            EventFilter(zones=("dock",), rules=("fence-crossing",)),
            (),
            id="zone-and-rule-of-one-alert",
        ),
        pytest.param(
            EventFilter(has_clip=True),
            ("red-blue", "green-black", "white-car"),
            id="has-clip",
        ),
        pytest.param(
            EventFilter(has_clip=False),
            ("red-black", "blue-truck", "yellow-grey"),
            id="has-no-clip",
        ),
        pytest.param(
            EventFilter(since=at(10), until=at(32)),
            ("green-black", "red-black", "white-car"),
            id="since-until",
        ),
        pytest.param(
            EventFilter(labels=("person",), colour="red", cameras=("yard",)),
            ("red-black",),
            id="combined",
        ),
        pytest.param(EventFilter(colour="purple"), (), id="nothing-matches"),
    ],
)
def test_filters_find_the_events_of_the_right_tracks(
    searched: Searched, filters: EventFilter, tracks: tuple[str, ...]
) -> None:
    assert set(found(searched, filters)) == searched.scene.of(*tracks)


@pytest.mark.parametrize(
    ("filters", "events"),
    [
        pytest.param(EventFilter(kinds=("lost", "recovered")), 2, id="kinds"),
        pytest.param(EventFilter(min_score=0.8), 5, id="min-score"),
        pytest.param(EventFilter(since=at(50)), 2, id="since-is-inclusive"),
        pytest.param(EventFilter(until=at(50)), 12, id="until-is-exclusive"),
    ],
)
def test_filters_on_the_events_themselves(
    searched: Searched, filters: EventFilter, events: int
) -> None:
    assert len(found(searched, filters)) == events


def test_orders_newest_oldest_and_by_score(searched: Searched) -> None:
    with searched.db.session() as session:
        newest = search_events(session, EventFilter()).hits
        oldest = search_events(session, EventFilter(), EventOrder.OLDEST).hits
        best = search_events(session, EventFilter(), EventOrder.SCORE).hits
    assert [h.time for h in newest] == sorted((h.time for h in newest), reverse=True)
    assert [h.id for h in oldest] == [h.id for h in reversed(newest)]
    scores = [h.score for h in best]
    assert scores == sorted(scores, reverse=True) and scores[0] == 0.9


@pytest.mark.parametrize("order", list(EventOrder))
def test_pages_cover_every_event_once_in_order(
    searched: Searched, order: EventOrder
) -> None:
    with searched.db.session() as session:
        whole = [h.id for h in search_events(session, EventFilter(), order).hits]
        paged: list[int] = []
        cursor = None
        for _ in range(10):
            page = search_events(session, EventFilter(), order, 3, cursor)
            paged += [hit.id for hit in page.hits]
            cursor = page.next_cursor
            if cursor is None:
                break
    assert paged == whole and len(whole) == 14


def test_a_page_does_not_shift_when_new_events_arrive(tmp_path: Path) -> None:
    db = Database.open(f"sqlite:///{tmp_path / 'w.db'}")
    add_scene(db)
    with db.session() as session:
        whole = [hit.id for hit in search_events(session, EventFilter()).hits]
        first = search_events(session, EventFilter(), limit=4)
    with db.session() as session:
        track = Track(
            camera="gate",
            tracker_id=99,
            label="person",
            first_seen=at(70),
            last_seen=at(70),
            best_score=0.9,
        )
        session.add(track)
        session.flush()
        for kind in ("appeared", "ended"):
            session.add(
                Event(
                    track_id=track.id,
                    camera="gate",
                    kind=kind,
                    time=at(70),
                    label="person",
                    score=0.9,
                    x1=0,
                    y1=0,
                    x2=1,
                    y2=1,
                )
            )
    with db.session() as session:
        second = search_events(
            session, EventFilter(), limit=4, cursor=first.next_cursor
        )
    assert [hit.id for hit in first.hits + second.hits] == whole[:8]
    db.close()


def test_hits_carry_attributes_footage_and_clip(searched: Searched) -> None:
    scene = searched.scene
    with searched.db.session() as session:
        hit = get_event(session, scene.first("red-blue"))
        uncovered = get_event(session, scene.first("red-black"))
        assert get_event(session, 10_000) is None
    assert hit is not None and uncovered is not None
    assert (hit.camera, hit.kind, hit.label, hit.identity_id) == (
        "gate",
        "appeared",
        "person",
        1,
    )
    assert (hit.upper_colour, hit.lower_colour, hit.direction) == (
        "red",
        "blue",
        "left",
    )
    assert (hit.track_start, hit.track_end) == (at(0), at(2))
    assert hit.clip_available and not uncovered.clip_available
    assert hit.has_snapshot and hit.size_class == "medium"


def test_count_is_capped(searched: Searched) -> None:
    with searched.db.session() as session:
        page = search_events(session, EventFilter(cameras=("gate",)), count=True)
    assert (page.total, page.total_exact) == (8, True)
    assert COUNT_CAP >= 1000


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda: EventFilter(colour="reddish"), "use one of", id="colour"),
        pytest.param(lambda: EventFilter(direction="up"), "direction", id="direction"),
        pytest.param(lambda: EventFilter(kinds=("entered",)), "event kind", id="kind"),
        pytest.param(
            lambda: EventFilter(since=at(5), until=at(5)), "since <", id="time-range"
        ),
        pytest.param(
            lambda: EventFilter(since=at(5).replace(tzinfo=None)), "offset", id="naive"
        ),
        pytest.param(lambda: EventFilter(min_score=2), "0..1", id="score"),
    ],
)
def test_bad_filters_are_refused_naming_the_fix(make: Any, message: str) -> None:
    with pytest.raises(SearchError, match=message):
        make()


def test_cursors_of_another_order_or_made_up_are_refused(searched: Searched) -> None:
    with searched.db.session() as session:
        page = search_events(session, EventFilter(), limit=2)
        assert page.next_cursor is not None
        with pytest.raises(SearchError, match="sort=newest, not sort=score"):
            search_events(session, EventFilter(), EventOrder.SCORE, 2, page.next_cursor)
        with pytest.raises(SearchError, match="not a cursor"):
            search_events(session, EventFilter(), cursor="bm9wZQ")


def test_vectorised_distances_equal_the_pairwise_ones() -> None:
    looks = [
        describe([person("red", "blue")]),
        describe([person("green", "black")]),
        describe([vehicle("white")]),
    ]
    matrix = np.stack([look.descriptor for look in looks if look is not None])
    empty = np.zeros_like(matrix[0])
    rows = np.vstack([matrix, empty])
    for query in [*matrix, empty]:
        expected = [appearance_distance(query, row) for row in rows]
        assert descriptor_distances(query, rows) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("crop", "closest"),
    [
        pytest.param(person("red", "blue", height=180), "red-blue", id="red-blue"),
        pytest.param(person("green", "black"), "green-black", id="green-black"),
        pytest.param(person("yellow", "grey"), "yellow-grey", id="yellow-grey"),
        pytest.param(vehicle("white"), "white-car", id="white-car"),
    ],
)
def test_similar_tracks_rank_the_same_colours_first(
    searched: Searched, crop: np.ndarray, closest: str
) -> None:
    look = describe([crop])
    assert look is not None
    with searched.db.session() as session:
        result = similar_tracks(session, look.descriptor, limit=3)
    assert result.tracks[0].track_id == searched.scene.tracks[closest]
    assert result.tracks[0].distance < 0.2
    distances = [track.distance for track in result.tracks]
    assert distances == sorted(distances)
    assert (result.candidates, result.bounded) == (6, False)


def test_similar_tracks_filter_exclude_and_bound(searched: Searched) -> None:
    scene = searched.scene
    look = describe([person("red", "blue")])
    assert look is not None
    with searched.db.session() as session:
        others = similar_tracks(
            session, look.descriptor, TrackFilter(exclude=scene.tracks["red-blue"])
        )
        yard = similar_tracks(
            session, look.descriptor, TrackFilter(cameras=("yard",), labels=("person",))
        )
        recent = similar_tracks(session, look.descriptor, max_candidates=2)
        late = similar_tracks(session, look.descriptor, TrackFilter(since=at(45)))
    assert others.tracks[0].track_id == scene.tracks["red-black"]
    assert scene.tracks["red-blue"] not in {t.track_id for t in others.tracks}
    assert {t.track_id for t in yard.tracks} == {
        scene.tracks["red-black"],
        scene.tracks["yellow-grey"],
    }
    assert (recent.candidates, recent.bounded) == (2, True)
    assert {t.track_id for t in recent.tracks} == {
        scene.tracks["blue-truck"],
        scene.tracks["yellow-grey"],
    }
    assert [t.track_id for t in late.tracks] == [scene.tracks["yellow-grey"]]
    best = others.tracks[0]
    assert best.event_id == scene.events["red-black"][-1] and best.identity_id == 1


def test_similar_tracks_refuse_a_wrong_descriptor(searched: Searched) -> None:
    with searched.db.session() as session, pytest.raises(SearchError, match="56"):
        similar_tracks(session, np.zeros(10))
