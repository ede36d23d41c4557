"""``/api/incidents``: open incidents, move them, staff them, link evidence, measure.

Every change names who made it: the body's ``by``, else the
``X-Watchfloor-Actor`` header, else ``local``. Each change adds to the
incident's timeline and writes an audit entry in the same transaction.
Refusals answer 404 (no such incident, alert, clip, event or role holder),
409 (not allowed in the incident's state; the message says what is) or 422
(a bad value).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from watchfloor.api.cursors import decode_cursor, encode_cursor
from watchfloor.api.deps import ApiContext, Context
from watchfloor.api.errors import responses
from watchfloor.api.incident_schemas import (
    AlertLinkIn,
    ClipLinkIn,
    EscalateIn,
    EscalationOut,
    EventLinkIn,
    IncidentIn,
    IncidentMetricsOut,
    IncidentOut,
    IncidentPage,
    IncidentPatch,
    IncidentSummaryOut,
    LinkOut,
    NoteIn,
    NoteOut,
    PeriodMetricsOut,
    ReferenceIn,
    ReferenceOut,
    RoleIn,
    RoleName,
    Severity,
    Status,
    StatusIn,
    TimelineEntryOut,
)
from watchfloor.api.routers.alerts import QueryTime
from watchfloor.api.schemas import AlertOut
from watchfloor.incidents import audit, service
from watchfloor.incidents.service import (
    Escalation,
    HoldPolicy,
    IncidentConflict,
    IncidentError,
    IncidentInvalid,
    IncidentNotFound,
    NewIncident,
)
from watchfloor.models import Alert

log = logging.getLogger(__name__)

ACTOR_HEADER = "X-Watchfloor-Actor"


class _IncidentRoute(APIRoute):
    """Answers the service's refusals as ``{"detail": ...}`` with 404, 409 or 422."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except IncidentError as exc:
                return JSONResponse({"detail": str(exc)}, status_code=_status(exc))
            except audit.AuditError as exc:
                log.error("%s %s: %s", request.method, request.url.path, exc)
                return JSONResponse({"detail": str(exc)}, status_code=503)

        return route


def _status(exc: IncidentError) -> int:
    if isinstance(exc, IncidentNotFound):
        return 404
    if isinstance(exc, IncidentConflict):
        return 409
    if isinstance(exc, IncidentInvalid):
        return 422
    return 400


router = APIRouter(
    tags=["incidents"], responses=responses(422), route_class=_IncidentRoute
)

ActorHeader = Annotated[
    str | None,
    Header(
        alias=ACTOR_HEADER,
        description="Who acts, when the body names nobody (default 'local').",
    ),
]


def actor_of(by: str | None, header: str | None) -> str:
    """Who acts: the body's ``by``, else the header, else ``local``."""
    for name in (by, header):
        if name is not None and name.strip():
            return name.strip()
    return audit.DEFAULT_ACTOR


# --- incidents -------------------------------------------------------------------


@router.post("/api/incidents", response_model=IncidentOut, status_code=201)
def create_incident(
    context: Context, body: IncidentIn, actor: ActorHeader = None
) -> IncidentOut:
    """Open an incident in triage. Its commander defaults to who creates it."""
    fields = NewIncident(
        title=body.title,
        severity=body.severity,
        description=body.description,
        location=body.location,
        commander=body.commander,
    )
    with context.db.session() as session:
        incident = service.create_incident(session, fields, actor_of(body.by, actor))
        return _incident(session, incident.id)


@router.get("/api/incidents", response_model=IncidentPage)
def list_incidents(
    request: Request,
    context: Context,
    status: Annotated[
        list[Status] | None, Query(description="Only in these statuses; repeatable.")
    ] = None,
    severity: Annotated[
        list[Severity] | None,
        Query(description="Only of these severities; repeatable."),
    ] = None,
    reference: Annotated[
        str | None,
        Query(description="Only those with an external reference of this key."),
    ] = None,
    since: Annotated[
        QueryTime | None, Query(description="Created at or after (ISO 8601).")
    ] = None,
    until: Annotated[
        QueryTime | None, Query(description="Created before (ISO 8601).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Incidents per page.")] = 50,
    cursor: Annotated[
        str | None, Query(description="From a previous page's next_cursor.")
    ] = None,
) -> IncidentPage:
    """Incidents, newest first, a page at a time; filters combine with AND."""
    _check_period(since, until)
    after = decode_cursor(cursor, "the newest incident") if cursor is not None else None
    with context.db.session() as session:
        rows, total = service.find_incidents(
            session,
            statuses=status or (),
            severities=severity or (),
            reference=reference,
            since=since,
            until=until,
            after=after,
            limit=limit,
        )
        items = service.summary_records(session, rows[:limit])
    next_cursor = next_link = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last.created_at, last.id)
        url = request.url.include_query_params(cursor=next_cursor)
        next_link = f"{url.path}?{url.query}"
    return IncidentPage(
        items=[IncidentSummaryOut.model_validate(item) for item in items],
        total=total,
        next=next_link,
        next_cursor=next_cursor,
    )


@router.get("/api/incidents/metrics", response_model=PeriodMetricsOut)
def period_metrics(
    context: Context,
    since: Annotated[
        QueryTime | None, Query(description="Incidents created at or after.")
    ] = None,
    until: Annotated[
        QueryTime | None, Query(description="Incidents created before.")
    ] = None,
) -> PeriodMetricsOut:
    """Counts by severity, status and camera, and the times to acknowledge,
    contain and recover, over the incidents created in ``[since, until)``."""
    _check_period(since, until)
    with context.db.session() as session:
        data = service.period_metrics(session, since, until)
    return PeriodMetricsOut.model_validate(data)


@router.get(
    "/api/incidents/{incident_id}",
    response_model=IncidentOut,
    responses=responses(404),
)
def get_incident(context: Context, incident_id: int) -> IncidentOut:
    """One incident with its roles, links, notes, references and review."""
    with context.db.session() as session:
        return _incident(session, incident_id)


@router.patch(
    "/api/incidents/{incident_id}",
    response_model=IncidentOut,
    responses=responses(404),
)
def update_incident(
    context: Context, incident_id: int, body: IncidentPatch, actor: ActorHeader = None
) -> IncidentOut:
    """Change the title, description, severity, location or the review fields
    (root_cause, what_worked, what_did_not, actions). Fields left out stay."""
    changes = body.model_dump(include=set(service.EDITABLE_FIELDS), exclude_unset=True)
    with context.db.session() as session:
        service.update_fields(session, incident_id, changes, actor_of(body.by, actor))
        return _incident(session, incident_id)


@router.post(
    "/api/incidents/{incident_id}/status",
    response_model=IncidentOut,
    responses=responses(404, 409),
)
def move_incident(
    context: Context, incident_id: int, body: StatusIn, actor: ActorHeader = None
) -> IncidentOut:
    """Move to the next status (triage, contained, eradicated, recovered, closed),
    or reopen a closed incident (to triage). Skipping steps needs a reason; 409
    lists the moves allowed. Closing starts the countdown of its footage holds
    (``incidents.hold_after_close_days``); reopening stops it."""
    with context.db.session() as session:
        service.move(
            session,
            incident_id,
            body.to,
            actor_of(body.by, actor),
            note=body.note,
            reason=body.reason,
            policy=HoldPolicy.from_site(context.site),
        )
        return _incident(session, incident_id)


# --- roles -----------------------------------------------------------------------


@router.post(
    "/api/incidents/{incident_id}/roles",
    response_model=IncidentOut,
    responses=responses(404, 409),
)
def assign_role(
    context: Context, incident_id: int, body: RoleIn, actor: ActorHeader = None
) -> IncidentOut:
    """Give a person a role. A new commander or communications lead replaces the
    current one; responders add up."""
    with context.db.session() as session:
        service.assign_role(
            session, incident_id, body.role, body.person, actor_of(body.by, actor)
        )
        return _incident(session, incident_id)


@router.delete(
    "/api/incidents/{incident_id}/roles/{role}/{person}",
    response_model=IncidentOut,
    responses=responses(404, 409),
)
def remove_role(
    context: Context,
    incident_id: int,
    role: RoleName,
    person: str,
    by: Annotated[
        str | None, Query(max_length=128, description="Who removes it.")
    ] = None,
    actor: ActorHeader = None,
) -> IncidentOut:
    """Take a role from a person. The commander of an open incident cannot be
    removed (409): assign another, which replaces them."""
    with context.db.session() as session:
        service.remove_role(session, incident_id, role, person, actor_of(by, actor))
        return _incident(session, incident_id)


# --- links -----------------------------------------------------------------------


@router.post(
    "/api/alerts/{alert_id}/escalate",
    response_model=EscalationOut,
    responses=responses(404, 409),
    tags=["alerts"],
)
def escalate_alert(
    context: Context, alert_id: int, body: EscalateIn, actor: ActorHeader = None
) -> EscalationOut:
    """Escalate an alert into an existing incident (``incident_id``) or a new one
    (``severity`` and optionally ``title``, ``description``, ``location``,
    ``commander``). A new or acknowledged alert becomes ``escalated`` (pushed
    like other alert changes); its footage is held while the incident is open."""
    who = actor_of(body.by, actor)
    with context.db.session() as session:
        new = None
        if body.incident_id is None:
            assert body.severity is not None
            new = NewIncident(
                title=body.title or _default_title(session, alert_id),
                severity=body.severity,
                description=body.description or "",
                location=body.location or "",
                commander=body.commander,
            )
        escalation = service.escalate_alert(
            session,
            alert_id,
            who,
            incident_id=body.incident_id,
            new=new,
            note=body.note,
            policy=HoldPolicy.from_site(context.site),
        )
        incident = _incident(session, escalation.incident_id)
    _publish(context, escalation)
    return EscalationOut(
        incident=incident,
        alert=AlertOut.model_validate(escalation.alert),
        created=escalation.created,
        link_id=escalation.link_id,
    )


@router.post(
    "/api/incidents/{incident_id}/alerts",
    response_model=LinkOut,
    status_code=201,
    responses=responses(404, 409),
)
def link_alert(
    context: Context, incident_id: int, body: AlertLinkIn, actor: ActorHeader = None
) -> LinkOut:
    """Link an alert. A new or acknowledged alert becomes ``escalated``; a
    resolved or dismissed one is linked as evidence and keeps its status."""
    with context.db.session() as session:
        escalation = service.attach_alert(
            session,
            incident_id,
            body.alert_id,
            actor_of(body.by, actor),
            note=body.note,
            policy=HoldPolicy.from_site(context.site),
        )
        link = service.link_record(session, escalation.link_id)
    _publish(context, escalation)
    return LinkOut.model_validate(link)


@router.post(
    "/api/incidents/{incident_id}/clips",
    response_model=LinkOut,
    status_code=201,
    responses=responses(404, 409),
)
def link_clip(
    context: Context, incident_id: int, body: ClipLinkIn, actor: ActorHeader = None
) -> LinkOut:
    """Link an existing clip (``clip_id``), or cut a new one of any camera and
    time range (``camera``, ``start``, ``end``) and link it. 422 when there is
    no footage to cut; the message names the nearest footage."""
    who = actor_of(body.by, actor)
    if body.clip_id is not None:
        with context.db.session() as session:
            link = service.attach_clip(
                session, incident_id, body.clip_id, who, note=body.note
            )
            return LinkOut.model_validate(service.link_record(session, link.id))
    assert body.camera is not None and body.start is not None and body.end is not None
    record, _clip = service.cut_and_attach_clip(
        context.db,
        context.media_dir,
        incident_id,
        body.camera,
        body.start,
        body.end,
        who,
        cameras=[camera.name for camera in context.site.cameras],
        note=body.note,
    )
    return LinkOut.model_validate(record)


@router.post(
    "/api/incidents/{incident_id}/events",
    response_model=LinkOut,
    status_code=201,
    responses=responses(404, 409),
)
def link_event(
    context: Context, incident_id: int, body: EventLinkIn, actor: ActorHeader = None
) -> LinkOut:
    """Link a track event; the footage around it is held."""
    with context.db.session() as session:
        link = service.attach_event(
            session,
            incident_id,
            body.event_id,
            actor_of(body.by, actor),
            note=body.note,
            policy=HoldPolicy.from_site(context.site),
        )
        return LinkOut.model_validate(service.link_record(session, link.id))


@router.post(
    "/api/incidents/{incident_id}/notes",
    response_model=NoteOut,
    status_code=201,
    responses=responses(404),
)
def add_note(
    context: Context, incident_id: int, body: NoteIn, actor: ActorHeader = None
) -> NoteOut:
    """Add a note (Markdown), to an open or closed incident."""
    with context.db.session() as session:
        note = service.add_note(
            session, incident_id, body.text, actor_of(body.by, actor)
        )
        return NoteOut.model_validate(service.note_record(note))


@router.post(
    "/api/incidents/{incident_id}/references",
    response_model=ReferenceOut,
    status_code=201,
    responses=responses(404, 409),
)
def add_reference(
    context: Context, incident_id: int, body: ReferenceIn, actor: ActorHeader = None
) -> ReferenceOut:
    """Record another system's key for the incident (such as a ticket); find
    incidents by it with ``GET /api/incidents?reference=KEY``."""
    with context.db.session() as session:
        reference = service.add_reference(
            session,
            incident_id,
            body.system,
            body.key,
            body.url,
            actor_of(body.by, actor),
        )
        return ReferenceOut.model_validate(service.reference_record(reference))


# --- reading ---------------------------------------------------------------------


@router.get(
    "/api/incidents/{incident_id}/timeline",
    response_model=list[TimelineEntryOut],
    responses=responses(404),
)
def get_timeline(context: Context, incident_id: int) -> list[TimelineEntryOut]:
    """Everything that happened, by time: people's actions at the time they were
    taken, and linked alerts, clips and events at their footage's own time."""
    with context.db.session() as session:
        entries = service.timeline(session, incident_id)
    return [TimelineEntryOut.model_validate(entry) for entry in entries]


@router.get(
    "/api/incidents/{incident_id}/metrics",
    response_model=IncidentMetricsOut,
    responses=responses(404),
)
def get_metrics(context: Context, incident_id: int) -> IncidentMetricsOut:
    """Times to acknowledge, contain and recover, from the first linked alert's
    start, and counts of its links by kind and camera."""
    with context.db.session() as session:
        data = service.incident_metrics(session, incident_id)
    return IncidentMetricsOut.model_validate(data)


# --- internals -------------------------------------------------------------------


def _incident(session: Session, incident_id: int) -> IncidentOut:
    return IncidentOut.model_validate(service.incident_record(session, incident_id))


def _default_title(session: Session, alert_id: int) -> str:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise IncidentNotFound(f"no alert with id {alert_id}")
    return f"{alert.label} on camera {alert.camera} (rule {alert.rule})"[:200]


def _publish(context: ApiContext, escalation: Escalation) -> None:
    if escalation.alert_changed:
        context.bus.publish("alert", {**escalation.alert, "change": "updated"})


def _check_period(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since >= until:
        raise HTTPException(
            422,
            f"query parameter 'since' ({since.isoformat()}) is not before "
            f"'until' ({until.isoformat()}); give since < until",
        )
