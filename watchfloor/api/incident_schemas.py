"""Request and response models of the incidents API, apart from the database's."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from watchfloor.api.schemas import AlertOut, Time

Severity = Literal["low", "medium", "high", "critical"]
Status = Literal["triage", "contained", "eradicated", "recovered", "closed"]
RoleName = Literal["commander", "responder", "communications"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    by: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="Who does it; default: the X-Watchfloor-Actor header, else "
        "'local'.",
    )


# --- responses -------------------------------------------------------------------


class RoleOut(_Out):
    """One assignment of a person to a role, current or past."""

    id: int
    role: RoleName
    person: str
    assigned_by: str
    assigned_at: Time
    removed_at: Time | None = Field(description="When it ended; None: current.")


class HoldOut(_Out):
    """Footage kept from retention for the incident."""

    id: int
    camera: str
    start: Time
    end: Time
    reason: str
    expires_at: Time | None = Field(
        description="When the hold lapses; None while the incident is open."
    )


class ClipOut(BaseModel):
    """A clip (its file path on the server is not shown)."""

    model_config = ConfigDict(extra="ignore")

    id: int
    camera: str
    start: Time
    end: Time
    bytes: int
    sha256: str = Field(description="SHA-256 of the file when it was written.")
    duration_s: float
    missing: str | None = Field(description="Parts of the range with no footage.")
    created_at: Time


class EventOut(_Out):
    """A track event."""

    id: int
    track_id: int
    camera: str
    kind: str
    time: Time
    label: str
    score: float
    box: list[float] = Field(description="x1, y1, x2, y2 as fractions of the frame.")
    snapshot: str | None = Field(description="Media path of its crop, if any.")


class LinkOut(_Out):
    """An alert, clip or event linked to the incident, with what it links to."""

    id: int
    kind: Literal["alert", "clip", "event"]
    target_id: int = Field(description="Id of the alert, clip or event.")
    linked_by: str
    linked_at: Time
    hold: HoldOut | None = Field(description="The hold keeping its footage.")
    alert: AlertOut | None = Field(description="The alert, for an alert link.")
    clip: ClipOut | None = Field(
        description="The clip, for a clip link; the alert's clip, for an alert."
    )
    event: EventOut | None = Field(description="The event, for an event link.")
    target_missing: bool = Field(description="Its row was deleted since.")


class NoteOut(_Out):
    """A note (Markdown)."""

    id: int
    text: str
    author: str
    created_at: Time


class ReferenceOut(_Out):
    """Another system's record of the incident."""

    id: int
    system: str
    key: str
    url: str | None
    created_by: str
    created_at: Time


class IncidentOut(_Out):
    """An incident with its people, links, notes, references and review."""

    id: int
    title: str
    description: str
    severity: Severity
    location: str
    status: Status
    created_by: str
    created_at: Time
    closed_at: Time | None
    root_cause: str | None = Field(description="Review: why it happened.")
    what_worked: str | None = Field(description="Review: what went well.")
    what_did_not: str | None = Field(description="Review: what did not.")
    actions: str | None = Field(description="Review: what will be done.")
    commander: str | None = Field(description="The current commander.")
    roles: list[RoleOut] = Field(description="Every assignment, oldest first.")
    links: list[LinkOut]
    notes: list[NoteOut]
    references: list[ReferenceOut]


class IncidentSummaryOut(_Out):
    """An incident as lists show it."""

    id: int
    title: str
    severity: Severity
    location: str
    status: Status
    created_by: str
    created_at: Time
    closed_at: Time | None
    commander: str | None


class IncidentPage(_Out):
    """One page of incidents, newest first."""

    items: list[IncidentSummaryOut]
    total: int = Field(description="Incidents matching the filters, on all pages.")
    next: str | None = Field(description="Path and query of the next page.")
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page.")


class TimelineEntryOut(_Out):
    """One thing that happened, at its time."""

    id: int
    time: Time
    kind: str = Field(
        description="created, status, role, link, note, reference, update; alert, "
        "clip, event for footage at its own time."
    )
    footage: bool = Field(description="Placed at the footage's time, not a person's.")
    actor: str | None
    summary: str
    data: dict[str, Any]


class EscalationOut(_Out):
    """An alert escalated into an incident."""

    incident: IncidentOut
    alert: AlertOut
    created: bool = Field(description="Whether the incident was made for it.")
    link_id: int


class IncidentMetricsOut(_Out):
    """How fast one incident was handled, in seconds from its first alert."""

    incident_id: int
    severity: Severity
    status: Status
    started_at: Time
    started_from: Literal["alert", "incident"] = Field(
        description="alert: the first linked alert's start; incident: its creation "
        "(no alerts)."
    )
    first_alert_id: int | None
    acknowledged_at: Time | None = Field(
        description="Earliest of the first alert's acknowledgement, its escalation "
        "and its link to this incident."
    )
    time_to_acknowledge_s: float | None
    contained_at: Time | None = Field(
        description="First move to contained or a later step."
    )
    time_to_contain_s: float | None
    recovered_at: Time | None = Field(description="First move to recovered or closed.")
    time_to_recover_s: float | None
    alerts: int
    alerts_by_camera: dict[str, int]
    links_by_kind: dict[str, int]
    cameras: list[str] = Field(description="Cameras of all linked footage.")


class DurationStats(_Out):
    """One duration over the incidents that have it."""

    count: int
    mean_s: float | None
    median_s: float | None
    max_s: float | None


class PeriodMetricsOut(_Out):
    """Metrics over the incidents created in a period."""

    since: Time | None
    until: Time | None
    incidents: int
    by_severity: dict[str, int]
    by_status: dict[str, int]
    by_camera: dict[str, int] = Field(
        description="Incidents with footage of each camera."
    )
    alerts: int = Field(description="Alerts linked to these incidents.")
    time_to_acknowledge: DurationStats
    time_to_contain: DurationStats
    time_to_recover: DurationStats


# --- requests --------------------------------------------------------------------


class IncidentFields(_In):
    """The fields of a new incident."""

    title: str = Field(min_length=1, max_length=200)
    severity: Severity
    description: str = Field("", max_length=100_000, description="Markdown.")
    location: str = Field("", max_length=200, description="Site or place.")
    commander: str | None = Field(
        None, min_length=1, max_length=128, description="Default: who creates it."
    )


class IncidentIn(IncidentFields):
    """A new incident, in triage."""


class IncidentPatch(_In):
    """Fields to change; those left out stay as they are."""

    title: str | None = Field(None, min_length=1, max_length=200)
    severity: Severity | None = None
    description: str | None = Field(None, max_length=100_000)
    location: str | None = Field(None, max_length=200)
    root_cause: str | None = Field(None, max_length=100_000, description="Markdown.")
    what_worked: str | None = Field(None, max_length=100_000, description="Markdown.")
    what_did_not: str | None = Field(None, max_length=100_000, description="Markdown.")
    actions: str | None = Field(None, max_length=100_000, description="Markdown.")

    @model_validator(mode="after")
    def _required_stay(self) -> IncidentPatch:
        for name in ("title", "severity"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be cleared; give a new {name}")
        return self


class StatusIn(_In):
    """A move to another status."""

    to: Status
    note: str | None = Field(None, max_length=4000, description="What was done.")
    reason: str | None = Field(
        None, max_length=4000, description="Why steps are skipped; required then."
    )


class RoleIn(_In):
    """A person for a role; a commander or communications lead replaces the
    current one."""

    role: RoleName
    person: str = Field(min_length=1, max_length=128)


class EscalateIn(_In):
    """Escalate into an existing incident (incident_id) or a new one (its fields)."""

    incident_id: int | None = Field(None, description="An existing incident.")
    title: str | None = Field(
        None, min_length=1, max_length=200, description="Default: from the alert."
    )
    severity: Severity | None = Field(None, description="Required for a new one.")
    description: str | None = Field(None, max_length=100_000)
    location: str | None = Field(None, max_length=200)
    commander: str | None = Field(None, min_length=1, max_length=128)
    note: str | None = Field(None, max_length=4000, description="Why it is escalated.")

    @model_validator(mode="after")
    def _one_target(self) -> EscalateIn:
        new = [
            name
            for name in ("title", "severity", "description", "location", "commander")
            if getattr(self, name) is not None
        ]
        if self.incident_id is not None and new:
            raise ValueError(
                f"give incident_id or new incident fields, not both ({', '.join(new)} "
                f"given with incident_id {self.incident_id})"
            )
        if self.incident_id is None and self.severity is None:
            raise ValueError(
                "give incident_id to escalate into an existing incident, or the "
                "severity (and optionally title, description, location, commander) "
                "of a new one"
            )
        return self


class AlertLinkIn(_In):
    """An alert to link."""

    alert_id: int
    note: str | None = Field(None, max_length=4000)


class ClipLinkIn(_In):
    """An existing clip (clip_id), or a new one to cut (camera, start, end)."""

    clip_id: int | None = None
    camera: str | None = Field(None, min_length=1, max_length=64)
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    note: str | None = Field(None, max_length=4000)

    @model_validator(mode="after")
    def _one_clip(self) -> ClipLinkIn:
        new = [n for n in ("camera", "start", "end") if getattr(self, n) is not None]
        if self.clip_id is not None and new:
            raise ValueError(
                "give clip_id for an existing clip, or camera, start and end for a "
                "new one, not both"
            )
        if self.clip_id is None and len(new) < 3:
            missing = [n for n in ("camera", "start", "end") if n not in new]
            raise ValueError(
                f"give clip_id for an existing clip, or camera, start and end for a "
                f"new one ({', '.join(missing)} missing)"
            )
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be later than start")
        return self


class EventLinkIn(_In):
    """A track event to link."""

    event_id: int
    note: str | None = Field(None, max_length=4000)


class NoteIn(_In):
    """A note (Markdown)."""

    text: str = Field(min_length=1, max_length=100_000)


class ReferenceIn(_In):
    """Another system's record of the incident, e.g. a ticket."""

    system: str = Field(min_length=1, max_length=64, description="e.g. 'jira'.")
    key: str = Field(min_length=1, max_length=200, description="e.g. 'SEC-1234'.")
    url: str | None = Field(None, max_length=1000)
