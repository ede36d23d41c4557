"""The files an incident refers to: its clips and snapshots, found on disk."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchfloor.models import Alert, Clip, Event, IncidentLink, LinkKind

log = logging.getLogger(__name__)

ExhibitKind = Literal["clip", "snapshot"]


@dataclass(frozen=True)
class IntegrityProblem:
    """Something wrong with a file an incident refers to, found when gathering it.

    Attributes:
        kind: ``changed`` (its content differs from what was recorded when it
            was made), ``changed_during_export``, ``missing`` (not on disk),
            ``unreadable``, ``outside`` (its stored path leaves the media
            directory) or ``record_missing`` (the linked row is gone).
        subject: What it is, in words: ``clip 3``, ``snapshot of alert 5``.
        message: A sentence saying what is wrong and what was done about it.
        name: Its path inside an export, when it was exported.
        stored: The path the database keeps, when there is one.
        expected_sha256: The SHA-256 recorded when the file was made.
        actual_sha256: The SHA-256 of the file as it is now.
        expected_bytes: The size recorded when the file was made.
        actual_bytes: The size of the file as it is now.
    """

    kind: str
    subject: str
    message: str
    name: str | None = None
    stored: str | None = None
    expected_sha256: str | None = None
    actual_sha256: str | None = None
    expected_bytes: int | None = None
    actual_bytes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The problem as JSON-ready data, as a manifest's ``integrity`` lists it."""
        return {
            "kind": self.kind,
            "subject": self.subject,
            "message": self.message,
            "path": self.name,
            "stored_path": self.stored,
            "expected_sha256": self.expected_sha256,
            "actual_sha256": self.actual_sha256,
            "expected_bytes": self.expected_bytes,
            "actual_bytes": self.actual_bytes,
        }


@dataclass(frozen=True)
class Exhibit:
    """One file an incident refers to, and where it came from.

    Attributes:
        name: Its path inside an export, such as ``clips/clip-3.mp4`` or
            ``snapshots/alert-5.jpg``; the Markdown report refers to it so.
        kind: ``clip`` or ``snapshot``.
        file: The file on disk, absolute.
        stored: The path as the database keeps it.
        subject: What it is, in words: ``clip 3``, ``snapshot of alert 5``.
        caption: A line for a person: camera, time and what it shows.
        source: JSON-ready facts about its origin (ids, camera, times).
        recorded_sha256: For a clip, the SHA-256 recorded when it was cut.
        recorded_bytes: For a clip, the size recorded when it was cut.
    """

    name: str
    kind: ExhibitKind
    file: Path
    stored: str
    subject: str
    caption: str
    source: dict[str, Any] = field(default_factory=dict)
    recorded_sha256: str | None = None
    recorded_bytes: int | None = None


def find_exhibits(
    session: Session, incident_id: int, media_dir: Path
) -> tuple[list[Exhibit], list[IntegrityProblem]]:
    """The clips and snapshots of an incident's linked alerts, clips and events.

    A linked alert brings its snapshot, its snapshot crop and its clip; a
    linked clip brings itself; a linked event brings its snapshot. A clip
    reached twice (linked, and as an alert's clip) is listed once. Files are
    listed only when they exist; what cannot be found is a problem instead.

    Args:
        session: An open session.
        incident_id: The incident.
        media_dir: The media directory stored paths are relative to.

    Returns:
        The exhibits in link order (clips before snapshots), and the problems.
    """
    media_dir = Path(media_dir).resolve()
    links = session.scalars(
        select(IncidentLink)
        .where(IncidentLink.incident_id == incident_id)
        .order_by(IncidentLink.linked_at, IncidentLink.id)
    ).all()

    clip_via: dict[int, str] = {}  # clip id -> how it came, in link order
    snapshots: list[tuple[str, str, str, str, dict[str, Any]]] = []
    problems: list[IntegrityProblem] = []
    for link in links:
        if link.kind == LinkKind.ALERT.value:
            alert = session.get(Alert, link.target_id)
            if alert is None:
                problems.append(_record_missing("alert", link.target_id))
                continue
            where = f"alert {alert.id} on camera {alert.camera}"
            facts = {
                "alert_id": alert.id,
                "camera": alert.camera,
                "rule": alert.rule,
                "time": _iso(alert.start),
            }
            when = _iso(alert.start)
            if alert.snapshot:
                snapshots.append(
                    (
                        f"snapshots/alert-{alert.id}",
                        alert.snapshot,
                        f"snapshot of alert {alert.id}",
                        f"{where} at {when}: {alert.label} ({alert.rule})",
                        facts,
                    )
                )
            if alert.snapshot_crop:
                snapshots.append(
                    (
                        f"snapshots/alert-{alert.id}-crop",
                        alert.snapshot_crop,
                        f"snapshot crop of alert {alert.id}",
                        f"{where} at {when}: the {alert.label}, cropped",
                        {**facts, "crop": True},
                    )
                )
            if alert.clip_id is not None:
                clip_via.setdefault(alert.clip_id, f"alert {alert.id}")
        elif link.kind == LinkKind.CLIP.value:
            clip_via.setdefault(link.target_id, "linked")
        elif link.kind == LinkKind.EVENT.value:
            event = session.get(Event, link.target_id)
            if event is None:
                problems.append(_record_missing("event", link.target_id))
                continue
            if event.snapshot:
                snapshots.append(
                    (
                        f"snapshots/event-{event.id}",
                        event.snapshot,
                        f"snapshot of event {event.id}",
                        f"event {event.id} on camera {event.camera} at "
                        f"{_iso(event.time)}: {event.label} {event.kind}",
                        {
                            "event_id": event.id,
                            "camera": event.camera,
                            "time": _iso(event.time),
                        },
                    )
                )
        else:
            log.warning(
                "incident %d links a %r, which has no files; skipped",
                incident_id,
                link.kind,
            )

    exhibits: list[Exhibit] = []
    for clip_id, via in clip_via.items():
        clip = session.get(Clip, clip_id)
        if clip is None:
            problems.append(_record_missing("clip", clip_id))
            continue
        exhibit = Exhibit(
            name=f"clips/clip-{clip.id}{_suffix(clip.path, '.mp4')}",
            kind="clip",
            file=_resolve(media_dir, clip.path),
            stored=clip.path,
            subject=f"clip {clip.id}",
            caption=(
                f"clip {clip.id} of camera {clip.camera}, {_iso(clip.start)} to "
                f"{_iso(clip.end)}"
            ),
            source={
                "clip_id": clip.id,
                "camera": clip.camera,
                "start": _iso(clip.start),
                "end": _iso(clip.end),
                "duration_s": clip.duration_s,
                "missing_footage": clip.missing,
                "cut_at": _iso(clip.created_at),
                "via": via,
            },
            recorded_sha256=clip.sha256,
            recorded_bytes=clip.bytes,
        )
        problem = _absent(exhibit, media_dir, allow_outside=True)
        if problem is None:
            exhibits.append(exhibit)
        else:
            problems.append(problem)

    seen: set[str] = set()
    for stem, stored, subject, caption, facts in snapshots:
        name = f"{stem}{_suffix(stored, '.jpg')}"
        if name in seen:
            continue
        seen.add(name)
        exhibit = Exhibit(
            name=name,
            kind="snapshot",
            file=_resolve(media_dir, stored),
            stored=stored,
            subject=subject,
            caption=caption,
            source=facts,
        )
        problem = _absent(exhibit, media_dir, allow_outside=False)
        if problem is None:
            exhibits.append(exhibit)
        else:
            problems.append(problem)
    return exhibits, problems


def _resolve(media_dir: Path, stored: str) -> Path:
    """The file a stored path names: relative to the media directory, or absolute."""
    path = Path(stored)
    return (path if path.is_absolute() else media_dir / path).resolve()


def _absent(
    exhibit: Exhibit, media_dir: Path, *, allow_outside: bool
) -> IntegrityProblem | None:
    """Why an exhibit cannot be read, or None when it can."""
    if not allow_outside and not exhibit.file.is_relative_to(media_dir):
        return IntegrityProblem(
            kind="outside",
            subject=exhibit.subject,
            message=(
                f"{exhibit.subject}: its stored path {exhibit.stored!r} lies outside "
                f"the media directory {media_dir}; not exported"
            ),
            stored=exhibit.stored,
        )
    if not exhibit.file.is_file():
        return IntegrityProblem(
            kind="missing",
            subject=exhibit.subject,
            message=(
                f"{exhibit.subject} is missing from disk (expected at "
                f"{exhibit.file}); not exported"
            ),
            stored=exhibit.stored,
            expected_sha256=exhibit.recorded_sha256,
            expected_bytes=exhibit.recorded_bytes,
        )
    return None


def _record_missing(kind: str, target_id: int) -> IntegrityProblem:
    return IntegrityProblem(
        kind="record_missing",
        subject=f"{kind} {target_id}",
        message=(
            f"the incident links {kind} {target_id}, whose record no longer "
            "exists; its files cannot be found"
        ),
    )


def _suffix(stored: str, default: str) -> str:
    suffix = Path(stored).suffix.lower()
    return suffix if suffix and suffix[1:].isalnum() else default


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()
