"""Recorded segments, clips cut from them, and holds that protect footage."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Float, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from watchfloor.models.base import Base, UTCDateTime


def _now() -> datetime:
    return datetime.now(UTC)


class Segment(Base):
    """One recorded MP4 file of one camera, indexed when it was closed."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    camera: Mapped[str] = mapped_column(String(64))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    path: Mapped[str] = mapped_column(String(512), unique=True)
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    codec: Mapped[str] = mapped_column(String(32))
    frames: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)

    __table_args__ = (
        Index("ix_segments_camera_start", "camera", "start"),
        Index("ix_segments_start", "start"),
    )


class Clip(Base):
    """An MP4 cut from segments for a camera and a time range."""

    __tablename__ = "clips"

    id: Mapped[int] = mapped_column(primary_key=True)
    camera: Mapped[str] = mapped_column(String(64))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    path: Mapped[str] = mapped_column(String(512))
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    duration_s: Mapped[float] = mapped_column(Float)
    missing: Mapped[str | None] = mapped_column(
        Text, doc="Parts of the asked range with no footage, as words; None: none."
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)

    __table_args__ = (Index("ix_clips_camera_start", "camera", "start"),)


class Hold(Base):
    """Footage of one camera over a time range that retention must keep."""

    __tablename__ = "holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    camera: Mapped[str] = mapped_column(String(64))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(256))
    expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, doc="When the hold lapses by itself; None: until released."
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)

    __table_args__ = (Index("ix_holds_camera_start", "camera", "start"),)
