"""Identities: one object followed across cameras, made of tracks."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from watchfloor.models.base import Base, UTCDateTime


def _now() -> datetime:
    return datetime.now(UTC)


class Identity(Base):
    """One person or vehicle seen by one or more cameras.

    Its tracks (``Track.identity_id``) are its appearances; the resolver keeps
    the summary columns here up to date as tracks join.
    """

    __tablename__ = "identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    tracks: Mapped[int] = mapped_column(Integer, default=1)
    cameras: Mapped[str] = mapped_column(
        String(1024), doc="The cameras it was seen by, comma-separated, in order."
    )
    best_track_id: Mapped[int | None] = mapped_column(
        Integer, doc="The track whose snapshot stands for the identity."
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)

    __table_args__ = (
        Index("ix_identities_last_seen", "last_seen"),
        Index("ix_identities_label_last_seen", "label", "last_seen"),
    )
