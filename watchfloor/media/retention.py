"""Retention of recorded segments by age and disk quota, and holds that keep footage.

Segments go in two passes: first those older than their camera's retention,
then, when the recordings exceed ``recording.quota_gb``, the oldest of all
cameras until they fit. A segment that overlaps an active hold of its camera
stays in both passes (a hold is active while it has no expiry or its expiry is
still ahead). Alerts and incidents place holds on the footage they refer to.

Limitations:
    The quota counts the sizes that the segment index records, in decimal
    gigabytes (10**9 bytes); clips, snapshots and files that nobody indexed are
    not counted. When held segments alone exceed the quota, the recordings stay
    over it, and the report says so.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from watchfloor.config import CAMERA_NAME, SiteConfig
from watchfloor.models.database import Database
from watchfloor.models.recording import Hold, Segment

log = logging.getLogger(__name__)

PAGE = 500
"""Segments handled per database transaction."""

LISTED = 10_000
"""Most segments a report lists one by one in each of its lists."""

_CAMERA = re.compile(CAMERA_NAME)
_REASON_MAX = 256


class HoldError(ValueError):
    """A hold cannot be placed or released; the message says why."""


@dataclass(frozen=True)
class RemovedSegment:
    """A segment that retention removed.

    Attributes:
        id: Its row id (now deleted).
        camera: Its camera.
        start: Wall-clock start of its footage.
        end: Wall-clock end of its footage.
        path: Its file, relative to the media directory as indexed.
        bytes: Its size as indexed.
        reason: ``"age"`` or ``"quota"``.
        file_missing: The file was already gone; only the row was deleted.
    """

    id: int
    camera: str
    start: datetime
    end: datetime
    path: str
    bytes: int
    reason: str
    file_missing: bool = False


@dataclass(frozen=True)
class KeptSegment:
    """A segment that retention would have removed but a hold keeps.

    Attributes:
        id: Its row id.
        camera: Its camera.
        start: Wall-clock start of its footage.
        end: Wall-clock end of its footage.
        path: Its file, relative to the media directory as indexed.
        bytes: Its size as indexed.
        reason: ``"age"`` or ``"quota"``: what would have removed it.
        hold_ids: The active holds that overlap it.
    """

    id: int
    camera: str
    start: datetime
    end: datetime
    path: str
    bytes: int
    reason: str
    hold_ids: tuple[int, ...]


@dataclass(frozen=True)
class FailedSegment:
    """A segment whose file could not be deleted; its row stays for next time."""

    id: int
    path: str
    error: str


@dataclass
class RetentionReport:
    """What one retention run did.

    The lists name segments one by one, up to :data:`LISTED` each (a first
    run over a large backlog removes more than is worth holding in memory);
    the counts cover all of them.

    Attributes:
        now: The time the run judged ages and holds by.
        removed: Segments removed, oldest first within each pass.
        kept_for_holds: Segments kept only because of holds.
        failed: Segments whose file could not be deleted.
        removed_by_age: How many segments were removed for their age.
        removed_by_quota: How many were removed to fit the quota.
        kept_count: How many were kept because of holds.
        failed_count: How many could not be deleted.
        bytes_freed: Bytes of files actually deleted (missing files free none).
        recorded_bytes: Bytes of recordings left, by the segment index.
        quota_bytes: The quota, or None when there is none.
    """

    now: datetime
    removed: list[RemovedSegment] = field(default_factory=list)
    kept_for_holds: list[KeptSegment] = field(default_factory=list)
    failed: list[FailedSegment] = field(default_factory=list)
    removed_by_age: int = 0
    removed_by_quota: int = 0
    kept_count: int = 0
    failed_count: int = 0
    bytes_freed: int = 0
    recorded_bytes: int = 0
    quota_bytes: int | None = None

    @property
    def removed_count(self) -> int:
        """How many segments were removed, for any reason."""
        return self.removed_by_age + self.removed_by_quota

    @property
    def over_quota(self) -> bool:
        """Whether the recordings still exceed the quota (held footage)."""
        return self.quota_bytes is not None and self.recorded_bytes > self.quota_bytes

    def summary(self) -> str:
        """One line for a log or a console."""
        text = (
            f"removed {self.removed_count} segments ({self.removed_by_age} by age, "
            f"{self.removed_by_quota} by quota), {self.bytes_freed / 1e6:.1f} MB "
            f"freed; {self.kept_count} kept for holds"
        )
        if self.failed_count:
            text += f"; {self.failed_count} could not be deleted"
        if self.over_quota:
            assert self.quota_bytes is not None
            text += (
                f"; still over quota: {self.recorded_bytes / 1e9:.3f} GB recorded, "
                f"{self.quota_bytes / 1e9:.3f} GB allowed"
            )
        return text


def apply_retention(
    db: Database, site_config: SiteConfig, now: datetime | None = None
) -> RetentionReport:
    """Remove segments past their camera's retention, then over the quota.

    Each removed segment loses its file, then its row. A row whose file is
    already gone is deleted too (and logged). A file that cannot be deleted
    keeps its row, so the next run tries again.

    Args:
        db: The database with the segment index and the holds.
        site_config: Retention days (per camera, else ``recording``), the quota
            and the media directory.
        now: The time to judge ages and hold expiry by. Default: now.

    Returns:
        What was removed, freed and kept.

    Example:
        >>> report = apply_retention(db, site)  # doctest: +SKIP
        >>> report.summary()  # doctest: +SKIP
        'removed 8640 segments (8640 by age, 0 by quota), 5120.4 MB freed; ...'
    """
    now = _aware(now or datetime.now(UTC), "now", ValueError)
    media = site_config.media_dir
    report = RetentionReport(now=now)
    holds = _active_holds(db, now)
    kept: set[int] = set()

    default_days = site_config.recording.retention_days
    overrides = {
        camera.name: camera.retention_days
        for camera in site_config.cameras
        if camera.retention_days is not None
    }
    with db.session() as session:
        cameras = session.scalars(select(Segment.camera).distinct()).all()
    for camera in sorted(cameras):
        cutoff = now - timedelta(days=overrides.get(camera, default_days))
        condition = and_(Segment.camera == camera, Segment.end <= cutoff)
        last: tuple[datetime, int] | None = None
        while True:
            with db.session() as session:
                page = _page(session, condition, last)
                for segment in page:
                    _remove_or_keep(session, segment, "age", holds, media, report, kept)
            if len(page) < PAGE:
                break
            last = (page[-1].start, page[-1].id)

    with db.session() as session:
        total = int(
            session.scalar(select(func.coalesce(func.sum(Segment.bytes), 0))) or 0
        )
    quota_gb = site_config.recording.quota_gb
    if quota_gb is not None:
        report.quota_bytes = int(quota_gb * 1e9)
        if total > report.quota_bytes:
            total = _apply_quota(db, total, holds, media, report, kept)
    report.recorded_bytes = total

    if report.removed_count or report.failed_count or report.over_quota:
        log.info("retention: %s", report.summary())
    return report


def _apply_quota(
    db: Database,
    total: int,
    holds: dict[str, list[Hold]],
    media: Path,
    report: RetentionReport,
    kept: set[int],
) -> int:
    """Remove the oldest segments until ``total`` fits the quota; the new total."""
    assert report.quota_bytes is not None
    last: tuple[datetime, int] | None = None
    while total > report.quota_bytes:
        with db.session() as session:
            page = _page(session, None, last)
            for segment in page:
                if total <= report.quota_bytes:
                    break
                if _remove_or_keep(
                    session, segment, "quota", holds, media, report, kept
                ):
                    total -= segment.bytes
        if len(page) < PAGE:
            break
        last = (page[-1].start, page[-1].id)
    return total


def _page(
    session: Session,
    condition: ColumnElement[bool] | None,
    last: tuple[datetime, int] | None,
) -> list[Segment]:
    """The next ``PAGE`` segments matching ``condition`` after ``last``, oldest
    first."""
    query = select(Segment).order_by(Segment.start, Segment.id).limit(PAGE)
    if condition is not None:
        query = query.where(condition)
    if last is not None:
        query = query.where(
            or_(
                Segment.start > last[0],
                and_(Segment.start == last[0], Segment.id > last[1]),
            )
        )
    return list(session.scalars(query))


def _remove_or_keep(
    session: Session,
    segment: Segment,
    reason: str,
    holds: dict[str, list[Hold]],
    media: Path,
    report: RetentionReport,
    kept: set[int],
) -> bool:
    """Remove one segment unless a hold keeps it; whether its row went."""
    holding = [
        hold.id
        for hold in holds.get(segment.camera, ())
        if hold.start <= segment.end and hold.end >= segment.start
    ]
    if holding:
        if segment.id not in kept:
            kept.add(segment.id)
            report.kept_count += 1
            if len(report.kept_for_holds) < LISTED:
                report.kept_for_holds.append(
                    KeptSegment(
                        segment.id,
                        segment.camera,
                        segment.start,
                        segment.end,
                        segment.path,
                        segment.bytes,
                        reason,
                        tuple(holding),
                    )
                )
        return False

    path = media / segment.path
    missing = False
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        missing = True
        size = 0
        log.warning(
            "camera %s: segment file %s was already gone; removing its index entry",
            segment.camera,
            path,
        )
    except OSError as exc:
        log.error(
            "camera %s: cannot delete segment file %s: %s; it stays indexed",
            segment.camera,
            path,
            exc.strerror or exc,
        )
        report.failed_count += 1
        if len(report.failed) < LISTED:
            report.failed.append(FailedSegment(segment.id, segment.path, str(exc)))
        return False

    session.delete(segment)
    report.bytes_freed += size
    if reason == "age":
        report.removed_by_age += 1
    else:
        report.removed_by_quota += 1
    if len(report.removed) < LISTED:
        report.removed.append(
            RemovedSegment(
                segment.id,
                segment.camera,
                segment.start,
                segment.end,
                segment.path,
                segment.bytes,
                reason,
                missing,
            )
        )
    log.debug("camera %s: segment %s removed (%s)", segment.camera, path, reason)
    if not missing:
        _prune_folders(path.parent, media)
    return True


def _prune_folders(folder: Path, media: Path) -> None:
    """Remove empty folders left by removed segments, below the camera's folder.

    Only a folder that just lost a segment can become empty, and the recorder
    always has a segment open in the folder it writes to, so this never takes
    a folder from under it.
    """
    recordings = media / "recordings"
    while folder.parent != recordings and recordings in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _active_holds(db: Database, now: datetime) -> dict[str, list[Hold]]:
    with db.session() as session:
        rows = session.scalars(
            select(Hold).where(or_(Hold.expires_at.is_(None), Hold.expires_at > now))
        ).all()
    holds: dict[str, list[Hold]] = {}
    for hold in rows:
        holds.setdefault(hold.camera, []).append(hold)
    return holds


def place_hold(
    db: Database,
    camera: str,
    start: datetime,
    end: datetime,
    reason: str,
    expires_at: datetime | None = None,
) -> int:
    """Keep ``camera``'s footage over ``[start, end]`` from retention.

    Args:
        db: The database.
        camera: Name of the camera.
        start: Start of the footage to keep, timezone-aware.
        end: End of the footage to keep, after ``start``.
        reason: Why, for people reading the hold (e.g. ``"alert 42"``).
        expires_at: When the hold lapses by itself; None keeps it until
            :func:`release_hold`.

    Returns:
        The hold's id.

    Raises:
        HoldError: A bad camera name, naive or reversed times, an empty or
            too long reason, or an expiry already past.
    """
    if not _CAMERA.match(camera):
        raise HoldError(
            f"camera name {camera!r} is not valid; a camera name is letters, "
            "digits, '-' and '_'"
        )
    start = _aware(start, "hold start")
    end = _aware(end, "hold end")
    if end <= start:
        raise HoldError(
            f"hold for camera {camera!r} ends at {end.isoformat()}, not after its "
            f"start {start.isoformat()}; the end must be later than the start"
        )
    reason = reason.strip()
    if not reason or len(reason) > _REASON_MAX:
        raise HoldError(
            f"hold reason has {len(reason)} characters; give 1 to {_REASON_MAX} "
            "(e.g. 'alert 42')"
        )
    if expires_at is not None:
        expires_at = _aware(expires_at, "hold expiry")
        if expires_at <= datetime.now(UTC):
            raise HoldError(
                f"hold expiry {expires_at.isoformat()} has already passed; give a "
                "future time, or None to hold until released"
            )
    with db.session() as session:
        hold = Hold(
            camera=camera, start=start, end=end, reason=reason, expires_at=expires_at
        )
        session.add(hold)
        session.flush()
        hold_id = hold.id
    log.info(
        "camera %s: hold %d placed on %s to %s (%s)",
        camera,
        hold_id,
        start.isoformat(),
        end.isoformat(),
        reason,
    )
    return hold_id


def release_hold(db: Database, hold_id: int, now: datetime | None = None) -> None:
    """Let retention have the footage of hold ``hold_id`` again.

    The hold's row stays, with ``expires_at`` set to the release time, as a
    record of what was held and until when. Releasing a hold that has already
    lapsed changes nothing.

    Raises:
        HoldError: No hold has that id.
    """
    now = _aware(now or datetime.now(UTC), "now")
    with db.session() as session:
        hold = session.get(Hold, hold_id)
        if hold is None:
            raise HoldError(f"no hold has id {hold_id}; nothing was released")
        if hold.expires_at is not None and hold.expires_at <= now:
            log.debug("hold %d had already lapsed at %s", hold_id, hold.expires_at)
            return
        hold.expires_at = now
        camera = hold.camera
    log.info("camera %s: hold %d released", camera, hold_id)


class RetentionKeeper(threading.Thread):
    """Runs :func:`apply_retention` at once and then every ``interval_s`` seconds.

    A failed run is logged and tried again at the next interval; the thread
    ends only when :meth:`stop` is called.

    Args:
        db: The database.
        site_config: The site, for retention days, quota and media directory.
        interval_s: Seconds between runs.
        clock: Gives the current time for each run. Default: the system clock.

    Example:
        >>> keeper = RetentionKeeper(db, site, interval_s=600)  # doctest: +SKIP
        >>> keeper.start()  # doctest: +SKIP
        >>> keeper.stop()  # doctest: +SKIP
    """

    def __init__(
        self,
        db: Database,
        site_config: SiteConfig,
        interval_s: float = 300.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s is {interval_s}; it must be positive")
        super().__init__(name="retention-keeper", daemon=True)
        self.db = db
        self.site_config = site_config
        self.interval_s = interval_s
        self.clock = clock or (lambda: datetime.now(UTC))
        self.runs = 0
        self.last_report: RetentionReport | None = None
        self.last_error: str | None = None
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.last_report = apply_retention(
                    self.db, self.site_config, now=self.clock()
                )
                self.last_error = None
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception(
                    "retention run failed; trying again in %.0f s", self.interval_s
                )
            self.runs += 1
            self._stopping.wait(self.interval_s)

    def stop(self, timeout: float | None = 10.0) -> None:
        """Ask the thread to end and wait for it (a run in progress finishes)."""
        self._stopping.set()
        if self.is_alive():
            self.join(timeout)


def _aware(value: datetime, what: str, error: type[ValueError] = HoldError) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise error(
            f"{what} {value.isoformat()} has no time zone; give a timezone-aware "
            "time (UTC, e.g. 2024-05-01T12:00:00+00:00)"
        )
    return value.astimezone(UTC)
