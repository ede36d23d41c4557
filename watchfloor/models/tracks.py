"""Tracks (one object followed in one camera) and the events of their lives."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, LargeBinary, String
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
    identity_id: Mapped[int | None] = mapped_column(
        Integer,
        doc=(
            "The identity it belongs to across cameras, once resolved (no "
            "foreign key, so that adding it rewrites no table)."
        ),
    )
    appearance: Mapped[bytes | None] = mapped_column(
        LargeBinary,
        doc="Appearance descriptor from its best crops (float32 values).",
    )
    colour: Mapped[str | None] = mapped_column(
        String(16), doc="Dominant colour of the whole object (vehicles' body)."
    )
    upper_colour: Mapped[str | None] = mapped_column(
        String(16), doc="Dominant colour of a person's upper body."
    )
    lower_colour: Mapped[str | None] = mapped_column(
        String(16), doc="Dominant colour of a person's lower body."
    )
    direction: Mapped[str | None] = mapped_column(
        String(16), doc="Direction of travel on the picture."
    )
    size_class: Mapped[str | None] = mapped_column(
        String(16), doc="small, medium or large, by its height in the picture."
    )

    events: Mapped[list[Event]] = relationship(back_populates="track")

    __table_args__ = (
        Index("ix_tracks_camera_first_seen", "camera", "first_seen"),
        Index("ix_tracks_label_first_seen", "label", "first_seen"),
        Index("ix_tracks_identity_id", "identity_id"),
        # Similar search compares the most recent tracks first.
        Index("ix_tracks_first_seen", "first_seen"),
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
    # The track's attributes and identity, copied onto each of its events when
    # they become known, so that a search filters one table through one index.
    identity_id: Mapped[int | None] = mapped_column(Integer)
    colour: Mapped[str | None] = mapped_column(String(16))
    upper_colour: Mapped[str | None] = mapped_column(String(16))
    lower_colour: Mapped[str | None] = mapped_column(String(16))
    direction: Mapped[str | None] = mapped_column(String(16))

    track: Mapped[Track] = relationship(back_populates="events")

    __table_args__ = (
        Index("ix_events_camera_time", "camera", "time"),
        Index("ix_events_time", "time"),
        Index("ix_events_track_id", "track_id"),
        Index("ix_events_label_time", "label", "time"),
        Index("ix_events_kind_time", "kind", "time"),
        Index("ix_events_identity_id_time", "identity_id", "time"),
        Index("ix_events_colour_time", "colour", "time"),
        Index("ix_events_upper_colour_time", "upper_colour", "time"),
        Index("ix_events_lower_colour_time", "lower_colour", "time"),
        Index("ix_events_direction_time", "direction", "time"),
        # Search results in score order, best first.
        Index("ix_events_score", "score"),
    )
