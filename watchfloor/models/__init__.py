"""The persistent data model: SQLAlchemy ORM classes and Alembic migrations."""

from watchfloor.models.alerts import Alert, AlertStatus, ClipState
from watchfloor.models.base import Base, UTCDateTime
from watchfloor.models.recording import Clip, Hold, Segment
from watchfloor.models.rules import LineRow, RuleRow, ZoneRow
from watchfloor.models.tracks import Event, Track

__all__ = [
    "Alert",
    "AlertStatus",
    "Base",
    "Clip",
    "ClipState",
    "Event",
    "Hold",
    "LineRow",
    "RuleRow",
    "Segment",
    "Track",
    "UTCDateTime",
    "ZoneRow",
]
