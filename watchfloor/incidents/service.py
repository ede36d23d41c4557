"""Incident operations: create, move, roles, links, notes, references, holds, metrics.

Every operation works in the caller's session and leaves the commit to it, so
that a change, its timeline entries, its holds and its audit entry stand or
fall together. Each one first locks the incident's row (a write that changes
nothing: a row lock on PostgreSQL, the write lock on SQLite), so two changes
to one incident never interleave.

The timeline puts people's actions (at the time they were taken) and the
footage of linked alerts, clips and events (at its own wall-clock time) on one
line: linking an alert adds "alert raised" at the alert's start as well as
the entry of the person who linked it.

Footage linked to an incident is kept from retention by one hold per link,
covering the alert's, clip's or event's camera and time range (with the
site's pre- and post-roll around alerts and events). The holds have no expiry
while the incident is open; closing it sets their expiry to the close time
plus ``incidents.hold_after_close_days``, and reopening clears it again.

Metrics (see :func:`incident_metrics`) count from the first linked alert's
start:

- **time to acknowledge**: until that alert was first acknowledged, escalated
  or linked to this incident, whichever came first. The times come from the
  audit log (``alert.acknowledge`` and ``alert.escalate`` entries; an
  escalation's entry also keeps the time of an earlier acknowledgement as the
  alert's state before) and from the link (for an alert escalated into a new
  incident, that is the incident's creation).
- **time to contain**: until the incident first moved to contained or to a
  later step (a move that skips contained still contains).
- **time to recover**: until it first moved to recovered or closed.

An incident without alerts counts containment and recovery from its creation
and has no time to acknowledge.

Limitations:
    An alert still going on when it is linked is held to the link time plus
    the post-roll; its own hold (placed when it was raised) keeps the rest.
    Linking footage to a closed incident is refused: reopen it first.
"""

from __future__ import annotations

import json
import logging
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from watchfloor.config import SiteConfig
from watchfloor.incidents import audit
from watchfloor.incidents.lifecycle import (
    ORDER,
    Move,
    MoveRefused,
    check_move,
    is_open,
)
from watchfloor.media.clips import ClipError, ClipResult, cut_clip
from watchfloor.models.alerts import Alert, AlertStatus
from watchfloor.models.database import Database
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
from watchfloor.models.recording import Clip, Hold
from watchfloor.models.tracks import Event
from watchfloor.rules.payloads import alert_payload

log = logging.getLogger(__name__)

FOOTAGE_KINDS = frozenset({"alert", "clip", "event"})
"""Timeline kinds placed at the footage's own time rather than a person's."""

REVIEW_FIELDS = ("root_cause", "what_worked", "what_did_not", "actions")
"""The post-incident review, in Markdown; set with :func:`update_fields`."""

EDITABLE_FIELDS = ("title", "description", "severity", "location", *REVIEW_FIELDS)
"""What :func:`update_fields` may change (status has :func:`move`)."""

SINGLE_ROLES = frozenset({Role.COMMANDER, Role.COMMUNICATIONS})
"""Roles held by one person at a time: assigning another replaces them."""

_TITLE_MAX = 200
_LOCATION_MAX = 200
_PERSON_MAX = 128
_SYSTEM_MAX = 64
_KEY_MAX = 200
_URL_MAX = 1000
_HOLD_REASON_MAX = 256
_CONTAINED = ORDER.index(IncidentStatus.CONTAINED)
_RECOVERED = ORDER.index(IncidentStatus.RECOVERED)
_ESCALATABLE = frozenset({AlertStatus.NEW.value, AlertStatus.ACKNOWLEDGED.value})


class IncidentError(Exception):
    """An incident operation was refused; the message says why and what would work."""


class IncidentNotFound(IncidentError):
    """The incident, or the alert, clip, event or role named, does not exist."""


class IncidentConflict(IncidentError):
    """Not allowed in the incident's current state (a move, a role, a closed
    incident, a duplicate link or reference)."""


class IncidentInvalid(IncidentError):
    """A value is not acceptable (an empty title, an unknown severity)."""


@dataclass(frozen=True)
class HoldPolicy:
    """How much footage a link holds, and for how long after the close.

    Attributes:
        pre_roll: Footage kept before an alert's start or an event's time.
        post_roll: Footage kept after an alert's end or an event's time.
        after_close: How long holds outlast the incident's close.
    """

    pre_roll: timedelta = timedelta(seconds=5)
    post_roll: timedelta = timedelta(seconds=10)
    after_close: timedelta = timedelta(days=30)

    @classmethod
    def from_site(cls, site: SiteConfig) -> HoldPolicy:
        """The site's ``alerts`` pre- and post-roll and ``incidents`` settings."""
        return cls(
            pre_roll=timedelta(seconds=site.alerts.pre_roll_s),
            post_roll=timedelta(seconds=site.alerts.post_roll_s),
            after_close=timedelta(days=site.incidents.hold_after_close_days),
        )


@dataclass(frozen=True)
class NewIncident:
    """What a new incident is made of.

    Attributes:
        title: A short title (1 to 200 characters).
        severity: ``low``, ``medium``, ``high`` or ``critical``.
        description: What is known (Markdown).
        location: The site or place it concerns.
        commander: Who commands it; default: the person creating it.
    """

    title: str
    severity: str
    description: str = ""
    location: str = ""
    commander: str | None = None


@dataclass
class Escalation:
    """An alert linked to an incident.

    Attributes:
        incident_id: The incident (new or existing).
        link_id: The link's id.
        created: Whether the incident was made by this escalation.
        alert_changed: Whether the alert's status became ``escalated`` (publish
            ``alert`` then).
        alert: The alert as the API shows it, after the change.
    """

    incident_id: int
    link_id: int
    created: bool
    alert_changed: bool
    alert: dict[str, Any] = field(default_factory=dict)


# --- incidents -------------------------------------------------------------------


def create_incident(
    session: Session,
    fields: NewIncident,
    actor: str,
    *,
    now: datetime | None = None,
) -> Incident:
    """Open an incident in triage with its commander (default: its creator).

    Raises:
        IncidentInvalid: An empty or too long title, an unknown severity, or a
            too long location or commander name.

    Example:
        >>> incident = create_incident(
        ...     session, NewIncident("Tailgating at gate", "high"), "ana"
        ... )  # doctest: +SKIP
    """
    actor = _actor(actor)
    now = _now(now)
    title = _text("title", fields.title, _TITLE_MAX)
    severity = _severity(fields.severity)
    location = _text("location", fields.location or "", _LOCATION_MAX, empty=True)
    commander = _person(fields.commander or actor, "commander")

    incident = Incident(
        title=title,
        description=fields.description or "",
        severity=severity,
        location=location,
        status=IncidentStatus.TRIAGE.value,
        created_by=actor,
        created_at=now,
    )
    session.add(incident)
    session.flush()
    session.add(
        IncidentRole(
            incident_id=incident.id,
            role=Role.COMMANDER.value,
            person=commander,
            assigned_by=actor,
            assigned_at=now,
        )
    )
    _entry(
        session,
        incident.id,
        now,
        "created",
        actor,
        f"incident opened by {actor} ({severity}): {title}; commander {commander}",
        {"severity": severity, "commander": commander, "location": location},
    )
    _entry(
        session,
        incident.id,
        now,
        "role",
        actor,
        f"{commander} assigned as commander",
        {"role": Role.COMMANDER.value, "person": commander, "change": "assigned"},
    )
    session.flush()
    audit.append(
        session,
        actor,
        "incident.create",
        _target(incident.id),
        None,
        {**_state(incident), "commander": commander},
        time=now,
    )
    log.info("incident %d opened by %s: %s (%s)", incident.id, actor, title, severity)
    return incident


def get_incident(session: Session, incident_id: int) -> Incident:
    """The incident with this id.

    Raises:
        IncidentNotFound: None has it.
    """
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise IncidentNotFound(_no_incident(incident_id))
    return incident


def move(
    session: Session,
    incident_id: int,
    to: str,
    actor: str,
    *,
    note: str | None = None,
    reason: str | None = None,
    policy: HoldPolicy | None = None,
    now: datetime | None = None,
) -> Move:
    """Move an incident to status ``to``, recording who, when, the note and reason.

    Closing sets the close time and starts the countdown of its holds
    (``policy.after_close``); reopening (closed to triage) clears both and, if
    the incident has no commander, makes ``actor`` its commander.

    Raises:
        IncidentNotFound: No such incident.
        IncidentConflict: The move is not allowed, or skips steps without a
            reason; the message lists the moves that are allowed.
        IncidentInvalid: ``to`` is not a status.
    """
    actor = _actor(actor)
    now = _now(now)
    policy = policy or HoldPolicy()
    incident = _lock(session, incident_id)
    current = incident.status
    try:
        step = check_move(current, to, reason)
    except MoveRefused as exc:
        raise IncidentConflict(f"incident {incident_id} {exc.phrase}") from exc
    except ValueError as exc:
        raise IncidentInvalid(str(exc)) from exc
    before = _state(incident)

    incident.status = step.to.value
    holds = _link_holds(session, incident_id)
    if step.to is IncidentStatus.CLOSED:
        incident.closed_at = now
        for hold in holds:
            hold.expires_at = now + policy.after_close
    elif step.reopen:
        incident.closed_at = None
        for hold in holds:
            hold.expires_at = None

    summary = f"moved from {current} to {step.to.value} by {actor}"
    if step.reopen:
        summary = f"reopened by {actor}"
    if step.skipped:
        passed = ", ".join(status.value for status in step.skipped)
        summary += f", skipping {passed}: {reason}"
    if note:
        summary += f"; note: {note}"
    _entry(
        session,
        incident_id,
        now,
        "status",
        actor,
        summary,
        {
            "from": current,
            "to": step.to.value,
            "skipped": [status.value for status in step.skipped],
            "reason": reason or None,
            "note": note or None,
            "reopen": step.reopen,
            "holds": [hold.id for hold in holds],
        },
    )
    if step.reopen and not _current(session, incident_id, Role.COMMANDER):
        _add_role(session, incident_id, Role.COMMANDER, actor, actor, now)
    session.flush()
    audit.append(
        session,
        actor,
        "incident.status",
        _target(incident_id),
        before,
        {**_state(incident), "reason": reason or None, "note": note or None},
        time=now,
    )
    log.info("incident %d %s", incident_id, summary)
    return step


# --- roles -----------------------------------------------------------------------


def assign_role(
    session: Session,
    incident_id: int,
    role: str,
    person: str,
    actor: str,
    *,
    now: datetime | None = None,
) -> IncidentRole:
    """Give ``person`` a role; a new commander or communications lead replaces the
    current one, and a responder joins the others.

    Raises:
        IncidentNotFound: No such incident.
        IncidentConflict: The person already holds that role.
        IncidentInvalid: An unknown role or an empty or too long name.
    """
    actor = _actor(actor)
    now = _now(now)
    kind = _role(role)
    person = _person(person, kind.value)
    _lock(session, incident_id)
    before = _roles_state(session, incident_id)
    holders = _current(session, incident_id, kind)
    if any(row.person == person for row in holders):
        raise IncidentConflict(
            f"{person} is already the {_role_name(kind)} of incident {incident_id}"
        )
    row = _add_role(session, incident_id, kind, person, actor, now)
    session.flush()
    audit.append(
        session,
        actor,
        "incident.role.assign",
        _target(incident_id),
        before,
        _roles_state(session, incident_id),
        time=now,
    )
    return row


def remove_role(
    session: Session,
    incident_id: int,
    role: str,
    person: str,
    actor: str,
    *,
    now: datetime | None = None,
) -> IncidentRole:
    """Take a role from ``person``.

    Raises:
        IncidentNotFound: No such incident, or the person does not hold the role.
        IncidentConflict: The person is the commander of an open incident,
            which must always have one: assign another commander instead.
        IncidentInvalid: An unknown role.
    """
    actor = _actor(actor)
    now = _now(now)
    kind = _role(role)
    incident = _lock(session, incident_id)
    holders = _current(session, incident_id, kind)
    row = next((r for r in holders if r.person == person), None)
    if row is None:
        names = ", ".join(r.person for r in holders) or "nobody"
        raise IncidentNotFound(
            f"{person} is not the {_role_name(kind)} of incident {incident_id} "
            f"(it is held by {names})"
        )
    if kind is Role.COMMANDER and is_open(incident.status):
        raise IncidentConflict(
            f"{person} is the only commander of incident {incident_id}, which is "
            f"{incident.status}; an open incident needs one: assign another "
            "commander (POST .../roles with role 'commander'), which replaces them"
        )
    before = _roles_state(session, incident_id)
    row.removed_at = now
    _entry(
        session,
        incident_id,
        now,
        "role",
        actor,
        f"{person} removed as {_role_name(kind)} by {actor}",
        {"role": kind.value, "person": person, "change": "removed"},
    )
    session.flush()
    audit.append(
        session,
        actor,
        "incident.role.remove",
        _target(incident_id),
        before,
        _roles_state(session, incident_id),
        time=now,
    )
    return row


# --- links -----------------------------------------------------------------------


def escalate_alert(
    session: Session,
    alert_id: int,
    actor: str,
    *,
    incident_id: int | None = None,
    new: NewIncident | None = None,
    note: str | None = None,
    policy: HoldPolicy | None = None,
    now: datetime | None = None,
) -> Escalation:
    """Escalate an alert into a new incident (``new``) or an existing one.

    Give exactly one of ``incident_id`` and ``new``. See :func:`attach_alert`
    for what linking does.

    Raises:
        IncidentNotFound: No such alert or incident.
        IncidentConflict: The incident is closed, or the alert is already
            linked to it.
        IncidentInvalid: Both or neither of ``incident_id`` and ``new``, or bad
            new incident fields.
    """
    if (incident_id is None) == (new is None):
        raise IncidentInvalid(
            "give either incident_id (an existing incident) or the fields of a "
            "new incident (title, severity, ...), not both and not neither"
        )
    now = _now(now)
    created = False
    if new is not None:
        # Lock the alert before the new incident's audit entry takes the log's
        # lock: every writer takes row locks first and the log's lock last.
        _alert(session, alert_id, lock=True)
        incident_id = create_incident(session, new, actor, now=now).id
        created = True
    assert incident_id is not None
    escalation = _link_alert(session, incident_id, alert_id, actor, note, policy, now)
    escalation.created = created
    return escalation


def attach_alert(
    session: Session,
    incident_id: int,
    alert_id: int,
    actor: str,
    *,
    note: str | None = None,
    policy: HoldPolicy | None = None,
    now: datetime | None = None,
) -> Escalation:
    """Link an alert to an incident.

    A new or acknowledged alert becomes ``escalated`` (publish the returned
    alert on the bus when ``alert_changed``); a resolved or dismissed one is
    linked as evidence and keeps its status. The alert's footage is held and
    the timeline gets "alert raised" at its start as well as the link.

    Raises:
        IncidentNotFound: No such incident or alert.
        IncidentConflict: The incident is closed, or the alert is already
            linked to it.
    """
    now = _now(now)
    return _link_alert(session, incident_id, alert_id, actor, note, policy, now)


def attach_clip(
    session: Session,
    incident_id: int,
    clip_id: int,
    actor: str,
    *,
    note: str | None = None,
    now: datetime | None = None,
) -> IncidentLink:
    """Link an existing clip to an incident and hold its footage.

    Raises:
        IncidentNotFound: No such incident or clip.
        IncidentConflict: The incident is closed, or the clip is already linked.
    """
    actor = _actor(actor)
    now = _now(now)
    incident = _lock(session, incident_id)
    _refuse_closed(incident, "clip")
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise IncidentNotFound(f"no clip with id {clip_id}")
    _refuse_duplicate(session, incident_id, LinkKind.CLIP, clip_id)
    hold = _hold(
        session, clip.camera, clip.start, clip.end, f"incident {incident_id}: clip"
    )
    link = _add_link(session, incident_id, LinkKind.CLIP, clip_id, actor, now, hold)
    _entry(
        session,
        incident_id,
        clip.start,
        "clip",
        None,
        f"clip {clip_id} of camera {clip.camera} from {_clock(clip.start)} to "
        f"{_clock(clip.end)}",
        {
            "clip_id": clip_id,
            "camera": clip.camera,
            "start": _iso(clip.start),
            "end": _iso(clip.end),
            "sha256": clip.sha256,
        },
    )
    _link_entry(session, link, f"clip {clip_id} attached by {actor}", note, now)
    session.flush()
    _audit_link(session, actor, link, note, now)
    return link


def cut_and_attach_clip(
    db: Database,
    media_dir: Path,
    incident_id: int,
    camera: str,
    start: datetime,
    end: datetime,
    actor: str,
    *,
    cameras: Iterable[str] | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> tuple[dict[str, Any], ClipResult]:
    """Cut a new clip of any camera and time range, then link it to an incident.

    The clip is cut outside any transaction (cutting takes seconds and writes
    its own row); the incident is checked before and locked again to link it.

    Args:
        db: The database.
        media_dir: The media directory the segments are in.
        incident_id: The incident.
        camera: The camera to cut from.
        start: Start of the footage, timezone-aware.
        end: End of the footage, after ``start``.
        actor: Who asks.
        cameras: The site's camera names; when given, another name is refused.
        note: Why the clip matters (timeline).
        now: The time of the action; default now.

    Returns:
        The link as :func:`link_record` gives it, and the cut clip.

    Raises:
        IncidentNotFound: No such incident.
        IncidentConflict: The incident is closed.
        IncidentInvalid: An unknown camera, or no clip can be cut for the range
            (the message names the nearest footage).
    """
    with db.session() as session:
        _refuse_closed(get_incident(session, incident_id), "clip")
    known = sorted(cameras) if cameras is not None else None
    if known is not None and camera not in known:
        raise IncidentInvalid(
            f"camera {camera!r} is not one of the site's cameras "
            f"({', '.join(known) or 'none'})"
        )
    try:
        result = cut_clip(db, media_dir, camera, start, end)
    except ClipError as exc:
        raise IncidentInvalid(
            f"cannot cut a clip for incident {incident_id}: {exc}"
        ) from exc
    with db.session() as session:
        link = attach_clip(session, incident_id, result.id, actor, note=note, now=now)
        record = link_record(session, link.id)
    return record, result


def attach_event(
    session: Session,
    incident_id: int,
    event_id: int,
    actor: str,
    *,
    note: str | None = None,
    policy: HoldPolicy | None = None,
    now: datetime | None = None,
) -> IncidentLink:
    """Link a track event to an incident and hold the footage around it.

    Raises:
        IncidentNotFound: No such incident or event.
        IncidentConflict: The incident is closed, or the event is already linked.
    """
    actor = _actor(actor)
    now = _now(now)
    policy = policy or HoldPolicy()
    incident = _lock(session, incident_id)
    _refuse_closed(incident, "event")
    event = session.get(Event, event_id)
    if event is None:
        raise IncidentNotFound(f"no event with id {event_id}")
    _refuse_duplicate(session, incident_id, LinkKind.EVENT, event_id)
    hold = _hold(
        session,
        event.camera,
        event.time - policy.pre_roll,
        event.time + policy.post_roll,
        f"incident {incident_id}: event {event_id}",
    )
    link = _add_link(session, incident_id, LinkKind.EVENT, event_id, actor, now, hold)
    _entry(
        session,
        incident_id,
        event.time,
        "event",
        None,
        f"event {event_id}: {event.label} {event.kind} on camera {event.camera} "
        f"(track {event.track_id})",
        {
            "event_id": event_id,
            "camera": event.camera,
            "kind": event.kind,
            "label": event.label,
            "track_id": event.track_id,
        },
    )
    _link_entry(session, link, f"event {event_id} attached by {actor}", note, now)
    session.flush()
    _audit_link(session, actor, link, note, now)
    return link


# --- notes, references, fields -----------------------------------------------------


def add_note(
    session: Session,
    incident_id: int,
    text: str,
    actor: str,
    *,
    now: datetime | None = None,
) -> IncidentNote:
    """Add a note (Markdown) to an incident, open or closed.

    Raises:
        IncidentNotFound: No such incident.
        IncidentInvalid: An empty note.
    """
    actor = _actor(actor)
    now = _now(now)
    if not text or not text.strip():
        raise IncidentInvalid("the note is empty; write what happened (Markdown)")
    _lock(session, incident_id)
    note = IncidentNote(
        incident_id=incident_id, text=text, author=actor, created_at=now
    )
    session.add(note)
    session.flush()
    first_line = text.strip().splitlines()[0]
    _entry(
        session,
        incident_id,
        now,
        "note",
        actor,
        f"note by {actor}: {_shorten(first_line)}",
        {"note_id": note.id, "text": text},
    )
    session.flush()
    audit.append(
        session,
        actor,
        "incident.note",
        _target(incident_id),
        None,
        {"note_id": note.id, "text": text},
        time=now,
    )
    return note


def add_reference(
    session: Session,
    incident_id: int,
    system: str,
    key: str,
    url: str | None,
    actor: str,
    *,
    now: datetime | None = None,
) -> ExternalReference:
    """Record another system's record of the incident, such as a ticket.

    Raises:
        IncidentNotFound: No such incident.
        IncidentConflict: The incident already has that system's key.
        IncidentInvalid: An empty or too long system, key or URL.
    """
    actor = _actor(actor)
    now = _now(now)
    system = _text("system", system, _SYSTEM_MAX)
    key = _text("key", key, _KEY_MAX)
    url = _text("url", url, _URL_MAX) if url else None
    _lock(session, incident_id)
    duplicate = session.scalar(
        select(ExternalReference.id).where(
            ExternalReference.incident_id == incident_id,
            ExternalReference.system == system,
            ExternalReference.key == key,
        )
    )
    if duplicate is not None:
        raise IncidentConflict(
            f"incident {incident_id} already has reference {system} {key!r}"
        )
    reference = ExternalReference(
        incident_id=incident_id,
        system=system,
        key=key,
        url=url,
        created_by=actor,
        created_at=now,
    )
    session.add(reference)
    session.flush()
    detail = {"reference_id": reference.id, "system": system, "key": key, "url": url}
    _entry(
        session,
        incident_id,
        now,
        "reference",
        actor,
        f"reference {system} {key} added by {actor}",
        detail,
    )
    session.flush()
    audit.append(
        session,
        actor,
        "incident.reference",
        _target(incident_id),
        None,
        detail,
        time=now,
    )
    return reference


def update_fields(
    session: Session,
    incident_id: int,
    changes: dict[str, str | None],
    actor: str,
    *,
    now: datetime | None = None,
) -> list[str]:
    """Change an incident's title, description, severity, location or review.

    Only the fields in ``changes`` are touched; a review field or the
    description or location may be cleared with None. Fields whose value does
    not change are left out of the timeline and the audit log.

    Returns:
        The names of the fields that changed, in :data:`EDITABLE_FIELDS` order.

    Raises:
        IncidentNotFound: No such incident.
        IncidentInvalid: An unknown field, an empty title, an unknown severity.
    """
    actor = _actor(actor)
    now = _now(now)
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise IncidentInvalid(
            f"cannot change {', '.join(unknown)}; the fields that can be changed "
            f"are {', '.join(EDITABLE_FIELDS)} (status moves with POST .../status)"
        )
    values: dict[str, str | None] = {}
    for name, value in changes.items():
        if name == "title":
            values[name] = _text("title", value, _TITLE_MAX)
        elif name == "severity":
            values[name] = _severity(value)
        elif name == "location":
            values[name] = _text("location", value or "", _LOCATION_MAX, empty=True)
        elif name == "description":
            values[name] = value or ""
        else:
            values[name] = value if value and value.strip() else None

    incident = _lock(session, incident_id)
    changed = [
        name
        for name in EDITABLE_FIELDS
        if name in values and getattr(incident, name) != values[name]
    ]
    if not changed:
        return []
    before = {name: getattr(incident, name) for name in changed}
    for name in changed:
        setattr(incident, name, values[name])
    after = {name: values[name] for name in changed}
    words = []
    for name in changed:
        if name in ("severity", "title", "location"):
            words.append(f"{name} ({before[name] or '-'} -> {after[name] or '-'})")
        else:
            words.append(name)
    _entry(
        session,
        incident_id,
        now,
        "update",
        actor,
        f"{', '.join(words)} changed by {actor}",
        {name: {"before": before[name], "after": after[name]} for name in changed},
    )
    session.flush()
    audit.append(
        session, actor, "incident.update", _target(incident_id), before, after, time=now
    )
    return changed


# --- reading ---------------------------------------------------------------------


def incident_record(session: Session, incident_id: int) -> dict[str, Any]:
    """Everything about an incident as JSON-ready data (times ISO 8601 UTC).

    Keys: ``id``, ``title``, ``description``, ``severity``, ``location``,
    ``status``, ``created_by``, ``created_at``, ``closed_at``, the review
    fields (``root_cause``, ``what_worked``, ``what_did_not``, ``actions``),
    ``commander`` (the current one, or None), ``roles`` (every assignment,
    past ones with ``removed_at``), ``links`` (see :func:`link_record`),
    ``notes`` and ``references``, each oldest first.

    Raises:
        IncidentNotFound: No such incident.
    """
    incident = get_incident(session, incident_id)
    roles = session.scalars(
        select(IncidentRole)
        .where(IncidentRole.incident_id == incident_id)
        .order_by(IncidentRole.assigned_at, IncidentRole.id)
    ).all()
    links = session.scalars(
        select(IncidentLink)
        .where(IncidentLink.incident_id == incident_id)
        .order_by(IncidentLink.linked_at, IncidentLink.id)
    ).all()
    notes = session.scalars(
        select(IncidentNote)
        .where(IncidentNote.incident_id == incident_id)
        .order_by(IncidentNote.created_at, IncidentNote.id)
    ).all()
    references = session.scalars(
        select(ExternalReference)
        .where(ExternalReference.incident_id == incident_id)
        .order_by(ExternalReference.created_at, ExternalReference.id)
    ).all()
    commander = next(
        (
            row.person
            for row in roles
            if row.role == Role.COMMANDER.value and row.removed_at is None
        ),
        None,
    )
    return {
        "id": incident.id,
        "title": incident.title,
        "description": incident.description,
        "severity": incident.severity,
        "location": incident.location,
        "status": incident.status,
        "created_by": incident.created_by,
        "created_at": _iso(incident.created_at),
        "closed_at": _iso(incident.closed_at),
        **{name: getattr(incident, name) for name in REVIEW_FIELDS},
        "commander": commander,
        "roles": [
            {
                "id": row.id,
                "role": row.role,
                "person": row.person,
                "assigned_by": row.assigned_by,
                "assigned_at": _iso(row.assigned_at),
                "removed_at": _iso(row.removed_at),
            }
            for row in roles
        ],
        "links": _link_records(session, list(links)),
        "notes": [
            {
                "id": note.id,
                "text": note.text,
                "author": note.author,
                "created_at": _iso(note.created_at),
            }
            for note in notes
        ],
        "references": [_reference_record(reference) for reference in references],
    }


def link_record(session: Session, link_id: int) -> dict[str, Any]:
    """One link as JSON-ready data, with what it links to.

    Keys: ``id``, ``kind`` (alert, clip or event), ``target_id``,
    ``linked_by``, ``linked_at``, ``hold`` (the hold keeping its footage, or
    None), ``alert`` (an alert link's alert, as the alerts API shows it),
    ``clip`` (a clip link's clip, or an alert link's own clip when it has one:
    ``id``, ``camera``, ``start``, ``end``, ``path`` as stored, ``bytes``,
    ``sha256``, ``duration_s``, ``missing``, ``created_at``), ``event`` (an
    event link's event) and ``target_missing`` (its row was deleted since).

    Raises:
        IncidentNotFound: No such link.
    """
    link = session.get(IncidentLink, link_id)
    if link is None:
        raise IncidentNotFound(f"no incident link with id {link_id}")
    return _link_records(session, [link])[0]


def reference_record(reference: ExternalReference) -> dict[str, Any]:
    """An external reference as JSON-ready data."""
    return _reference_record(reference)


def note_record(note: IncidentNote) -> dict[str, Any]:
    """A note as JSON-ready data."""
    return {
        "id": note.id,
        "text": note.text,
        "author": note.author,
        "created_at": _iso(note.created_at),
    }


def timeline(session: Session, incident_id: int) -> list[dict[str, Any]]:
    """The incident's timeline, ordered by time (then by when it was written).

    Each entry: ``id``, ``time`` (ISO 8601 UTC), ``kind`` (``created``,
    ``status``, ``role``, ``link``, ``note``, ``reference``, ``update``; and
    ``alert``, ``clip``, ``event`` for footage placed at its own time),
    ``footage`` (True for those three), ``actor`` (None for footage),
    ``summary`` (one line) and ``data`` (details).

    Raises:
        IncidentNotFound: No such incident.
    """
    get_incident(session, incident_id)
    rows = session.scalars(
        select(TimelineEntry)
        .where(TimelineEntry.incident_id == incident_id)
        .order_by(TimelineEntry.time, TimelineEntry.id)
    ).all()
    return [
        {
            "id": row.id,
            "time": _iso(row.time),
            "kind": row.kind,
            "footage": row.kind in FOOTAGE_KINDS,
            "actor": row.actor,
            "summary": row.summary,
            "data": json.loads(row.data or "{}"),
        }
        for row in rows
    ]


def find_incidents(
    session: Session,
    *,
    statuses: Sequence[str] = (),
    severities: Sequence[str] = (),
    reference: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: tuple[datetime, int] | None = None,
    limit: int = 50,
) -> tuple[list[Incident], int]:
    """Incidents matching every filter given, newest first, and how many match.

    Args:
        session: The session.
        statuses: Only in these statuses.
        severities: Only of these severities.
        reference: Only those with an external reference of this key.
        since: Only created at or after.
        until: Only created before.
        after: ``(created_at, id)`` of the last incident of the previous page.
        limit: Most incidents returned (``limit + 1`` are read to tell whether
            another page follows; the caller sees at most ``limit + 1``).

    Returns:
        Up to ``limit + 1`` incidents, and the count of all matches.
    """
    filters: list[Any] = []
    if statuses:
        filters.append(Incident.status.in_(list(statuses)))
    if severities:
        filters.append(Incident.severity.in_(list(severities)))
    if reference is not None:
        filters.append(
            Incident.id.in_(
                select(ExternalReference.incident_id).where(
                    ExternalReference.key == reference
                )
            )
        )
    if since is not None:
        filters.append(Incident.created_at >= since)
    if until is not None:
        filters.append(Incident.created_at < until)
    total = session.scalar(select(func.count()).select_from(Incident).where(*filters))
    query = select(Incident).where(*filters)
    if after is not None:
        query = query.where(
            or_(
                Incident.created_at < after[0],
                and_(Incident.created_at == after[0], Incident.id < after[1]),
            )
        )
    rows = session.scalars(
        query.order_by(Incident.created_at.desc(), Incident.id.desc()).limit(limit + 1)
    ).all()
    return list(rows), int(total or 0)


def summary_records(
    session: Session, incidents: Sequence[Incident]
) -> list[dict[str, Any]]:
    """Incidents as short JSON-ready records for lists, with their commanders."""
    ids = [incident.id for incident in incidents]
    commanders: dict[int, str] = {}
    if ids:
        for incident_id, person in session.execute(
            select(IncidentRole.incident_id, IncidentRole.person).where(
                IncidentRole.incident_id.in_(ids),
                IncidentRole.role == Role.COMMANDER.value,
                IncidentRole.removed_at.is_(None),
            )
        ):
            commanders[incident_id] = person
    return [
        {
            "id": incident.id,
            "title": incident.title,
            "severity": incident.severity,
            "location": incident.location,
            "status": incident.status,
            "created_by": incident.created_by,
            "created_at": _iso(incident.created_at),
            "closed_at": _iso(incident.closed_at),
            "commander": commanders.get(incident.id),
        }
        for incident in incidents
    ]


# --- metrics ---------------------------------------------------------------------


def incident_metrics(session: Session, incident_id: int) -> dict[str, Any]:
    """How fast one incident was handled (see the module docstring for the terms).

    Keys: ``incident_id``, ``severity``, ``status``, ``started_at`` and
    ``started_from`` (``alert``: the first linked alert's start; ``incident``:
    its creation, when it has no alerts), ``first_alert_id``,
    ``acknowledged_at`` / ``time_to_acknowledge_s``, ``contained_at`` /
    ``time_to_contain_s``, ``recovered_at`` / ``time_to_recover_s`` (None
    until it happens), ``alerts`` (how many are linked),
    ``alerts_by_camera``, ``links_by_kind`` and ``cameras`` (of all linked
    footage).

    Raises:
        IncidentNotFound: No such incident.
    """
    incident = get_incident(session, incident_id)
    return _metrics(session, [incident])[0]


def period_metrics(
    session: Session, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    """Metrics over the incidents created in ``[since, until)``.

    Keys: ``since``, ``until``, ``incidents`` (count), ``by_severity`` and
    ``by_status`` (counts, every value listed), ``by_camera`` (incidents with
    footage of each camera; one incident counts for each of its cameras),
    ``alerts`` (linked alerts in all), and for each of
    ``time_to_acknowledge``, ``time_to_contain`` and ``time_to_recover``:
    ``count`` (incidents that have it), ``mean_s``, ``median_s`` and
    ``max_s`` (None when count is 0).
    """
    query = select(Incident).order_by(Incident.created_at, Incident.id)
    if since is not None:
        query = query.where(Incident.created_at >= since)
    if until is not None:
        query = query.where(Incident.created_at < until)
    incidents = list(session.scalars(query))
    each = _metrics(session, incidents)
    by_camera: Counter[str] = Counter()
    for item in each:
        by_camera.update(item["cameras"])
    result: dict[str, Any] = {
        "since": _iso(since),
        "until": _iso(until),
        "incidents": len(incidents),
        "by_severity": {
            severity.value: sum(1 for i in incidents if i.severity == severity.value)
            for severity in Severity
        },
        "by_status": {
            status.value: sum(1 for i in incidents if i.status == status.value)
            for status in ORDER
        },
        "by_camera": dict(sorted(by_camera.items())),
        "alerts": sum(item["alerts"] for item in each),
    }
    for name in ("time_to_acknowledge", "time_to_contain", "time_to_recover"):
        values = [item[f"{name}_s"] for item in each if item[f"{name}_s"] is not None]
        result[name] = {
            "count": len(values),
            "mean_s": statistics.fmean(values) if values else None,
            "median_s": statistics.median(values) if values else None,
            "max_s": max(values) if values else None,
        }
    return result


def _metrics(session: Session, incidents: Sequence[Incident]) -> list[dict[str, Any]]:
    """Per-incident metrics, reading each kind of row once for all incidents."""
    ids = [incident.id for incident in incidents]
    links: dict[int, list[IncidentLink]] = defaultdict(list)
    moves: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for chunk in _chunks(ids):
        for link in session.scalars(
            select(IncidentLink).where(IncidentLink.incident_id.in_(chunk))
        ):
            links[link.incident_id].append(link)
        for incident_id, time, data in session.execute(
            select(TimelineEntry.incident_id, TimelineEntry.time, TimelineEntry.data)
            .where(TimelineEntry.incident_id.in_(chunk), TimelineEntry.kind == "status")
            .order_by(TimelineEntry.time, TimelineEntry.id)
        ):
            moves[incident_id].append((time, json.loads(data).get("to", "")))

    targets: dict[str, set[int]] = defaultdict(set)
    for rows in links.values():
        for link in rows:
            targets[link.kind].add(link.target_id)
    alerts = _by_id(session, Alert, targets[LinkKind.ALERT.value])
    clip_cameras = {
        row.id: row.camera for row in _by_id(session, Clip, targets["clip"]).values()
    }
    event_cameras = {
        row.id: row.camera for row in _by_id(session, Event, targets["event"]).values()
    }
    handled = _first_handling(session, alerts)

    out = []
    for incident in incidents:
        own = links.get(incident.id, [])
        alert_links = [
            (alerts[link.target_id], link.linked_at)
            for link in own
            if link.kind == LinkKind.ALERT.value and link.target_id in alerts
        ]
        cameras: set[str] = {alert.camera for alert, _ in alert_links}
        for link in own:
            if link.kind == LinkKind.CLIP.value and link.target_id in clip_cameras:
                cameras.add(clip_cameras[link.target_id])
            if link.kind == LinkKind.EVENT.value and link.target_id in event_cameras:
                cameras.add(event_cameras[link.target_id])

        first: Alert | None = None
        acknowledged: datetime | None = None
        if alert_links:
            first, linked_at = min(
                alert_links, key=lambda pair: (pair[0].start, pair[0].id)
            )
            candidates = [linked_at, *handled.get(first.id, [])]
            acknowledged = min(candidates)
        start = first.start if first is not None else incident.created_at
        contained = _first_move(moves.get(incident.id, []), _CONTAINED)
        recovered = _first_move(moves.get(incident.id, []), _RECOVERED)
        out.append(
            {
                "incident_id": incident.id,
                "severity": incident.severity,
                "status": incident.status,
                "started_at": _iso(start),
                "started_from": "alert" if first is not None else "incident",
                "first_alert_id": first.id if first is not None else None,
                "acknowledged_at": _iso(acknowledged),
                "time_to_acknowledge_s": _seconds(start, acknowledged),
                "contained_at": _iso(contained),
                "time_to_contain_s": _seconds(start, contained),
                "recovered_at": _iso(recovered),
                "time_to_recover_s": _seconds(start, recovered),
                "alerts": len(alert_links),
                "alerts_by_camera": dict(
                    sorted(Counter(alert.camera for alert, _ in alert_links).items())
                ),
                "links_by_kind": {
                    kind.value: sum(1 for link in own if link.kind == kind.value)
                    for kind in LinkKind
                },
                "cameras": sorted(cameras),
            }
        )
    return out


def _first_handling(
    session: Session, alerts: dict[int, Alert]
) -> dict[int, list[datetime]]:
    """When each alert was acknowledged or escalated, from the audit log.

    An escalation's entry keeps the alert's state before it: when that was
    ``acknowledged``, its ``status_at`` is the time of the acknowledgement,
    even of one the audit log did not record.
    """
    found: dict[int, list[datetime]] = defaultdict(list)
    targets = {f"alert:{alert_id}": alert_id for alert_id in alerts}
    for chunk in _chunks(list(targets)):
        for target, action, time, before in session.execute(
            select(
                AuditEntry.target, AuditEntry.action, AuditEntry.time, AuditEntry.before
            ).where(
                AuditEntry.target.in_(chunk),
                AuditEntry.action.in_(("alert.acknowledge", "alert.escalate")),
            )
        ):
            alert_id = targets[target]
            found[alert_id].append(time)
            if action == "alert.escalate":
                acknowledged = _acknowledged_before(before)
                if acknowledged is not None:
                    found[alert_id].append(acknowledged)
    return found


def _acknowledged_before(before: str | None) -> datetime | None:
    """The acknowledgement time kept in an escalation's state before, if any."""
    try:
        state = json.loads(before or "null")
        if not isinstance(state, dict) or state.get("status") != "acknowledged":
            return None
        return _aware(datetime.fromisoformat(str(state["status_at"])))
    except (ValueError, KeyError, IncidentInvalid):
        return None


def _first_move(moves: list[tuple[datetime, str]], index: int) -> datetime | None:
    for time, to in moves:
        if to in _STEP_INDEX and _STEP_INDEX[to] >= index:
            return time
    return None


_STEP_INDEX = {status.value: i for i, status in enumerate(ORDER)}


# --- internals -------------------------------------------------------------------


def _link_alert(
    session: Session,
    incident_id: int,
    alert_id: int,
    actor: str,
    note: str | None,
    policy: HoldPolicy | None,
    now: datetime,
) -> Escalation:
    """Link an alert; locks the incident, then the alert."""
    actor = _actor(actor)
    policy = policy or HoldPolicy()
    incident = _lock(session, incident_id)
    alert = _alert(session, alert_id, lock=True)
    _refuse_closed(incident, "alert")
    _refuse_duplicate(session, incident_id, LinkKind.ALERT, alert.id)

    end = alert.end if alert.end is not None else max(now, alert.start)
    hold = _hold(
        session,
        alert.camera,
        alert.start - policy.pre_roll,
        end + policy.post_roll,
        f"incident {incident_id}: alert {alert.id}",
    )
    link = _add_link(session, incident_id, LinkKind.ALERT, alert.id, actor, now, hold)
    where = f"rule {alert.rule}"
    if alert.zone:
        where += f", zone {alert.zone}"
    if alert.line:
        where += f", line {alert.line}"
    summary = (
        f"alert {alert.id} raised on camera {alert.camera}: {alert.label} ({where})"
    )
    if alert.end is not None:
        summary += f", until {_clock(alert.end)}"
    _entry(
        session,
        incident_id,
        alert.start,
        "alert",
        None,
        summary,
        {
            "alert_id": alert.id,
            "camera": alert.camera,
            "rule": alert.rule,
            "zone": alert.zone,
            "line": alert.line,
            "label": alert.label,
            "score": alert.score,
            "start": _iso(alert.start),
            "end": _iso(alert.end),
        },
    )

    before = _alert_state(alert)
    changed = alert.status in _ESCALATABLE
    if changed:
        alert.status = AlertStatus.ESCALATED.value
        alert.status_by = actor
        alert.status_at = now
        alert.status_note = note or f"escalated into incident {incident_id}"
        verb = "escalated into the incident"
    else:
        verb = f"attached (it stays {alert.status})"
    _link_entry(session, link, f"alert {alert.id} {verb} by {actor}", note, now)
    session.flush()
    _audit_link(session, actor, link, note, now)
    if changed:
        audit.append(
            session,
            actor,
            "alert.escalate",
            f"alert:{alert.id}",
            before,
            {**_alert_state(alert), "incident_id": incident_id},
            time=now,
        )
        log.info(
            "alert %d escalated into incident %d by %s", alert.id, incident_id, actor
        )
    return Escalation(
        incident_id=incident_id,
        link_id=link.id,
        created=False,
        alert_changed=changed,
        alert=alert_payload(alert),
    )


def _lock(session: Session, incident_id: int) -> Incident:
    """The incident, locked for this transaction and read afresh.

    Raises:
        IncidentNotFound: No such incident.
    """
    result = session.execute(
        update(Incident)
        .where(Incident.id == incident_id)
        .values(status=Incident.status)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) == 0:
        raise IncidentNotFound(_no_incident(incident_id))
    return session.scalars(
        select(Incident)
        .where(Incident.id == incident_id)
        .execution_options(populate_existing=True)
    ).one()


def _alert(session: Session, alert_id: int, lock: bool = False) -> Alert:
    query = select(Alert).where(Alert.id == alert_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    alert = session.scalars(query).one_or_none()
    if alert is None:
        raise IncidentNotFound(f"no alert with id {alert_id}")
    return alert


def _refuse_closed(incident: Incident, what: str) -> None:
    if not is_open(incident.status):
        raise IncidentConflict(
            f"incident {incident.id} is closed; reopen it (POST "
            f"/api/incidents/{incident.id}/status with to 'triage') before "
            f"linking another {what}"
        )


def _refuse_duplicate(
    session: Session, incident_id: int, kind: LinkKind, target_id: int
) -> None:
    existing = session.scalar(
        select(IncidentLink.id).where(
            IncidentLink.incident_id == incident_id,
            IncidentLink.kind == kind.value,
            IncidentLink.target_id == target_id,
        )
    )
    if existing is not None:
        raise IncidentConflict(
            f"{kind.value} {target_id} is already linked to incident {incident_id}"
        )


def _hold(
    session: Session, camera: str, start: datetime, end: datetime, reason: str
) -> Hold:
    """A hold without expiry (the incident is open) over the footage."""
    if end <= start:
        end = start + timedelta(seconds=1)
    hold = Hold(
        camera=camera,
        start=start,
        end=end,
        reason=reason[:_HOLD_REASON_MAX],
        expires_at=None,
    )
    session.add(hold)
    session.flush()
    log.info(
        "camera %s: hold %d placed on %s to %s (%s)",
        camera,
        hold.id,
        start.isoformat(),
        end.isoformat(),
        reason,
    )
    return hold


def _link_holds(session: Session, incident_id: int) -> list[Hold]:
    return list(
        session.scalars(
            select(Hold)
            .join(IncidentLink, IncidentLink.hold_id == Hold.id)
            .where(IncidentLink.incident_id == incident_id)
            .order_by(Hold.id)
        )
    )


def _add_link(
    session: Session,
    incident_id: int,
    kind: LinkKind,
    target_id: int,
    actor: str,
    now: datetime,
    hold: Hold,
) -> IncidentLink:
    link = IncidentLink(
        incident_id=incident_id,
        kind=kind.value,
        target_id=target_id,
        linked_by=actor,
        linked_at=now,
        hold_id=hold.id,
    )
    session.add(link)
    session.flush()
    return link


def _link_entry(
    session: Session, link: IncidentLink, summary: str, note: str | None, now: datetime
) -> None:
    if note:
        summary += f": {note}"
    _entry(
        session,
        link.incident_id,
        now,
        "link",
        link.linked_by,
        summary,
        {
            "link_id": link.id,
            "kind": link.kind,
            "target_id": link.target_id,
            "hold_id": link.hold_id,
            "note": note or None,
        },
    )


def _audit_link(
    session: Session, actor: str, link: IncidentLink, note: str | None, now: datetime
) -> None:
    audit.append(
        session,
        actor,
        f"incident.link.{link.kind}",
        _target(link.incident_id),
        None,
        {
            "link_id": link.id,
            "kind": link.kind,
            "target_id": link.target_id,
            "hold_id": link.hold_id,
            "note": note or None,
        },
        time=now,
    )


def _add_role(
    session: Session,
    incident_id: int,
    kind: Role,
    person: str,
    actor: str,
    now: datetime,
) -> IncidentRole:
    replaced = _current(session, incident_id, kind) if kind in SINGLE_ROLES else []
    for row in replaced:
        row.removed_at = now
    role = IncidentRole(
        incident_id=incident_id,
        role=kind.value,
        person=person,
        assigned_by=actor,
        assigned_at=now,
    )
    session.add(role)
    name = _role_name(kind)
    if replaced:
        others = ", ".join(row.person for row in replaced)
        summary = f"{person} replaces {others} as {name} (by {actor})"
        change = "replaced"
    else:
        summary = f"{person} assigned as {name} by {actor}"
        change = "assigned"
    _entry(
        session,
        incident_id,
        now,
        "role",
        actor,
        summary,
        {
            "role": kind.value,
            "person": person,
            "change": change,
            "replaced": [row.person for row in replaced],
        },
    )
    session.flush()
    return role


def _current(session: Session, incident_id: int, kind: Role) -> list[IncidentRole]:
    return list(
        session.scalars(
            select(IncidentRole)
            .where(
                IncidentRole.incident_id == incident_id,
                IncidentRole.role == kind.value,
                IncidentRole.removed_at.is_(None),
            )
            .order_by(IncidentRole.id)
        )
    )


def _roles_state(session: Session, incident_id: int) -> dict[str, list[str]]:
    state: dict[str, list[str]] = {kind.value: [] for kind in Role}
    for kind in Role:
        state[kind.value] = [row.person for row in _current(session, incident_id, kind)]
    return state


def _entry(
    session: Session,
    incident_id: int,
    time: datetime,
    kind: str,
    actor: str | None,
    summary: str,
    data: dict[str, Any],
) -> None:
    session.add(
        TimelineEntry(
            incident_id=incident_id,
            time=time,
            kind=kind,
            actor=actor,
            summary=summary,
            data=audit.canonical_json(data) or "{}",
        )
    )


def _link_records(session: Session, links: list[IncidentLink]) -> list[dict[str, Any]]:
    ids: dict[str, set[int]] = defaultdict(set)
    for link in links:
        ids[link.kind].add(link.target_id)
    alerts = _by_id(session, Alert, ids[LinkKind.ALERT.value])
    clip_ids = ids[LinkKind.CLIP.value] | {
        alert.clip_id for alert in alerts.values() if alert.clip_id is not None
    }
    clips = _by_id(session, Clip, clip_ids)
    events = _by_id(session, Event, ids[LinkKind.EVENT.value])
    holds = _by_id(
        session, Hold, {link.hold_id for link in links if link.hold_id is not None}
    )
    records = []
    for link in links:
        alert = alerts.get(link.target_id) if link.kind == "alert" else None
        clip = None
        if link.kind == "clip":
            clip = clips.get(link.target_id)
        elif alert is not None and alert.clip_id is not None:
            clip = clips.get(alert.clip_id)
        event = events.get(link.target_id) if link.kind == "event" else None
        hold = holds.get(link.hold_id) if link.hold_id is not None else None
        missing = {"alert": alert, "clip": clip, "event": event}.get(link.kind) is None
        records.append(
            {
                "id": link.id,
                "kind": link.kind,
                "target_id": link.target_id,
                "linked_by": link.linked_by,
                "linked_at": _iso(link.linked_at),
                "hold": _hold_record(hold) if hold is not None else None,
                "alert": alert_payload(alert) if alert is not None else None,
                "clip": _clip_record(clip) if clip is not None else None,
                "event": _event_record(event) if event is not None else None,
                "target_missing": missing,
            }
        )
    return records


def _hold_record(hold: Hold) -> dict[str, Any]:
    return {
        "id": hold.id,
        "camera": hold.camera,
        "start": _iso(hold.start),
        "end": _iso(hold.end),
        "reason": hold.reason,
        "expires_at": _iso(hold.expires_at),
    }


def _clip_record(clip: Clip) -> dict[str, Any]:
    return {
        "id": clip.id,
        "camera": clip.camera,
        "start": _iso(clip.start),
        "end": _iso(clip.end),
        "path": clip.path,
        "bytes": clip.bytes,
        "sha256": clip.sha256,
        "duration_s": clip.duration_s,
        "missing": clip.missing,
        "created_at": _iso(clip.created_at),
    }


def _event_record(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "track_id": event.track_id,
        "camera": event.camera,
        "kind": event.kind,
        "time": _iso(event.time),
        "label": event.label,
        "score": event.score,
        "box": [event.x1, event.y1, event.x2, event.y2],
        "snapshot": event.snapshot,
    }


def _reference_record(reference: ExternalReference) -> dict[str, Any]:
    return {
        "id": reference.id,
        "system": reference.system,
        "key": reference.key,
        "url": reference.url,
        "created_by": reference.created_by,
        "created_at": _iso(reference.created_at),
    }


def _by_id(session: Session, model: Any, ids: Iterable[int]) -> dict[int, Any]:
    found: dict[int, Any] = {}
    for chunk in _chunks(sorted(ids)):
        for row in session.scalars(select(model).where(model.id.in_(chunk))):
            found[row.id] = row
    return found


def _chunks(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _state(incident: Incident) -> dict[str, Any]:
    return {
        "title": incident.title,
        "description": incident.description,
        "severity": incident.severity,
        "location": incident.location,
        "status": incident.status,
        "closed_at": _iso(incident.closed_at),
    }


def _alert_state(alert: Alert) -> dict[str, Any]:
    return {
        "status": alert.status,
        "status_by": alert.status_by,
        "status_at": _iso(alert.status_at),
        "status_note": alert.status_note,
    }


def _target(incident_id: int) -> str:
    return f"incident:{incident_id}"


def _no_incident(incident_id: int) -> str:
    return f"no incident with id {incident_id}"


def _actor(actor: str | None) -> str:
    name = (actor or "").strip() or audit.DEFAULT_ACTOR
    if len(name) > _PERSON_MAX:
        raise IncidentInvalid(
            f"the actor name has {len(name)} characters; give at most {_PERSON_MAX}"
        )
    return name


def _person(name: str | None, what: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > _PERSON_MAX:
        raise IncidentInvalid(
            f"the {what}'s name has {len(name)} characters; give 1 to {_PERSON_MAX}"
        )
    return name


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        names = ", ".join(kind.value for kind in Role)
        raise IncidentInvalid(f"{value!r} is not a role; use one of {names}") from None


def _role_name(kind: Role) -> str:
    return {
        Role.COMMANDER: "commander",
        Role.RESPONDER: "responder",
        Role.COMMUNICATIONS: "communications lead",
    }[kind]


def _severity(value: str | None) -> str:
    try:
        return Severity(value or "").value
    except ValueError:
        names = ", ".join(severity.value for severity in Severity)
        raise IncidentInvalid(
            f"{value!r} is not a severity; use one of {names}"
        ) from None


def _text(what: str, value: str | None, most: int, empty: bool = False) -> str:
    value = (value or "").strip()
    if (not value and not empty) or len(value) > most:
        least = 0 if empty else 1
        raise IncidentInvalid(
            f"the {what} has {len(value)} characters; give {least} to {most}"
        )
    return value


def _shorten(text: str, most: int = 120) -> str:
    return text if len(text) <= most else text[: most - 3] + "..."


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return _aware(now)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise IncidentInvalid(
            f"time {value.isoformat()} has no time zone; give a timezone-aware time"
        )
    return value.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return _aware(value).isoformat()


def _clock(value: datetime) -> str:
    return _aware(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(start: datetime, end: datetime | None) -> float | None:
    if end is None:
        return None
    return (end - start).total_seconds()
