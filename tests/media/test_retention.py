"""Retention of segment files and rows by age and quota, and holds that keep them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.databases import database_url
from watchfloor.config import (
    CameraConfig,
    RecordingSettings,
    SiteConfig,
    StorageSettings,
)
from watchfloor.media import retention
from watchfloor.media.retention import (
    HoldError,
    RetentionKeeper,
    apply_retention,
    place_hold,
    release_hold,
)
from watchfloor.models.database import Database
from watchfloor.models.recording import Hold, Segment

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
SIZE = 400


@dataclass
class Store:
    """A media directory and database with segments of made-up bytes."""

    db: Database
    media: Path

    def site(self, quota_gb: float | None = None) -> SiteConfig:
        """'gate' keeps 1 day, 'dock' the default 7; cameras no longer in the
        site file ('yard') get the default too."""
        return SiteConfig(
            storage=StorageSettings(media=self.media),
            recording=RecordingSettings(retention_days=7, quota_gb=quota_gb),
            cameras=[
                CameraConfig(name="gate", url="rtsp://cam/gate", retention_days=1),
                CameraConfig(name="dock", url="rtsp://cam/dock"),
            ],
        )

    def add(self, camera: str, end_age_s: float, length_s: float = 10) -> int:
        """A segment of ``camera`` that ended ``end_age_s`` seconds before NOW."""
        end = NOW - timedelta(seconds=end_age_s)
        start = end - timedelta(seconds=length_s)
        relative = f"recordings/{camera}/{start:%Y-%m-%d}/{start:%H-%M-%S.%f}.mp4"
        path = self.media / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * SIZE)
        with self.db.session() as session:
            row = Segment(
                camera=camera,
                start=start,
                end=end,
                path=relative,
                bytes=SIZE,
                sha256="0" * 64,
                codec="h264",
                frames=250,
            )
            session.add(row)
            session.flush()
            return row.id

    def ids(self) -> set[int]:
        with self.db.session() as session:
            return set(session.scalars(select(Segment.id)))

    def path(self, segment_id: int) -> Path:
        with self.db.session() as session:
            row = session.get(Segment, segment_id)
            assert row is not None
            return self.media / row.path

    def span(self, segment_id: int) -> tuple[datetime, datetime]:
        with self.db.session() as session:
            row = session.get(Segment, segment_id)
            assert row is not None
            return row.start, row.end


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with database_url(request.param, tmp_path) as url:
        db = Database.open(url)
        try:
            yield Store(db, tmp_path / "media")
        finally:
            db.close()


DAY = 86400.0

# camera, age of the segment's end, removed by age?
AGE_TABLE = [
    ("gate", 0.5 * DAY, False),
    ("gate", DAY - 5, False),  # straddles the 1-day cutoff: still partly young
    ("gate", DAY, True),  # ends exactly at the cutoff
    ("gate", 2 * DAY, True),
    ("gate", 8 * DAY, True),
    ("dock", 0.5 * DAY, False),
    ("dock", 2 * DAY, False),
    ("dock", 6.9 * DAY, False),
    ("dock", 8 * DAY, True),
    ("yard", 2 * DAY, False),
    ("yard", 8 * DAY, True),
]


@pytest.mark.parametrize("page", [2, 500])
def test_retention_by_age_follows_each_cameras_days(
    store: Store, page: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "PAGE", page)
    ids = {store.add(camera, age): removed for camera, age, removed in AGE_TABLE}
    paths = {segment_id: store.path(segment_id) for segment_id in ids}

    report = apply_retention(store.db, store.site(), now=NOW)

    gone = {segment_id for segment_id, removed in ids.items() if removed}
    assert {r.id for r in report.removed} == gone
    assert all(r.reason == "age" and not r.file_missing for r in report.removed)
    assert store.ids() == set(ids) - gone
    for segment_id, path in paths.items():
        assert path.exists() == (segment_id not in gone)
    assert (report.removed_by_age, report.removed_by_quota) == (len(gone), 0)
    assert report.bytes_freed == SIZE * len(gone)
    assert report.recorded_bytes == SIZE * (len(ids) - len(gone))
    assert report.kept_for_holds == []
    # Day folders emptied by retention go; camera folders stay.
    assert not (store.media / "recordings" / "yard" / "2024-05-02").exists()
    assert (store.media / "recordings" / "yard").is_dir()


# Six young segments, 400 B each, 'gate' and 'dock' taking turns; the quota
# (1300 B) leaves room for three. held: indexes of segments under a hold.
QUOTA_TABLE = [
    pytest.param((), [0, 1, 2], [], id="oldest-first"),
    pytest.param((0,), [1, 2, 3], [0], id="held-oldest-skipped"),
    pytest.param((1, 3), [0, 2, 4], [1, 3], id="two-held"),
]


@pytest.mark.parametrize("page", [2, 500])
@pytest.mark.parametrize(("held", "removed", "kept"), QUOTA_TABLE)
def test_retention_by_quota_removes_the_oldest_across_cameras(
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    page: int,
    held: tuple[int, ...],
    removed: list[int],
    kept: list[int],
) -> None:
    monkeypatch.setattr(retention, "PAGE", page)
    ids = [store.add("gate" if i % 2 == 0 else "dock", 600 - 60 * i) for i in range(6)]
    for i in held:
        start, end = store.span(ids[i])
        camera = "gate" if i % 2 == 0 else "dock"
        place_hold(store.db, camera, start + timedelta(seconds=2), end, f"alert {i}")

    report = apply_retention(store.db, store.site(quota_gb=1300e-9), now=NOW)

    assert [r.id for r in report.removed] == [ids[i] for i in removed]
    assert all(r.reason == "quota" for r in report.removed)
    assert [k.id for k in report.kept_for_holds] == [ids[i] for i in kept]
    assert report.recorded_bytes == 3 * SIZE
    assert report.quota_bytes == 1300
    assert not report.over_quota
    assert store.ids() == {ids[i] for i in range(6) if i not in removed}


def test_report_counts_everything_but_lists_at_most_listed(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "LISTED", 2)
    for i in range(5):
        store.add("dock", 8 * DAY + 60 * i)
    start, end = store.span(store.add("dock", 9 * DAY))
    place_hold(store.db, "dock", start, end, "incident 1")

    report = apply_retention(store.db, store.site(), now=NOW)

    assert len(report.removed) == 2
    assert report.removed_count == 5
    assert report.kept_count == 1
    assert report.bytes_freed == 5 * SIZE
    assert report.summary() == (
        "removed 5 segments (5 by age, 0 by quota), 0.0 MB freed; 1 kept for holds"
    )


def test_retention_under_quota_removes_nothing(store: Store) -> None:
    for i in range(3):
        store.add("gate", 60 * i)
    report = apply_retention(store.db, store.site(quota_gb=1.0), now=NOW)
    assert report.removed == []
    assert report.recorded_bytes == 3 * SIZE


def test_retention_stays_over_quota_when_everything_is_held(store: Store) -> None:
    for i in range(3):
        store.add("dock", 60 * i)
    place_hold(store.db, "dock", NOW - timedelta(hours=1), NOW, "incident 7")

    report = apply_retention(store.db, store.site(quota_gb=500e-9), now=NOW)

    assert report.removed == []
    assert len(report.kept_for_holds) == 3
    assert report.over_quota
    assert "still over quota" in report.summary()


# A hold relative to the old 'gate' segment [start, end]: (camera, from, to in
# seconds from the segment's start, expires in seconds from NOW or None).
HOLD_TABLE = [
    pytest.param(("gate", 2, 5, None), True, id="until-released"),
    pytest.param(("gate", -100, 100, 3600), True, id="expires-later"),
    pytest.param(("gate", 10, 20, None), True, id="touches-its-end"),
    pytest.param(("gate", -20, -1, None), False, id="ends-before-it"),
    pytest.param(("gate", 2, 5, -1), False, id="expired"),
    pytest.param(("dock", 2, 5, None), False, id="other-camera"),
]


@pytest.mark.parametrize(("hold", "kept"), HOLD_TABLE)
def test_holds_protect_the_footage_they_overlap(
    store: Store, hold: tuple[str, float, float, float | None], kept: bool
) -> None:
    old = store.add("gate", 3 * DAY)
    start, _end = store.span(old)
    camera, lo, hi, expires = hold
    with store.db.session() as session:
        session.add(
            Hold(
                camera=camera,
                start=start + timedelta(seconds=lo),
                end=start + timedelta(seconds=hi),
                reason="alert 1",
                expires_at=None
                if expires is None
                else NOW + timedelta(seconds=expires),
            )
        )

    report = apply_retention(store.db, store.site(), now=NOW)

    assert (old in store.ids()) == kept
    if kept:
        assert store.path(old).exists()
        [kept_segment] = report.kept_for_holds
        assert kept_segment.id == old
        assert kept_segment.reason == "age"
        assert report.removed == []
    else:
        assert [r.id for r in report.removed] == [old]
        assert report.kept_for_holds == []


def test_released_hold_lets_retention_remove_the_footage(store: Store) -> None:
    old = store.add("gate", 3 * DAY)
    start, end = store.span(old)
    hold_id = place_hold(store.db, "gate", start, end, "incident 3")
    assert apply_retention(store.db, store.site(), now=NOW).removed == []

    release_hold(store.db, hold_id)
    report = apply_retention(store.db, store.site())

    assert [r.id for r in report.removed] == [old]
    with store.db.session() as session:
        hold = session.get(Hold, hold_id)
        assert hold is not None
        assert hold.expires_at is not None
        assert hold.expires_at <= datetime.now(UTC)


def test_release_of_an_unknown_hold_is_refused(store: Store) -> None:
    with pytest.raises(HoldError, match="no hold has id 99"):
        release_hold(store.db, 99)


@pytest.mark.parametrize(
    ("camera", "start", "end", "reason", "expires_at", "message"),
    [
        ("../x", NOW, NOW + timedelta(1), "r", None, "camera name '../x' is not valid"),
        ("gate", NOW, NOW, "r", None, "not after its start"),
        ("gate", NOW.replace(tzinfo=None), NOW, "r", None, "has no time zone"),
        ("gate", NOW, NOW + timedelta(1), "  ", None, "give 1 to 256"),
        ("gate", NOW, NOW + timedelta(1), "r" * 257, None, "has 257 characters"),
        ("gate", NOW, NOW + timedelta(1), "r", NOW, "has already passed"),
    ],
)
def test_bad_holds_are_refused_and_change_nothing(
    store: Store,
    camera: str,
    start: datetime,
    end: datetime,
    reason: str,
    expires_at: datetime | None,
    message: str,
) -> None:
    with pytest.raises(HoldError, match=message):
        place_hold(store.db, camera, start, end, reason, expires_at)
    with store.db.session() as session:
        assert session.scalars(select(Hold)).all() == []


def test_missing_segment_file_counts_as_removed(store: Store) -> None:
    lost = store.add("dock", 9 * DAY)
    present = store.add("dock", 8 * DAY)
    store.path(lost).unlink()

    report = apply_retention(store.db, store.site(), now=NOW)

    by_id = {r.id: r for r in report.removed}
    assert set(by_id) == {lost, present}
    assert by_id[lost].file_missing
    assert not by_id[present].file_missing
    assert report.bytes_freed == SIZE
    assert store.ids() == set()


def test_undeletable_segment_keeps_its_row_for_next_time(store: Store) -> None:
    stuck = store.add("dock", 9 * DAY)
    path = store.path(stuck)
    path.unlink()
    path.mkdir()  # a folder where the file should be cannot be unlinked

    report = apply_retention(store.db, store.site(), now=NOW)

    assert report.removed == []
    assert [f.id for f in report.failed] == [stuck]
    assert store.ids() == {stuck}


def test_retention_refuses_a_naive_now(store: Store) -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        apply_retention(store.db, store.site(), now=NOW.replace(tzinfo=None))


def test_keeper_runs_until_stopped(store: Store) -> None:
    old = store.add("gate", 2 * DAY)
    keeper = RetentionKeeper(store.db, store.site(), interval_s=0.05, clock=lambda: NOW)
    keeper.start()
    try:
        deadline = time.monotonic() + 10
        while keeper.runs < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert keeper.runs >= 2
        assert old not in store.ids()
        assert keeper.last_report is not None
        assert keeper.last_error is None
    finally:
        keeper.stop()
    assert not keeper.is_alive()
    runs = keeper.runs
    time.sleep(0.15)
    assert keeper.runs == runs


def test_keeper_survives_a_failed_run(store: Store) -> None:
    naive = NOW.replace(tzinfo=None)
    keeper = RetentionKeeper(
        store.db, store.site(), interval_s=0.05, clock=lambda: naive
    )
    keeper.start()
    try:
        deadline = time.monotonic() + 10
        while keeper.runs < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert keeper.runs >= 2
        assert keeper.is_alive()
        assert keeper.last_error is not None
        assert "has no time zone" in keeper.last_error
    finally:
        keeper.stop()
    assert not keeper.is_alive()
