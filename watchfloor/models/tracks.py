"""Tracks (one object followed in one camera) and the events of their lives."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from watchfloor.models.base import Base, UTCDateTime


def _now() -> datetime:
    return datetime.now(UTC)


class Track(Base):
    """One object followed in one camera, as the tracker saw it."""

    __tablename__ = "tracks"

    id: Mapped[int] = mapped_column(primary_key=True)
    camera: Mapped[str] = mapped_column(String(64))
    tracker_id: Mapped[int] = mapped_column(
        Integer, doc="The id the camera's tracker gave it (restarts with the engine)."
    )
    label: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    best_score: Mapped[float] = mapped_column(Float)
    snapshot: Mapped[str | None] = mapped_column(
        String(512), doc="Best crop so far, relative to the media directory."
    )
    ended: Mapped[bool] = mapped_column(default=False)

    events: Mapped[list[Event]] = relationship(back_populates="track")

    __table_args__ = (
        Index("ix_tracks_camera_first_seen", "camera", "first_seen"),
        Index("ix_tracks_label_first_seen", "label", "first_seen"),
    )


class Event(Base):
    """Something a track did: it appeared, was lost, was seen again, ended."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"))
    camera: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    label: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    x1: Mapped[float] = mapped_column(Float, doc="Box, as fractions of the frame.")
    y1: Mapped[float] = mapped_column(Float)
    x2: Mapped[float] = mapped_column(Float)
    y2: Mapped[float] = mapped_column(Float)
    snapshot: Mapped[str | None] = mapped_column(
        String(512), doc="JPEG of the track's best crop at this moment."
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)

    track: Mapped[Track] = relationship(back_populates="events")

    __table_args__ = (
        Index("ix_events_camera_time", "camera", "time"),
        Index("ix_events_time", "time"),
        Index("ix_events_track_id", "track_id"),
    )
