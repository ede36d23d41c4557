"""Benchmark of event search over a million events, on SQLite and PostgreSQL.

Run from the repository root::

    python -m bench.search                                # print the section
    python -m bench.search --results bench/RESULTS.md     # and write it there
    python -m bench.search --events 20000 --rounds 3      # a quick look
    python -m bench.search --explain                      # query plans too

A site's week is made up (deterministically, from ``--seed``): 20 cameras,
tracks of people (with upper and lower colours, most joined into identities
across cameras) and vehicles (with a body colour), each with its events
(appeared, ended, and lost and recovered pairs in between), directions and
size classes, appearance descriptors, a few hundred alerts in zones and across
lines, and 60-second segments covering each camera's week but for a few
outages. It is written into a fresh SQLite file and a fresh PostgreSQL database
(``watchfloor_bench_search``, dropped afterwards unless ``--keep``), migrated
to the newest schema, by bulk insert (``executemany`` in large batches on
SQLite, ``COPY`` on PostgreSQL) with the search indexes built after the load,
then ``ANALYZE`` (``VACUUM ANALYZE`` on PostgreSQL).

Each query of :data:`QUERIES` is what an investigator asks (each filter alone,
combinations, paging to page 3, plain-English text, footage coverage), run
through :func:`watchfloor.tracking.search.search_events` as the API runs it
(a page of 50, in a new session each time; text is parsed by
:func:`watchfloor.tracking.search_text.interpret` inside the timed call): once
to warm up, then ``--rounds`` times; then a quarter as many times with the
count of matches (``count=true``, capped at 1,000), which an investigator asks
for separately. Similar search by appearance is timed the same way beside
them.

Limitations:
    The machine's two cores are shared with other work, and the database
    server runs on the same machine: these are latencies under that load,
    with a warm cache (the database fits in memory). The data is synthetic:
    its mix of cameras, labels and colours is a guess at a busy site, and a
    site whose searches hit rarer or commoner values will see other times.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import platform
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.results import write_section
from watchfloor.models import Base
from watchfloor.models.database import Database
from watchfloor.tracking.appearance import (
    COLOURS,
    DESCRIPTOR_SIZE,
    DIRECTIONS,
    describe,
)
from watchfloor.tracking.search import (
    EventFilter,
    EventOrder,
    EventResults,
    TrackFilter,
    event_query,
    search_events,
    similar_tracks,
)
from watchfloor.tracking.search_text import SiteNames, interpret

log = logging.getLogger("bench.search")

OUT = Path(__file__).resolve().parent / "out" / "search"
SECTION = "## Event search"
PG_NAME = "watchfloor_bench_search"
PG_ADMIN = os.environ.get(
    "WATCHFLOOR_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
START = datetime(2026, 11, 23, tzinfo=UTC)
"""The start of the made-up week (a Monday)."""
NOW = datetime(2026, 11, 29, 20, tzinfo=UTC)
"""Its end, the Sunday at 20:00: queries take it as now."""
DAYS = 7
"""Days from START that tracks are drawn in (those after NOW are left out)."""
SEGMENT_S = 60
PAGE = 50
TARGET_MS = 50.0

CAMERAS = (
    "gate",
    "lobby",
    "loading-dock",
    "car-park",
    "yard",
    "reception",
    "stairs-north",
    "stairs-south",
    "warehouse-1",
    "warehouse-2",
    "fence-east",
    "fence-west",
    "canteen",
    "office-1",
    "office-2",
    "corridor-a",
    "corridor-b",
    "roof",
    "bike-shed",
    "side-door",
)
# Busier cameras first: the gate and lobby see far more than the roof.
CAMERA_WEIGHTS = np.array(
    [12, 10, 8, 9, 6, 7, 4, 4, 5, 5, 3, 3, 6, 3, 3, 4, 4, 1, 2, 2]
)
LABELS = ("person", "car", "truck", "bus", "bicycle", "motorcycle")
LABEL_WEIGHTS = np.array([60, 25, 5, 2, 5, 3])
PERSON_COLOURS = np.array([22, 8, 14, 7, 2, 2, 6, 18, 3, 2, 6])  # as COLOURS
LOWER_COLOURS = np.array([30, 3, 15, 2, 1, 1, 3, 35, 1, 1, 8])
VEHICLE_COLOURS = np.array([22, 30, 24, 8, 1, 1, 2, 9, 0, 0, 3])
DIRECTION_WEIGHTS = np.array([25, 25, 20, 20, 10])  # as DIRECTIONS
HOUR_WEIGHTS = np.array(
    [1, 1, 1, 1, 1, 2, 4, 8, 10, 9, 8, 8, 9, 8, 8, 9, 10, 9, 6, 4, 3, 2, 2, 1]
)
ZONES = {
    "dock": "loading-dock",
    "loading-bay": "loading-dock",
    "car-park-entry": "car-park",
    "lobby-desk": "lobby",
    "server-room-door": "corridor-a",
    "roof-hatch": "roof",
    "warehouse-aisle": "warehouse-1",
    "yard-gate": "yard",
}
LINES = {"east-fence": "fence-east", "west-fence": "fence-west"}


@dataclass(frozen=True)
class Query:
    """One investigator's question.

    Attributes:
        name: Short name, for the table.
        filters: The filters, or None for a text query.
        text: The plain-English text, parsed inside the timed call.
        order: The order asked for.
        page: Which page is timed (earlier pages are fetched to reach it).
    """

    name: str
    filters: EventFilter | None = None
    text: str | None = None
    order: EventOrder = EventOrder.NEWEST
    page: int = 1


def queries(identity: int) -> list[Query]:
    """The benchmark's questions; ``identity`` is one with several tracks."""
    day = timedelta(days=1)
    midnight = NOW.replace(hour=0)
    yesterday = (midnight - day, midnight)
    return [
        Query("latest events", EventFilter()),
        Query("one camera", EventFilter(cameras=("loading-dock",))),
        Query(
            "three cameras, last 24 h",
            EventFilter(cameras=("gate", "lobby", "yard"), since=NOW - day),
        ),
        Query(
            "people, last hour", EventFilter(labels=("person",), since=NOW - day / 24)
        ),
        Query(
            "appearances yesterday",
            EventFilter(kinds=("appeared",), since=yesterday[0], until=yesterday[1]),
        ),
        Query("red upper body", EventFilter(upper_colour="red")),
        Query(
            "red top, blue trousers",
            EventFilter(upper_colour="red", lower_colour="blue"),
        ),
        Query("white cars", EventFilter(labels=("car",), colour="white")),
        Query(
            "walking left at the gate",
            EventFilter(cameras=("gate",), direction="left"),
        ),
        Query("one identity", EventFilter(identity=identity)),
        Query("zone", EventFilter(zones=("dock",))),
        Query("rule", EventFilter(rules=("east-fence-crossing",))),
        Query(
            "score >= 0.9, one day",
            EventFilter(min_score=0.9, since=yesterday[0], until=yesterday[1]),
        ),
        Query(
            "with footage, one camera",
            EventFilter(cameras=("car-park",), has_clip=True),
        ),
        Query("without footage", EventFilter(has_clip=False)),
        Query(
            "best scores, last 24 h",
            EventFilter(since=NOW - day),
            order=EventOrder.SCORE,
        ),
        Query(
            "oldest first, one camera, one day",
            EventFilter(
                cameras=("reception",), since=NOW - 3 * day, until=NOW - 2 * day
            ),
            order=EventOrder.OLDEST,
        ),
        Query(
            "page 3: people in black tops",
            EventFilter(labels=("person",), upper_colour="black"),
            page=3,
        ),
        Query(
            "rare: purple top, yellow trousers",
            EventFilter(upper_colour="purple", lower_colour="yellow"),
        ),
        Query(
            "text: man in a red jacket near the loading dock yesterday",
            text="man in a red jacket near the loading dock yesterday",
        ),
        Query(
            "text: white car driving left in the car park today",
            text="white car driving left in the car park today",
        ),
        Query(
            "text: someone in a blue top and black trousers after 18:00",
            text="someone in a blue top and black trousers after 18:00",
        ),
    ]


# --- the made-up week -------------------------------------------------------------


@dataclass
class Week:
    """A site's week as rows per table, in the order they are written."""

    tracks: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    identities: list[tuple[Any, ...]] = field(default_factory=list)
    alerts: list[tuple[Any, ...]] = field(default_factory=list)
    segments: list[tuple[Any, ...]] = field(default_factory=list)
    identity: int = 0
    """An identity with several tracks, for the identity query."""


TRACK_COLUMNS = [
    "id",
    "camera",
    "tracker_id",
    "label",
    "first_seen",
    "last_seen",
    "best_score",
    "snapshot",
    "ended",
    "identity_id",
    "appearance",
    "colour",
    "upper_colour",
    "lower_colour",
    "direction",
    "size_class",
]
EVENT_COLUMNS = [
    "id",
    "track_id",
    "camera",
    "kind",
    "time",
    "label",
    "score",
    "x1",
    "y1",
    "x2",
    "y2",
    "snapshot",
    "created_at",
    "identity_id",
    "colour",
    "upper_colour",
    "lower_colour",
    "direction",
]
IDENTITY_COLUMNS = [
    "id",
    "label",
    "first_seen",
    "last_seen",
    "tracks",
    "cameras",
    "best_track_id",
    "created_at",
]
ALERT_COLUMNS = [
    "id",
    "camera",
    "rule",
    "kind",
    "zone",
    "line",
    "label",
    "score",
    "track_id",
    "tracker_id",
    "start",
    "end",
    "status",
    "clip_state",
    "created_at",
]
SEGMENT_COLUMNS = [
    "id",
    "camera",
    "start",
    "end",
    "path",
    "bytes",
    "sha256",
    "codec",
    "frames",
    "created_at",
]


def _times(micros: np.ndarray) -> list[str]:
    """UTC times (microseconds since the epoch) as the databases read them."""
    text_times = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us")
    return [t.replace("T", " ") for t in text_times.tolist()]


def _pick(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    return rng.choice(len(weights), size=n, p=weights / weights.sum())


def make_week(events: int, seed: int) -> Week:
    """The rows of a week with ``events`` events (see the module's doc)."""
    rng = np.random.default_rng(seed)
    week = Week()
    start_us = int(START.timestamp() * 1e6)
    n = events // 4 + events // 20 + 10

    # Tracks over the week until now, each with its number of events; as many
    # as the events asked for allow, drawn at random, then put in time order.
    days = rng.integers(0, DAYS, n)
    hours = _pick(rng, HOUR_WEIGHTS, n)
    first = start_us + ((days * 24 + hours) * 3600 + rng.random(n) * 3600) * 1e6
    first = first.astype(np.int64)
    pairs = np.minimum(rng.poisson(1.0, n), 4).astype(np.int64)
    per_track = 2 + 2 * pairs
    fits = first < int(NOW.timestamp() * 1e6) - 900_000_000
    order = rng.permutation(np.flatnonzero(fits))
    kept = np.sort(order[np.cumsum(per_track[order]) <= events])
    kept = kept[np.argsort(first[kept], kind="stable")]
    first, per_track = first[kept], per_track[kept]
    n = len(first)
    duration = np.clip(rng.lognormal(np.log(20), 1.0, n), 1, 900)
    last = first + (duration * 1e6).astype(np.int64)
    cameras = _pick(rng, CAMERA_WEIGHTS, n)
    labels = _pick(rng, LABEL_WEIGHTS, n)
    person = labels == 0
    upper = _pick(rng, PERSON_COLOURS, n)
    lower = _pick(rng, LOWER_COLOURS, n)
    body = np.where(rng.random(n) < 0.6, upper, lower)
    body = np.where(person, body, _pick(rng, VEHICLE_COLOURS, n))
    directions = _pick(rng, DIRECTION_WEIGHTS, n)
    sizes = rng.integers(0, 3, n)
    scores = 0.4 + 0.6 * rng.beta(5, 2, n)
    looks = rng.random((n, DESCRIPTOR_SIZE), dtype=np.float32) ** 4
    half = DESCRIPTOR_SIZE // 2
    for band in (slice(0, half), slice(half, None)):
        looks[:, band] /= looks[:, band].sum(axis=1, keepdims=True)

    # Identities: runs of one to four people's tracks close in time.
    identity = np.zeros(n, dtype=np.int64)
    people = np.flatnonzero(person & (rng.random(n) < 0.7))
    sizes_of = rng.integers(1, 5, len(people))
    group = np.repeat(np.arange(1, len(people) + 1), sizes_of)[: len(people)]
    identity[people] = group
    first_text, last_text = _times(first), _times(last)
    created = _times(np.array([int(NOW.timestamp() * 1e6)]))[0]
    for ident in range(1, int(group.max(initial=0)) + 1):
        members = people[group == ident]
        if not len(members):
            continue
        names = ",".join(dict.fromkeys(CAMERAS[c] for c in cameras[members]))
        week.identities.append(
            (
                ident,
                "person",
                first_text[members[0]],
                last_text[members[-1]],
                len(members),
                names,
                int(members[0]) + 1,
                created,
            )
        )
        if len(members) >= 3 and not week.identity and ident > len(people) // 6:
            week.identity = ident

    for i in range(n):
        is_person = bool(person[i])
        week.tracks.append(
            (
                i + 1,
                CAMERAS[cameras[i]],
                i % 5000 + 1,
                LABELS[labels[i]],
                first_text[i],
                last_text[i],
                float(scores[i]),
                f"snapshots/{CAMERAS[cameras[i]]}/{first_text[i][:10]}/{i + 1}.jpg",
                True,
                int(identity[i]) or None,
                looks[i].tobytes(),
                COLOURS[body[i]],
                COLOURS[upper[i]] if is_person else None,
                COLOURS[lower[i]] if is_person else None,
                DIRECTIONS[directions[i]],
                ("small", "medium", "large")[sizes[i]],
            )
        )

    # Events: appeared, lost and recovered pairs, ended; spread over the track.
    owner = np.repeat(np.arange(n), per_track)
    step = np.arange(len(owner)) - np.repeat(
        np.cumsum(per_track) - per_track, per_track
    )
    span = (per_track - 1)[owner]
    times = first[owner] + ((last - first)[owner] * step / span).astype(np.int64)
    event_scores = np.clip(scores[owner] - rng.random(len(owner)) * 0.3, 0.05, 1)
    boxes = rng.random((len(owner), 2)) * 0.7
    time_text = _times(times)
    for j in range(min(events, len(owner))):
        i = int(owner[j])
        k = int(step[j])
        kind = (
            "appeared"
            if k == 0
            else "ended"
            if k == per_track[i] - 1
            else ("lost" if k % 2 else "recovered")
        )
        track = week.tracks[i]
        week.events.append(
            (
                j + 1,
                i + 1,
                track[1],
                kind,
                time_text[j],
                track[3],
                float(event_scores[j]),
                float(boxes[j, 0]),
                float(boxes[j, 1]),
                float(boxes[j, 0]) + 0.1,
                float(boxes[j, 1]) + 0.25,
                f"snapshots/{track[1]}/{time_text[j][:10]}/{i + 1}-{kind}-{k}.jpg",
                time_text[j],
                track[9],
                track[11],
                track[12],
                track[13],
                track[14],
            )
        )

    _add_alerts(week, rng, cameras, person, first_text)
    _add_segments(week, rng, start_us)
    return week


def _add_alerts(
    week: Week,
    rng: np.random.Generator,
    cameras: np.ndarray,
    person: np.ndarray,
    first_text: list[str],
) -> None:
    """A few hundred alerts, on people's tracks of the cameras with zones or lines."""
    places: list[tuple[str | None, str | None, str]] = [
        (zone, None, camera) for zone, camera in ZONES.items()
    ]
    places += [(None, line, camera) for line, camera in LINES.items()]
    alert_id = 0
    for zone, line, camera in places:
        index = CAMERAS.index(camera)
        candidates = np.flatnonzero((cameras == index) & person)
        count = min(len(candidates), int(rng.integers(20, 60)))
        for i in sorted(rng.choice(candidates, size=count, replace=False)):
            alert_id += 1
            rule = f"{zone}-intrusion" if zone else f"{line}-crossing"
            week.alerts.append(
                (
                    alert_id,
                    camera,
                    rule,
                    "restricted_area" if zone else "line_crossing",
                    zone,
                    line,
                    "person",
                    0.8,
                    int(i) + 1,
                    int(i) % 5000 + 1,
                    first_text[i],
                    first_text[i],
                    "new",
                    "ready",
                    first_text[i],
                )
            )


def _add_segments(week: Week, rng: np.random.Generator, start_us: int) -> None:
    """Each camera's 60-second segments for the week, less two to four outages."""
    per_camera = int((NOW - START).total_seconds()) // SEGMENT_S
    starts = start_us + np.arange(per_camera, dtype=np.int64) * SEGMENT_S * 1_000_000
    start_text = _times(starts)
    end_text = _times(starts + SEGMENT_S * 1_000_000)
    segment_id = 0
    for camera in CAMERAS:
        kept = np.ones(per_camera, dtype=bool)
        for _ in range(int(rng.integers(2, 5))):
            at = int(rng.integers(0, per_camera))
            kept[at : at + int(rng.integers(10, 240))] = False
        for i in np.flatnonzero(kept):
            segment_id += 1
            week.segments.append(
                (
                    segment_id,
                    camera,
                    start_text[i],
                    end_text[i],
                    f"recordings/{camera}/{start_text[i][:10]}/{i:06d}.mp4",
                    4_500_000,
                    "0" * 64,
                    "h264",
                    600,
                    end_text[i],
                )
            )


# --- loading ----------------------------------------------------------------------


TABLES = (
    ("identities", IDENTITY_COLUMNS, "identities"),
    ("tracks", TRACK_COLUMNS, "tracks"),
    ("events", EVENT_COLUMNS, "events"),
    ("alerts", ALERT_COLUMNS, "alerts"),
    ("segments", SEGMENT_COLUMNS, "segments"),
)
BATCH = 50_000


def load(db: Database, week: Week) -> float:
    """Write the week into a freshly migrated database; seconds it took.

    The indexes of the big tables are dropped before the load and made again
    after it, from the same definitions, as a bulk load should.
    """
    started = time.perf_counter()
    engine = db.engine
    big = [Base.metadata.tables[name] for name in ("tracks", "events", "segments")]
    indexes = [index for table in big for index in table.indexes]
    with engine.begin() as connection:
        for index in indexes:
            index.drop(connection)

    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA synchronous=OFF")
        else:
            cursor.execute("SET TIME ZONE 'UTC'")
        for table, columns, attribute in TABLES:
            rows: list[tuple[Any, ...]] = getattr(week, attribute)
            quoted = ", ".join(f'"{c}"' for c in columns)
            if engine.dialect.name == "sqlite":
                marks = ", ".join("?" for _ in columns)
                sql = f'INSERT INTO "{table}" ({quoted}) VALUES ({marks})'
                for first in range(0, len(rows), BATCH):
                    cursor.executemany(sql, rows[first : first + BATCH])
            else:
                with cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f'(SELECT max(id) FROM "{table}"))'
                )
            log.info("%s: %d rows of %s", engine.dialect.name, len(rows), table)
        raw.commit()
    finally:
        raw.close()

    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET maintenance_work_mem = '512MB'"))
        for index in indexes:
            index.create(connection)
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
        with engine.connect() as connection:
            # The load went through the write-ahead log: fold it in now, not
            # in the middle of the queries.
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    else:
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE")
            )
    return time.perf_counter() - started


@dataclass
class Target:
    """A benchmark database: its kind, the open database and how to drop it."""

    kind: str
    db: Database
    drop: Callable[[], None]


def open_sqlite(path: Path) -> Target:
    """A fresh SQLite file at ``path``, migrated."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = Database.open(f"sqlite:///{path}")
    return Target("SQLite", db, db.close)


def open_postgres(admin_url: str, keep: bool) -> Target:
    """A fresh PostgreSQL database :data:`PG_NAME` on the server of ``admin_url``."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")

    def drop_database() -> None:
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": PG_NAME},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{PG_NAME}"'))

    drop_database()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{PG_NAME}"'))
    url = make_url(admin_url).set(database=PG_NAME)
    db = Database.open(url.render_as_string(hide_password=False))

    def close() -> None:
        db.close()
        if not keep:
            drop_database()
        admin.dispose()

    return Target("PostgreSQL", db, close)


# --- measuring --------------------------------------------------------------------


@dataclass
class Timing:
    """The runs of one query on one database."""

    query: str
    database: str
    ms: list[float]
    shown: int
    total: str
    counted_ms: list[float] = field(default_factory=list)
    """Runs with the count of matches."""

    @property
    def p50(self) -> float:
        return percentile(self.ms, 50)

    @property
    def p95(self) -> float:
        return percentile(self.ms, 95)


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` percentile, by linear interpolation between ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * share / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


NAMES = SiteNames(cameras=CAMERAS, zones=tuple(ZONES))


def run_query(db: Database, query: Query, count: bool = False) -> EventResults:
    """One query as the API makes it: parse any text, then the page asked for.

    The pages before the one asked for are fetched first, untimed.
    """
    cursor = None
    filters = query.filters
    for _ in range(query.page - 1):
        assert filters is not None
        with db.session() as session:
            cursor = search_events(session, filters, query.order, PAGE).next_cursor
    started = time.perf_counter()
    if query.text is not None:
        filters = interpret(query.text, NAMES, NOW).filter
    assert filters is not None
    with db.session() as session:
        result = search_events(session, filters, query.order, PAGE, cursor, count)
    _elapsed.append((time.perf_counter() - started) * 1000)
    return result


_elapsed: list[float] = []


def time_query(target: Target, query: Query, rounds: int, explain: bool) -> Timing:
    """Warm up, time ``rounds`` runs of its page, then a quarter with the count."""
    counted = run_query(target.db, query, count=True)
    if explain:
        print(f"-- {target.kind}: {query.name}\n{plan(target.db, query)}\n")
    _elapsed.clear()
    for _ in range(rounds):
        run_query(target.db, query)
    plain = list(_elapsed)
    _elapsed.clear()
    for _ in range(max(3, rounds // 4)):
        run_query(target.db, query, count=True)
    total = f"{counted.total}" + ("" if counted.total_exact else "+")
    return Timing(
        query.name, target.kind, plain, len(counted.hits), total, list(_elapsed)
    )


def plan(db: Database, query: Query) -> str:
    """The database's plan of the query's main statement, for ``--explain``."""
    filters = query.filters or interpret(query.text or "", NAMES, NOW).filter
    statement = event_query(filters, query.order, PAGE + 1)
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, sql: str, params: Any, *_: Any) -> None:
        captured.append((sql, params))

    engine: Engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        with Session(engine) as session:
            session.execute(statement).all()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    sql, params = captured[0]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())
    finally:
        raw.close()


def time_similar(target: Target, rounds: int) -> list[Timing]:
    """Similar search from a made crop: the whole week, and one day of one camera."""
    crop = np.full((96, 40, 3), (90, 140, 90), np.uint8)
    crop[14:48, 6:34] = (30, 30, 200)
    crop[48:90, 8:32] = (200, 60, 10)
    look = describe([crop])
    assert look is not None
    out = []
    for name, filters in (
        ("similar: whole week", TrackFilter()),
        (
            "similar: one camera, one day",
            TrackFilter(cameras=("gate",), since=NOW - timedelta(days=1)),
        ),
    ):
        ms = []
        result = None
        for i in range(rounds + 1):
            started = time.perf_counter()
            with target.db.session() as session:
                result = similar_tracks(session, look.descriptor, filters, 20)
            if i:
                ms.append((time.perf_counter() - started) * 1000)
        assert result is not None
        total = f"{result.candidates} compared" + (
            " (bounded)" if result.bounded else ""
        )
        out.append(Timing(name, target.kind, ms, len(result.tracks), total))
    return out


# --- the report -------------------------------------------------------------------


@dataclass
class Report:
    """What was measured."""

    command: str
    date: str
    machine: str
    shape: str
    loads: dict[str, float]
    timings: list[Timing]
    similar: list[Timing]
    load: str = "unknown"
    """The machine's load averages seen while querying, as text."""


def load_average() -> float:
    """The machine's 1-minute load average (0 where it cannot be read)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0


def machine() -> str:
    """The machine and the software, in one line."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs, {model}, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def describe_week(week: Week) -> str:
    """The data's shape in words."""
    people = sum(1 for t in week.tracks if t[3] == "person")
    joined = sum(1 for t in week.tracks if t[9] is not None)
    return (
        f"{len(week.events):,} events of {len(week.tracks):,} tracks "
        f"({people / len(week.tracks):.0%} people, the rest cars, trucks, buses, "
        f"bicycles and motorcycles) on {len(CAMERAS)} cameras from "
        f"{START:%Y-%m-%d %H:%M} to {NOW:%Y-%m-%d %H:%M} UTC (now, to the queries); "
        f"{len(week.identities):,} identities joining {joined:,} tracks; "
        f"{len(week.alerts)} alerts in {len(ZONES)} zones and across {len(LINES)} "
        f"lines; {len(week.segments):,} segments of {SEGMENT_S} s (each camera's "
        "week but for 2-4 outages of 10-240 minutes)"
    )


def _ms(value: float) -> str:
    return f"{value:.1f}"


def results_section(report: Report) -> str:
    """The markdown section of RESULTS.md."""
    kinds = list(report.loads)
    lines = [
        SECTION,
        "",
        f"Command: `{report.command}` (from the repository root); {report.date}.",
        "",
        f"Machine: {report.machine}. The machine is shared with other work and "
        "PostgreSQL runs on it too: the 1-minute load average was "
        f"{report.load} while the queries ran (2 would keep both cores busy).",
        "",
        f"Data: {report.shape}. Loaded in "
        + ", ".join(f"{report.loads[k]:.0f} s into {k}" for k in kinds)
        + " (bulk insert, indexes built after, then ANALYZE).",
        "",
        "Each query is one page of 50 as the API answers it by default, in a new "
        "session, after one warm-up run; text queries include parsing. The "
        "results column shows the page's length and the count of matches "
        "(capped at 1,000); the last column of each database times the same "
        "call with that count (`count=true`). Times in milliseconds.",
        "",
    ]
    header = "| query | results (counted) |"
    rule = "|---|---|"
    for kind in kinds:
        header += f" {kind} p50 | {kind} p95 | {kind} p95 with count |"
        rule += "---|---|---|"
    lines += [header, rule]
    by_key = {(t.query, t.database): t for t in report.timings + report.similar}
    names = list(dict.fromkeys(t.query for t in report.timings))
    similar = list(dict.fromkeys(t.query for t in report.similar))
    for name in names + similar:
        first = by_key[(name, kinds[0])]
        row = f"| {name} | {first.shown} ({first.total}) |"
        for kind in kinds:
            timing = by_key.get((name, kind))
            if timing is None:
                row += " - | - | - |"
                continue
            with_count = (
                _ms(percentile(timing.counted_ms, 95)) if timing.counted_ms else "-"
            )
            row += f" {_ms(timing.p50)} | {_ms(timing.p95)} | {with_count} |"
        lines.append(row)
    row = "| **all event queries** | |"
    for kind in kinds:
        runs = [ms for t in report.timings if t.database == kind for ms in t.ms]
        counted = [
            ms for t in report.timings if t.database == kind for ms in t.counted_ms
        ]
        row += (
            f" **{_ms(percentile(runs, 50))}** | **{_ms(percentile(runs, 95))}** "
            f"| {_ms(percentile(counted, 95))} |"
        )
    lines.append(row)
    lines += ["", reading(report, kinds, names)]
    return "\n".join(lines) + "\n"


def reading(report: Report, kinds: list[str], names: list[str]) -> str:
    """A sentence or two saying what the numbers mean."""
    parts = []
    for kind in kinds:
        timings = [t for t in report.timings if t.database == kind]
        worst = max(timings, key=lambda t: t.p95)
        over = [t.query for t in timings if t.p95 >= TARGET_MS]
        runs = [ms for t in timings for ms in t.ms]
        verdict = (
            f"every query's p95 is under {TARGET_MS:.0f} ms"
            if not over
            else f"{len(over)} of {len(timings)} queries have a p95 of "
            f"{TARGET_MS:.0f} ms or more ({', '.join(over)})"
        )
        parts.append(
            f"On {kind} {verdict}; overall p95 {percentile(runs, 95):.1f} ms, the "
            f"slowest being '{worst.query}' at {worst.p95:.1f} ms"
        )
    return (
        "; ".join(parts)
        + ". Every filter but zone and rule reads the events table through an "
        "index on (filter, time), so a page costs about as many index entries as "
        "it takes to find 50 matches in time order; counting reads up to 1,000 "
        "matches more, which is why it is asked for apart (`count=true`). "
        "'Without footage' is the one filter tested event by event (an index "
        "probe into the segments each): it reads events newest first until 50 "
        "fall in an outage, some 7,000 here. Added for these numbers (migration "
        "0006): an index on events' score, without which 'best scores, last 24 "
        "h' sorted the day's 150,000 events (46 ms on SQLite), and one on "
        "tracks' first sighting, without which similar search sorted all "
        "250,000 tracks with their descriptors (476 ms); and on PostgreSQL each "
        "search is planned for its own values, since after a few runs the "
        "driver's prepared statement got a generic plan three times slower for "
        "the second text query."
    )


def targets(args: argparse.Namespace) -> Iterator[Target]:
    """The databases asked for, each fresh."""
    for kind in args.databases:
        if kind == "sqlite":
            OUT.mkdir(parents=True, exist_ok=True)
            yield open_sqlite(OUT / "search.db")
        else:
            yield open_postgres(args.postgres, args.keep)


def main() -> None:
    """Parse the command line, make the data, time the queries, print the section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--databases",
        nargs="+",
        default=["sqlite", "postgresql"],
        choices=["sqlite", "postgresql"],
    )
    parser.add_argument(
        "--postgres", default=PG_ADMIN, help="URL of the server's admin database"
    )
    parser.add_argument(
        "--keep", action="store_true", help=f"keep the database {PG_NAME}"
    )
    parser.add_argument("--explain", action="store_true", help="print query plans")
    parser.add_argument("--results", type=Path, help="write the section here too")
    args = parser.parse_args()
    if args.events < 1000 or args.rounds < 1:
        raise SystemExit("--events must be at least 1000 and --rounds at least 1")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr
    )

    started = time.perf_counter()
    week = make_week(args.events, args.seed)
    log.info(
        "made the week in %.1f s: %s",
        time.perf_counter() - started,
        describe_week(week),
    )
    # The week's millions of rows would make every full garbage collection a
    # pause of tens of milliseconds in the middle of some query: set them aside.
    gc.collect()
    gc.freeze()
    asked = queries(week.identity)
    loads: dict[str, float] = {}
    timings: list[Timing] = []
    similar: list[Timing] = []
    seen: list[float] = []
    for target in targets(args):
        try:
            loads[target.kind] = load(target.db, week)
            log.info("%s loaded in %.1f s", target.kind, loads[target.kind])
            seen.append(load_average())
            for query in asked:
                timing = time_query(target, query, args.rounds, args.explain)
                log.info(
                    "%s %-38s p50 %6.1f ms  p95 %6.1f ms  (%d shown, %s)",
                    target.kind,
                    query.name,
                    timing.p50,
                    timing.p95,
                    timing.shown,
                    timing.total,
                )
                timings.append(timing)
            similar += time_similar(target, args.rounds)
            seen.append(load_average())
        finally:
            target.drop()

    command = "python -m bench.search " + " ".join(sys.argv[1:])
    report = Report(
        command=command.strip(),
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=machine() + _postgres_version(args),
        shape=describe_week(week),
        loads=loads,
        timings=timings,
        similar=similar,
        load=f"{min(seen):.1f} to {max(seen):.1f}" if seen else "unknown",
    )
    section = results_section(report)
    print(section)
    if args.results is not None:
        write_section(args.results, section)
        log.info("written to %s", args.results)


def _postgres_version(args: argparse.Namespace) -> str:
    if "postgresql" not in args.databases:
        return ""
    engine = create_engine(args.postgres)
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar()
        return f", PostgreSQL {version}"
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
