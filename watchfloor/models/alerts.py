"""Alerts: events a rule says a person must see, and what was done about them."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from watchfloor.models.base import Base, UTCDateTime


def _now() -> datetime:
    return datetime.now(UTC)


class AlertStatus(StrEnum):
    """Where an alert is in its handling."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"
    ESCALATED = "escalated"


class ClipState(StrEnum):
    """Whether an alert's clip can be watched yet."""

    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class Alert(Base):
    """One episode of one track (or of a zone's occupancy) that broke a rule."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    camera: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    zone: Mapped[str | None] = mapped_column(String(64))
    line: Mapped[str | None] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    track_id: Mapped[int | None] = mapped_column(
        ForeignKey("tracks.id", ondelete="SET NULL"), doc="The track, when one."
    )
    tracker_id: Mapped[int | None] = mapped_column(Integer)
    start: Mapped[datetime] = mapped_column(
        UTCDateTime, doc="Wall-clock time of the first qualifying frame."
    )
    end: Mapped[datetime | None] = mapped_column(
        UTCDateTime, doc="When the episode ended; None while it goes on."
    )
    status: Mapped[str] = mapped_column(String(16), default=AlertStatus.NEW.value)
    status_by: Mapped[str | None] = mapped_column(String(128))
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_note: Mapped[str | None] = mapped_column(
        Text, doc="Why it was dismissed, resolved or escalated."
    )
    snapshot: Mapped[str | None] = mapped_column(
        String(512), doc="Full frame with box and zone drawn (media-relative)."
    )
    snapshot_crop: Mapped[str | None] = mapped_column(String(512))
    path: Mapped[str | None] = mapped_column(
        Text,
        doc="Where the track's feet went: JSON [[seconds from start, x, y], ...] "
        "in normalised picture coordinates; None without a track.",
    )
    clip_state: Mapped[str] = mapped_column(String(16), default=ClipState.PENDING.value)
    clip_error: Mapped[str | None] = mapped_column(Text)
    clip_id: Mapped[int | None] = mapped_column(
        ForeignKey("clips.id", ondelete="SET NULL")
    )
    hold_id: Mapped[int | None] = mapped_column(
        ForeignKey("holds.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)

    __table_args__ = (
        Index("ix_alerts_start", "start"),
        Index("ix_alerts_camera_start", "camera", "start"),
        Index("ix_alerts_status_start", "status", "start"),
        Index("ix_alerts_rule_start", "rule", "start"),
        Index("ix_alerts_track_id", "track_id"),
    )
