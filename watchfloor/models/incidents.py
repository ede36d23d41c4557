"""Incidents: the response to alerts, its people, links, timeline and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from watchfloor.models.base import Base, UTCDateTime


def _now() -> datetime:
    return datetime.now(UTC)


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class IncidentStatus(StrEnum):
    """The response lifecycle, in order; ``closed`` may be reopened to triage."""

    TRIAGE = "triage"
    CONTAINED = "contained"
    ERADICATED = "eradicated"
    RECOVERED = "recovered"
    CLOSED = "closed"


class Role(StrEnum):
    COMMANDER = "commander"
    RESPONDER = "responder"
    COMMUNICATIONS = "communications"


class LinkKind(StrEnum):
    ALERT = "alert"
    CLIP = "clip"
    EVENT = "event"


class Incident(Base):
    """The response to one or more alerts."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(16))
    location: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default=IncidentStatus.TRIAGE.value)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Post-incident review, filled in by the team before closing (Markdown).
    root_cause: Mapped[str | None] = mapped_column(Text)
    what_worked: Mapped[str | None] = mapped_column(Text)
    what_did_not: Mapped[str | None] = mapped_column(Text)
    actions: Mapped[str | None] = mapped_column(Text)

    roles: Mapped[list[IncidentRole]] = relationship(back_populates="incident")
    links: Mapped[list[IncidentLink]] = relationship(back_populates="incident")
    notes: Mapped[list[IncidentNote]] = relationship(back_populates="incident")
    references: Mapped[list[ExternalReference]] = relationship(
        back_populates="incident"
    )
    timeline: Mapped[list[TimelineEntry]] = relationship(back_populates="incident")

    __table_args__ = (
        Index("ix_incidents_status_created_at", "status", "created_at"),
        Index("ix_incidents_created_at", "created_at"),
    )


class IncidentRole(Base):
    """A person in a role on an incident, from assignment to removal."""

    __tablename__ = "incident_roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    role: Mapped[str] = mapped_column(String(32))
    person: Mapped[str] = mapped_column(String(128))
    assigned_by: Mapped[str] = mapped_column(String(128))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    incident: Mapped[Incident] = relationship(back_populates="roles")

    __table_args__ = (Index("ix_incident_roles_incident_id", "incident_id"),)


class IncidentLink(Base):
    """An alert, clip or event attached to an incident."""

    __tablename__ = "incident_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    kind: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(Integer)
    linked_by: Mapped[str] = mapped_column(String(128))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)
    hold_id: Mapped[int | None] = mapped_column(
        ForeignKey("holds.id", ondelete="SET NULL"),
        doc="The hold keeping the linked footage from retention.",
    )

    incident: Mapped[Incident] = relationship(back_populates="links")

    __table_args__ = (
        Index("ix_incident_links_incident_id", "incident_id"),
        Index("ix_incident_links_kind_target", "kind", "target_id"),
    )


class IncidentNote(Base):
    """A note (Markdown) on an incident."""

    __tablename__ = "incident_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)

    incident: Mapped[Incident] = relationship(back_populates="notes")

    __table_args__ = (Index("ix_incident_notes_incident_id", "incident_id"),)


class ExternalReference(Base):
    """Another system's record of the incident, such as a ticket."""

    __tablename__ = "incident_references"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    system: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(1000))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)

    incident: Mapped[Incident] = relationship(back_populates="references")

    __table_args__ = (
        Index("ix_incident_references_key", "key"),
        Index("ix_incident_references_incident_id", "incident_id"),
    )


class TimelineEntry(Base):
    """One thing that happened in an incident, on one time line.

    ``time`` is when it happened: for an action, when it was taken; for a
    linked alert or clip, the footage's own wall-clock time.
    """

    __tablename__ = "incident_timeline"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(128))
    summary: Mapped[str] = mapped_column(Text)
    data: Mapped[str] = mapped_column(Text, default="{}", doc="JSON detail.")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)

    incident: Mapped[Incident] = relationship(back_populates="timeline")

    __table_args__ = (
        Index("ix_incident_timeline_incident_time", "incident_id", "time"),
    )


class AuditEntry(Base):
    """One state-changing action, in an append-only chain of hashes.

    ``hash`` is the SHA-256 of this entry's canonical content together with
    ``previous_hash``, so editing or deleting any entry breaks every link after
    it.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128), doc="Such as 'incident:7'.")
    before: Mapped[str | None] = mapped_column(Text, doc="JSON, or None.")
    after: Mapped[str | None] = mapped_column(Text, doc="JSON, or None.")
    previous_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (
        Index("ix_audit_log_target", "target"),
        Index("ix_audit_log_time", "time"),
    )
