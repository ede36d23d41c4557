"""The persistent data model: SQLAlchemy ORM classes and Alembic migrations."""

from watchfloor.models.alerts import Alert, AlertStatus, ClipState
from watchfloor.models.base import Base, UTCDateTime
from watchfloor.models.identities import Identity
from watchfloor.models.incidents import (
    AuditEntry,
    ExternalReference,
    Incident,
    IncidentLink,
    IncidentNote,
    IncidentRole,
    IncidentStatus,
    LinkKind,
    Role,
    Severity,
    TimelineEntry,
)
from watchfloor.models.recording import Clip, Hold, Segment
from watchfloor.models.rules import LineRow, RuleRow, ZoneRow
from watchfloor.models.tracks import Event, Track

__all__ = [
    "Alert",
    "AlertStatus",
    "AuditEntry",
    "Base",
    "Clip",
    "ClipState",
    "Event",
    "ExternalReference",
    "Hold",
    "Identity",
    "Incident",
    "IncidentLink",
    "IncidentNote",
    "IncidentRole",
    "IncidentStatus",
    "LineRow",
    "LinkKind",
    "Role",
    "RuleRow",
    "Segment",
    "Severity",
    "TimelineEntry",
    "Track",
    "UTCDateTime",
    "ZoneRow",
]
