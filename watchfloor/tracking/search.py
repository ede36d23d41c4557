"""Footage search: events by what was seen, a page at a time, and similar tracks.

:func:`search_events` turns an :class:`EventFilter` into one query on the
``events`` table, whose copies of their track's identity and attributes let
every filter but zone and rule be answered from that table and its indexes.
Pages are keyset pages: a cursor names the last event shown (its time, or its
score, and its id), so a page never repeats or skips an event when new ones
arrive meanwhile.

:func:`similar_tracks` ranks tracks by the distance of their appearance
descriptors (:func:`watchfloor.tracking.appearance.appearance_distance`) to a
given one, by brute force over a bounded number of candidates.

Both take an open SQLAlchemy session and need no HTTP: the API and the
benchmark call the same functions.

Limitations:
    ``has_clip`` asks whether the segment of the event's camera that started
    last at or before the event's time ends at or after it. That is the same
    as "some segment covers it" because a camera's segments follow one another
    without overlapping, as the recorder writes them, and it keeps the test to
    one index probe per event. Still, ``has_clip=False`` tests events newest
    first until it has a page of uncovered ones, which costs most where
    footage is rarely missing (some 35 ms on PostgreSQL over a million events,
    see ``bench/RESULTS.md``). Similar search compares at most
    :data:`MAX_CANDIDATES` tracks, the most recently first seen of those the
    filters admit: narrow the time range to reach further back.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    false,
    func,
    not_,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from watchfloor.models import Alert, Event, Segment, Track
from watchfloor.tracking.appearance import (
    COLOURS,
    DESCRIPTOR_SIZE,
    DIRECTIONS,
    appearance_distances,
)

EVENT_KINDS = ("appeared", "lost", "recovered", "ended")
"""What a track can do, as events record it."""

MAX_CANDIDATES = 20_000
"""Most tracks one similar search compares (their descriptors are 224 bytes:
20,000 take about 4.5 MB and a few tens of milliseconds to rank)."""

COUNT_CAP = 1_000
"""Matches counted at most for a page's total; past it the total is a floor."""


class SearchError(ValueError):
    """A search cannot be made as asked; the message says what to change."""


class EventOrder(StrEnum):
    """The order of search results."""

    NEWEST = "newest"
    OLDEST = "oldest"
    SCORE = "score"


@dataclass(frozen=True)
class EventFilter:
    """What events to find; every given field must hold (AND), lists are OR.

    Attributes:
        cameras: Only these cameras' events.
        since: At or after this time (aware).
        until: Before this time (aware).
        labels: Only of these object classes.
        kinds: Only these kinds (:data:`EVENT_KINDS`).
        zones: Only events of tracks that have an alert in one of these zones.
        rules: Only events of tracks that have an alert of one of these rules
            (with ``zones`` too: one alert must match both).
        identity: Only of this cross-camera identity.
        colour: Dominant colour of the whole object (:data:`COLOURS`).
        upper_colour: Of a person's upper body.
        lower_colour: Of a person's lower body.
        direction: Direction of travel (:data:`DIRECTIONS`).
        min_score: Detection score at least this.
        has_clip: True: only events whose camera has a segment covering their
            time; False: only those without one.

    Raises:
        SearchError: A value is not one the search knows, or since is not
            before until.

    Example:
        >>> EventFilter(cameras=("gate",), upper_colour="red").given()
        {'cameras': ('gate',), 'upper_colour': 'red'}
    """

    cameras: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    labels: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    identity: int | None = None
    colour: str | None = None
    upper_colour: str | None = None
    lower_colour: str | None = None
    direction: str | None = None
    min_score: float | None = None
    has_clip: bool | None = None

    def __post_init__(self) -> None:
        for name in ("colour", "upper_colour", "lower_colour"):
            check_choice(name, getattr(self, name), COLOURS, "colour")
        check_choice("direction", self.direction, DIRECTIONS, "direction")
        for kind in self.kinds:
            check_choice("kind", kind, EVENT_KINDS, "event kind")
        check_span(self.since, self.until)
        if self.min_score is not None and not 0 <= self.min_score <= 1:
            raise SearchError(
                f"min_score {self.min_score} is outside 0..1; scores are fractions"
            )

    def given(self) -> dict[str, Any]:
        """The fields that filter something, by name."""
        return {
            item.name: getattr(self, item.name)
            for item in dataclasses.fields(self)
            if getattr(self, item.name) not in (None, ())
        }

    def overridden_by(self, other: EventFilter) -> EventFilter:
        """This filter with every field that ``other`` gives taken from ``other``.

        Raises:
            SearchError: The combined since is not before the combined until.
        """
        return dataclasses.replace(self, **other.given())


def check_span(since: datetime | None, until: datetime | None) -> None:
    """Refuse a time range with a naive end or ``since`` not before ``until``."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise SearchError(
                f"{name} {value.isoformat()} has no UTC offset; give an aware time"
            )
    if since is not None and until is not None and since >= until:
        raise SearchError(
            f"since ({since.isoformat()}) is not before until "
            f"({until.isoformat()}); give since < until"
        )


def check_choice(
    field: str, value: str | None, allowed: Sequence[str], noun: str
) -> None:
    """Refuse a value that is not one of ``allowed``, naming them.

    Raises:
        SearchError: ``value`` is given and not in ``allowed``.
    """
    if value is not None and value not in allowed:
        raise SearchError(
            f"{field} {value!r} is not a known {noun}; use one of {', '.join(allowed)}"
        )


@dataclass(frozen=True)
class EventHit:
    """One event found, with its track's span and whether footage covers it.

    Attributes:
        id: The event's id.
        track_id: Its track's id.
        camera: Its camera.
        kind: What the track did (:data:`EVENT_KINDS`).
        time: When.
        label: The object class.
        score: The detection score at that moment.
        box: ``(x1, y1, x2, y2)`` as fractions of the frame.
        identity_id: The track's cross-camera identity, once resolved.
        colour: Dominant colour of the whole object.
        upper_colour: Of a person's upper body.
        lower_colour: Of a person's lower body.
        direction: Direction of travel.
        size_class: small, medium or large (the track's).
        has_snapshot: Whether the event has a snapshot JPEG.
        clip_available: Whether a segment of its camera covers its time.
        track_start: When its track was first seen.
        track_end: When its track was last seen.
    """

    id: int
    track_id: int
    camera: str
    kind: str
    time: datetime
    label: str
    score: float
    box: tuple[float, float, float, float]
    identity_id: int | None
    colour: str | None
    upper_colour: str | None
    lower_colour: str | None
    direction: str | None
    size_class: str | None
    has_snapshot: bool
    clip_available: bool
    track_start: datetime
    track_end: datetime


@dataclass(frozen=True)
class EventResults:
    """One page of events.

    Attributes:
        hits: The events, in the order asked for.
        next_cursor: Passed back as ``cursor``, gives the following page;
            None on the last page.
        total: How many events match on all pages, when counted; at most
            :data:`COUNT_CAP`.
        total_exact: False when there are more than :data:`COUNT_CAP`
            matches and ``total`` is a floor.
    """

    hits: list[EventHit]
    next_cursor: str | None
    total: int | None = None
    total_exact: bool = True


def search_events(
    session: Session,
    filters: EventFilter,
    order: EventOrder = EventOrder.NEWEST,
    limit: int = 50,
    cursor: str | None = None,
    count: bool = False,
) -> EventResults:
    """The events that match ``filters``, one page in ``order``.

    Args:
        session: An open session.
        filters: What to find.
        order: Newest first (the default), oldest first, or best score first
            (ties newest id first).
        limit: Events per page.
        cursor: A previous page's ``next_cursor`` for the same order.
        count: Also count the matches, up to :data:`COUNT_CAP`.

    Raises:
        SearchError: The cursor is not one this function gave for ``order``,
            or ``limit`` is not positive.

    Example:
        >>> people = EventFilter(labels=("person",))
        >>> page = search_events(session, people)  # doctest: +SKIP
        >>> cursor = page.next_cursor  # doctest: +SKIP
        >>> more = search_events(session, people, cursor=cursor)  # doctest: +SKIP
    """
    if limit < 1:
        raise SearchError(f"limit is {limit}; ask for at least 1 event")

    plan_for_the_values(session)
    rows = session.execute(event_query(filters, order, limit + 1, cursor)).all()
    hits = _hits(session, rows[:limit])
    next_cursor = _cursor(order, hits[-1]) if len(rows) > limit else None

    total: int | None = None
    exact = True
    if count:
        conditions = event_conditions(filters)
        counted = select(Event.id).where(*conditions).limit(COUNT_CAP + 1)
        total = session.scalar(select(func.count()).select_from(counted.subquery()))
        total = total or 0
        if total > COUNT_CAP:
            total, exact = COUNT_CAP, False
    return EventResults(hits, next_cursor, total, exact)


def plan_for_the_values(session: Session) -> None:
    """On PostgreSQL, plan the rest of the transaction's queries for their values.

    The driver prepares a statement it has run a few times, and PostgreSQL
    then plans it once for any values; but the best plan of a search depends
    on them (a day or a week, a rare colour or a common one), and the generic
    plan can be several times slower. Planning each time costs a fraction of a
    millisecond.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def event_query(
    filters: EventFilter,
    order: EventOrder = EventOrder.NEWEST,
    limit: int = 50,
    cursor: str | None = None,
) -> Select[*tuple[Any, ...]]:
    """The query of one page of :func:`search_events` (``limit`` rows at most).

    Raises:
        SearchError: The cursor is not one :func:`search_events` gave for
            ``order``.
    """
    query = select(*_EVENT_COLUMNS).where(*event_conditions(filters))
    if cursor is not None:
        query = query.where(_after(order, cursor))
    return query.order_by(*_ordering(order)).limit(limit)


def get_event(session: Session, event_id: int) -> EventHit | None:
    """One event as a search shows it, or None when there is no such event."""
    rows = session.execute(select(*_EVENT_COLUMNS).where(Event.id == event_id)).all()
    hits = _hits(session, rows)
    return hits[0] if hits else None


_EVENT_COLUMNS = (
    Event.id,
    Event.track_id,
    Event.camera,
    Event.kind,
    Event.time,
    Event.label,
    Event.score,
    Event.x1,
    Event.y1,
    Event.x2,
    Event.y2,
    Event.identity_id,
    Event.colour,
    Event.upper_colour,
    Event.lower_colour,
    Event.direction,
    Event.snapshot.is_not(None).label("has_snapshot"),
)


def _hits(session: Session, rows: Sequence[Any]) -> list[EventHit]:
    """Search hits for rows of :data:`_EVENT_COLUMNS`, with their tracks' spans."""
    tracks = _track_spans(session, {row.track_id for row in rows})
    covered = _covered_events(session, [row.id for row in rows])
    hits = []
    for row in rows:
        start, end, size_class = tracks.get(row.track_id, (row.time, row.time, None))
        hits.append(
            EventHit(
                id=row.id,
                track_id=row.track_id,
                camera=row.camera,
                kind=row.kind,
                time=row.time,
                label=row.label,
                score=row.score,
                box=(row.x1, row.y1, row.x2, row.y2),
                identity_id=row.identity_id,
                colour=row.colour,
                upper_colour=row.upper_colour,
                lower_colour=row.lower_colour,
                direction=row.direction,
                size_class=size_class,
                has_snapshot=bool(row.has_snapshot),
                clip_available=row.id in covered,
                track_start=start,
                track_end=end,
            )
        )
    return hits


def event_conditions(filters: EventFilter) -> list[ColumnElement[bool]]:
    """The WHERE conditions on ``events`` that ``filters`` stand for."""
    conditions: list[ColumnElement[bool]] = []
    for column, values in (
        (Event.camera, filters.cameras),
        (Event.label, filters.labels),
        (Event.kind, filters.kinds),
    ):
        if len(values) == 1:
            conditions.append(column == values[0])
        elif values:
            conditions.append(column.in_(values))
    equal: tuple[tuple[Any, Any], ...] = (
        (Event.identity_id, filters.identity),
        (Event.colour, filters.colour),
        (Event.upper_colour, filters.upper_colour),
        (Event.lower_colour, filters.lower_colour),
        (Event.direction, filters.direction),
    )
    for column, value in equal:
        if value is not None:
            conditions.append(column == value)
    if filters.since is not None:
        conditions.append(Event.time >= filters.since)
    if filters.until is not None:
        conditions.append(Event.time < filters.until)
    if filters.min_score is not None:
        conditions.append(Event.score >= filters.min_score)
    if filters.zones or filters.rules:
        alerted = select(Alert.track_id).where(Alert.track_id.is_not(None))
        if filters.zones:
            alerted = alerted.where(Alert.zone.in_(filters.zones))
        if filters.rules:
            alerted = alerted.where(Alert.rule.in_(filters.rules))
        conditions.append(Event.track_id.in_(alerted))
    if filters.has_clip is not None:
        covered = _segment_end() >= Event.time
        conditions.append(
            covered if filters.has_clip else not_(func.coalesce(covered, false()))
        )
    return conditions


def _segment_end() -> Any:
    """The end of the segment of the event's camera that started last by its time."""
    return (
        select(Segment.end)
        .where(Segment.camera == Event.camera, Segment.start <= Event.time)
        .order_by(Segment.start.desc())
        .limit(1)
        .correlate(Event)
        .scalar_subquery()
    )


def _ordering(order: EventOrder) -> tuple[Any, ...]:
    if order is EventOrder.OLDEST:
        return Event.time.asc(), Event.id.asc()
    if order is EventOrder.SCORE:
        return Event.score.desc(), Event.id.desc()
    return Event.time.desc(), Event.id.desc()


def _after(order: EventOrder, cursor: str) -> ColumnElement[bool]:
    """Events after the cursor's, in ``order``.

    Written as a range on the sort column plus a tie-break, rather than a row
    comparison or an OR, so that both databases use the index range.
    """
    key, event_id = _decode_cursor(order, cursor)
    if order is EventOrder.SCORE:
        assert isinstance(key, float)
        return and_(Event.score <= key, or_(Event.score < key, Event.id < event_id))
    assert isinstance(key, datetime)
    if order is EventOrder.OLDEST:
        return and_(Event.time >= key, or_(Event.time > key, Event.id > event_id))
    return and_(Event.time <= key, or_(Event.time < key, Event.id < event_id))


_CURSOR_TAGS = {EventOrder.NEWEST: "n", EventOrder.OLDEST: "o", EventOrder.SCORE: "s"}


def _cursor(order: EventOrder, hit: EventHit) -> str:
    key = repr(hit.score) if order is EventOrder.SCORE else hit.time.isoformat()
    raw = f"{_CURSOR_TAGS[order]}|{key}|{hit.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(order: EventOrder, cursor: str) -> tuple[float | datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tag, key, id_text = raw.split("|")
        event_id = int(id_text)
        if tag == _CURSOR_TAGS[EventOrder.SCORE]:
            value: float | datetime = float(key)
        else:
            value = datetime.fromisoformat(key)
            if value.tzinfo is None:
                raise ValueError("no offset")
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise SearchError(
            f"cursor {cursor!r} is not a cursor this search gave; leave it out to "
            "start from the first page"
        ) from exc
    if tag != _CURSOR_TAGS[order]:
        given = next(o for o, t in _CURSOR_TAGS.items() if t == tag)
        raise SearchError(
            f"cursor {cursor!r} belongs to sort={given.value}, not "
            f"sort={order.value}; keep the sort of the first page, or leave the "
            "cursor out"
        )
    return value, event_id


def _track_spans(
    session: Session, track_ids: set[int]
) -> dict[int, tuple[datetime, datetime, str | None]]:
    """First seen, last seen and size class of each of these tracks."""
    if not track_ids:
        return {}
    rows = session.execute(
        select(Track.id, Track.first_seen, Track.last_seen, Track.size_class).where(
            Track.id.in_(track_ids)
        )
    )
    return {row.id: (row.first_seen, row.last_seen, row.size_class) for row in rows}


def _covered_events(session: Session, event_ids: list[int]) -> set[int]:
    """Those of these events that a segment of their camera covers."""
    if not event_ids:
        return set()
    rows = session.execute(
        select(Event.id).where(Event.id.in_(event_ids), _segment_end() >= Event.time)
    )
    return {row.id for row in rows}


# --- similar tracks -------------------------------------------------------------


@dataclass(frozen=True)
class TrackFilter:
    """Which tracks a similar search compares.

    Attributes:
        cameras: Only these cameras' tracks.
        since: Tracks first seen at or after this time.
        until: Tracks first seen before this time.
        labels: Only of these object classes.
        exclude: Leave this track out (the one searched from).
    """

    cameras: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    labels: tuple[str, ...] = ()
    exclude: int | None = None

    def __post_init__(self) -> None:
        check_span(self.since, self.until)


@dataclass(frozen=True)
class SimilarTrack:
    """A track ranked by how close its appearance is to the one searched for.

    Attributes:
        track_id: The track's id.
        camera: Its camera.
        label: Its object class.
        first_seen: When it was first seen.
        last_seen: When it was last seen.
        distance: Appearance distance, 0 (same colours) to 1 (none shared).
        identity_id: Its cross-camera identity, once resolved.
        colour: Dominant colour of the whole object.
        upper_colour: Of a person's upper body.
        lower_colour: Of a person's lower body.
        direction: Direction of travel.
        size_class: small, medium or large.
        event_id: Its latest event with a snapshot, which stands for it;
            None when it has none.
    """

    track_id: int
    camera: str
    label: str
    first_seen: datetime
    last_seen: datetime
    distance: float
    identity_id: int | None
    colour: str | None
    upper_colour: str | None
    lower_colour: str | None
    direction: str | None
    size_class: str | None
    event_id: int | None


@dataclass(frozen=True)
class SimilarResults:
    """The closest tracks and how far the search looked.

    Attributes:
        tracks: The closest first.
        candidates: How many tracks' descriptors were compared.
        bounded: True when more tracks matched the filters than were
            compared (:data:`MAX_CANDIDATES`, the most recent first).
    """

    tracks: list[SimilarTrack]
    candidates: int
    bounded: bool


def similar_tracks(
    session: Session,
    descriptor: np.ndarray,
    filters: TrackFilter = TrackFilter(),
    limit: int = 20,
    max_candidates: int = MAX_CANDIDATES,
) -> SimilarResults:
    """The tracks whose appearance is closest to ``descriptor``.

    Args:
        session: An open session.
        descriptor: An appearance descriptor (:data:`DESCRIPTOR_SIZE` values).
        filters: Which tracks to compare.
        limit: How many to return.
        max_candidates: Most tracks compared, the most recently first seen.

    Raises:
        SearchError: The descriptor has the wrong size, or ``limit`` is not
            positive.
    """
    query_vector = np.asarray(descriptor, dtype=np.float64).ravel()
    if query_vector.size != DESCRIPTOR_SIZE:
        raise SearchError(
            f"the descriptor has {query_vector.size} values; expected {DESCRIPTOR_SIZE}"
        )
    if limit < 1:
        raise SearchError(f"limit is {limit}; ask for at least 1 track")

    query = select(Track.id, Track.appearance).where(Track.appearance.is_not(None))
    if filters.cameras:
        query = query.where(Track.camera.in_(filters.cameras))
    if filters.labels:
        query = query.where(Track.label.in_(filters.labels))
    if filters.since is not None:
        query = query.where(Track.first_seen >= filters.since)
    if filters.until is not None:
        query = query.where(Track.first_seen < filters.until)
    if filters.exclude is not None:
        query = query.where(Track.id != filters.exclude)
    query = query.order_by(Track.first_seen.desc(), Track.id.desc())
    plan_for_the_values(session)
    # Through the connection: plain rows, without the ORM's per-row work.
    result = session.connection().execute(query.limit(max_candidates + 1))
    size = DESCRIPTOR_SIZE * 4
    ids: list[int] = []
    blobs: list[bytes] = []
    compared, bounded = 0, False
    for track_id, blob in result:
        if compared == max_candidates:
            bounded = True
            break
        compared += 1
        if blob is not None and len(blob) == size:
            ids.append(track_id)
            blobs.append(blob)
    result.close()
    if not ids:
        return SimilarResults([], compared, bounded)

    matrix = np.frombuffer(b"".join(blobs), np.float32).reshape(-1, DESCRIPTOR_SIZE)
    distances = descriptor_distances(query_vector, matrix)
    best = np.argsort(distances, kind="stable")[:limit]
    chosen = {ids[i]: float(distances[i]) for i in best}
    return SimilarResults(_similar_rows(session, chosen), compared, bounded)


def descriptor_distances(query: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """:func:`~watchfloor.tracking.appearance.appearance_distance` to many at once.

    Args:
        query: One descriptor.
        candidates: One descriptor per row.

    Returns:
        One distance per row of ``candidates``.
    """
    out: np.ndarray = appearance_distances(query, candidates)[0]
    return out


def _similar_rows(session: Session, chosen: dict[int, float]) -> list[SimilarTrack]:
    """The chosen tracks, closest first, with an event that stands for each."""
    tracks = session.execute(select(Track).where(Track.id.in_(chosen))).scalars()
    by_id = {track.id: track for track in tracks}
    rows = session.execute(
        select(Event.track_id, func.max(Event.id))
        .where(Event.track_id.in_(chosen), Event.snapshot.is_not(None))
        .group_by(Event.track_id)
    )
    events = {track_id: event_id for track_id, event_id in rows}
    ranked = sorted(chosen, key=lambda track_id: (chosen[track_id], -track_id))
    return [
        SimilarTrack(
            track_id=track.id,
            camera=track.camera,
            label=track.label,
            first_seen=track.first_seen,
            last_seen=track.last_seen,
            distance=chosen[track.id],
            identity_id=track.identity_id,
            colour=track.colour,
            upper_colour=track.upper_colour,
            lower_colour=track.lower_colour,
            direction=track.direction,
            size_class=track.size_class,
            event_id=events.get(track.id),
        )
        for track in (by_id[i] for i in ranked if i in by_id)
    ]
