"""Zones, lines and rules made through the API (the site file's are not stored)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from watchfloor.models.base import Base, UTCDateTime


def _now() -> datetime:
    return datetime.now(UTC)


class _Definition:
    """A named object whose definition is the site file's schema, as JSON."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    definition: Mapped[str] = mapped_column(
        Text, doc="JSON of the same schema as the site file's entry."
    )
    created_by: Mapped[str] = mapped_column(String(128), default="local")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)


class ZoneRow(_Definition, Base):
    """A zone made through the API."""

    __tablename__ = "zones"


class LineRow(_Definition, Base):
    """A line made through the API."""

    __tablename__ = "lines"


class RuleRow(_Definition, Base):
    """A rule made through the API."""

    __tablename__ = "rules"
