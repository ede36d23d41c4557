"""``/api/alerts``: search alerts, fetch their snapshot and clip, handle them."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import AwareDatetime, BeforeValidator
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from watchfloor.api.cursors import decode_cursor, encode_cursor
from watchfloor.api.deps import ApiContext, Context
from watchfloor.api.errors import responses
from watchfloor.api.media import MediaPathError, file_response, resolve_media
from watchfloor.api.schemas import (
    AcknowledgeIn,
    AlertOut,
    AlertPage,
    DismissIn,
    ResolveIn,
)
from watchfloor.incidents import audit
from watchfloor.models import Alert, AlertStatus, Clip, ClipState, Track
from watchfloor.rules.payloads import alert_payload

log = logging.getLogger(__name__)

router = APIRouter(tags=["alerts"], responses=responses(422))

# Where an alert may go from each status; escalation belongs to incidents.
MOVES: dict[AlertStatus, tuple[AlertStatus, ...]] = {
    AlertStatus.NEW: (
        AlertStatus.ACKNOWLEDGED,
        AlertStatus.RESOLVED,
        AlertStatus.DISMISSED,
    ),
    AlertStatus.ACKNOWLEDGED: (AlertStatus.RESOLVED, AlertStatus.DISMISSED),
    AlertStatus.ESCALATED: (AlertStatus.RESOLVED,),
    AlertStatus.RESOLVED: (),
    AlertStatus.DISMISSED: (),
}
_VERBS = {
    AlertStatus.ACKNOWLEDGED: "acknowledge",
    AlertStatus.RESOLVED: "resolve",
    AlertStatus.DISMISSED: "dismiss",
}
# A time, then an offset whose "+" a query string turned into a space.
_OFFSET_AS_SPACE = re.compile(
    r"(?P<time>T\d{2}:\d{2}(:\d{2}(\.\d+)?)?) (?P<offset>\d{2}(:?\d{2})?)$"
)


def _restore_plus(value: Any) -> Any:
    """Undo a query string's ``+`` read as a space: ``...T12:00:00 02:00``."""
    if isinstance(value, str):
        return _OFFSET_AS_SPACE.sub(r"\g<time>+\g<offset>", value)
    return value


QueryTime = Annotated[AwareDatetime, BeforeValidator(_restore_plus)]
JPEG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}}, "description": "The picture."}
}
MP4: dict[int | str, dict[str, Any]] = {
    200: {"content": {"video/mp4": {}}, "description": "The whole clip."},
    206: {"content": {"video/mp4": {}}, "description": "The byte range asked for."},
}


@router.get("/api/alerts", response_model=AlertPage)
def list_alerts(
    request: Request,
    context: Context,
    camera: Annotated[str | None, Query(description="Only this camera's.")] = None,
    rule: Annotated[str | None, Query(description="Only this rule's.")] = None,
    zone: Annotated[str | None, Query(description="Only in this zone.")] = None,
    label: Annotated[str | None, Query(description="Only of this class.")] = None,
    status: Annotated[
        list[AlertStatus] | None,
        Query(description="Only in these statuses; repeat for several."),
    ] = None,
    since: Annotated[
        QueryTime | None,
        Query(description="Started at or after (ISO 8601 with offset)."),
    ] = None,
    until: Annotated[
        QueryTime | None,
        Query(description="Started before (ISO 8601 with offset)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Alerts per page.")] = 50,
    cursor: Annotated[
        str | None, Query(description="From a previous page's next_cursor.")
    ] = None,
) -> AlertPage:
    """Alerts, newest first, a page at a time.

    Filters combine with AND. ``total`` counts every match; follow ``next``
    (or pass ``next_cursor`` as ``cursor``) for the following page. Pages do
    not shift when new alerts arrive meanwhile.
    """
    if since is not None and until is not None and since >= until:
        raise HTTPException(
            422,
            f"query parameter 'since' ({since.isoformat()}) is not before "
            f"'until' ({until.isoformat()}); give since < until",
        )
    filters: list[Any] = []
    for column, value in (
        (Alert.camera, camera),
        (Alert.rule, rule),
        (Alert.zone, zone),
        (Alert.label, label),
    ):
        if value is not None:
            filters.append(column == value)
    if status:
        filters.append(Alert.status.in_([item.value for item in status]))
    if since is not None:
        filters.append(Alert.start >= since)
    if until is not None:
        filters.append(Alert.start < until)

    query = select(Alert).where(*filters)
    if cursor is not None:
        after_start, after_id = decode_cursor(cursor, "the newest alert")
        query = query.where(
            or_(
                Alert.start < after_start,
                and_(Alert.start == after_start, Alert.id < after_id),
            )
        )
    with context.db.session() as session:
        total = session.scalar(select(func.count()).select_from(Alert).where(*filters))
        rows = session.scalars(
            query.order_by(Alert.start.desc(), Alert.id.desc()).limit(limit + 1)
        ).all()
        items = _out(session, rows[:limit])

    next_cursor = next_link = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last.start, last.id)
        url = request.url.include_query_params(cursor=next_cursor)
        next_link = f"{url.path}?{url.query}"
    return AlertPage(
        items=items, total=total or 0, next=next_link, next_cursor=next_cursor
    )


@router.get("/api/alerts/{alert_id}", response_model=AlertOut, responses=responses(404))
def get_alert(context: Context, alert_id: int) -> AlertOut:
    """One alert."""
    with context.db.session() as session:
        return _out(session, [_alert(session, alert_id)])[0]


def _payloads(session: Session, alerts: Sequence[Alert]) -> list[dict[str, Any]]:
    """Alerts as the API shows them, each with its track's identity."""
    tracks = {a.track_id for a in alerts if a.track_id is not None}
    rows = session.execute(
        select(Track.id, Track.identity_id).where(Track.id.in_(tracks))
    )
    identities = {row[0]: row[1] for row in rows}
    return [
        {**alert_payload(a), "identity_id": identities.get(a.track_id or -1)}
        for a in alerts
    ]


def _out(session: Session, alerts: Sequence[Alert]) -> list[AlertOut]:
    return [AlertOut.model_validate(p) for p in _payloads(session, alerts)]


@router.get(
    "/api/alerts/{alert_id}/snapshot",
    response_class=Response,
    responses={**JPEG, **responses(404)},
)
def get_snapshot(
    request: Request,
    context: Context,
    alert_id: int,
    crop: Annotated[
        bool, Query(description="The object's crop instead of the full frame.")
    ] = False,
) -> Response:
    """The alert's snapshot (JPEG): the full frame with drawings, or the crop."""
    with context.db.session() as session:
        alert = _alert(session, alert_id)
        stored = alert.snapshot_crop if crop else alert.snapshot
    what = "snapshot crop" if crop else "snapshot"
    if not stored:
        raise HTTPException(404, f"alert {alert_id} has no {what}")
    return _serve(
        request, context, stored, "image/jpeg", f"the {what} of alert {alert_id}"
    )


@router.get(
    "/api/alerts/{alert_id}/clip",
    response_class=Response,
    responses={**MP4, **responses(404, 409, 416)},
)
def get_clip(request: Request, context: Context, alert_id: int) -> Response:
    """The alert's clip (MP4), with byte ranges for a browser's ``<video>``.

    409 while the clip is still being cut; 404 when cutting it failed.
    """
    with context.db.session() as session:
        alert = _alert(session, alert_id)
        if alert.clip_state == ClipState.PENDING.value:
            raise HTTPException(
                409,
                f"the clip of alert {alert_id} is still being cut (clips are cut "
                "once the footage after the alert is recorded); try again shortly",
                headers={"Retry-After": "5"},
            )
        if alert.clip_state == ClipState.FAILED.value:
            reason = alert.clip_error or "no reason was recorded"
            raise HTTPException(
                404, f"alert {alert_id} has no clip: cutting it failed: {reason}"
            )
        clip = session.get(Clip, alert.clip_id) if alert.clip_id is not None else None
        if clip is None:
            raise HTTPException(
                404, f"alert {alert_id} has no clip: its clip record was removed"
            )
        stored = clip.path
    response = _serve(
        request,
        context,
        stored,
        "video/mp4",
        f"the clip of alert {alert_id}",
        allow_outside=True,
    )
    response.headers["Content-Disposition"] = f'inline; filename="alert-{alert_id}.mp4"'
    return response


@router.post(
    "/api/alerts/{alert_id}/acknowledge",
    response_model=AlertOut,
    responses=responses(404, 409),
)
def acknowledge_alert(context: Context, alert_id: int, body: AcknowledgeIn) -> AlertOut:
    """Someone is on it. Allowed from new."""
    return _move(context, alert_id, AlertStatus.ACKNOWLEDGED, body.by, body.note)


@router.post(
    "/api/alerts/{alert_id}/resolve",
    response_model=AlertOut,
    responses=responses(404, 409),
)
def resolve_alert(context: Context, alert_id: int, body: ResolveIn) -> AlertOut:
    """It has been dealt with. Allowed from new, acknowledged and escalated."""
    return _move(context, alert_id, AlertStatus.RESOLVED, body.by, body.note)


@router.post(
    "/api/alerts/{alert_id}/dismiss",
    response_model=AlertOut,
    responses=responses(404, 409),
)
def dismiss_alert(context: Context, alert_id: int, body: DismissIn) -> AlertOut:
    """A false alarm or nothing to do; a reason is required. From new, acknowledged."""
    return _move(context, alert_id, AlertStatus.DISMISSED, body.by, body.reason)


def _move(
    context: ApiContext,
    alert_id: int,
    target: AlertStatus,
    by: str,
    note: str | None,
) -> AlertOut:
    """Change an alert's status if its current one allows, and publish it."""
    with context.db.session() as session:
        alert = _alert(session, alert_id, for_update=True)
        current = alert.status
        try:
            allowed = MOVES[AlertStatus(current)]
        except ValueError:
            allowed = ()
        if target not in allowed:
            raise HTTPException(409, _refusal(alert_id, current, target, allowed))
        before = _handling(alert)
        alert.status = target.value
        alert.status_by = by
        alert.status_at = datetime.now(UTC)
        alert.status_note = note or None
        session.flush()
        audit.append(
            session,
            by,
            f"alert.{_VERBS[target]}",
            f"alert:{alert_id}",
            before,
            _handling(alert),
            time=alert.status_at,
        )
        payload = _payloads(session, [alert])[0]
    log.info("alert %d %s by %s (was %s)", alert_id, target.value, by, current)
    context.bus.publish("alert", {**payload, "change": "updated"})
    return AlertOut.model_validate(payload)


def _handling(alert: Alert) -> dict[str, Any]:
    """The alert's handling, for the audit log."""
    return {
        "status": alert.status,
        "status_by": alert.status_by,
        "status_at": alert.status_at,
        "status_note": alert.status_note,
    }


def _refusal(
    alert_id: int, current: str, target: AlertStatus, allowed: tuple[AlertStatus, ...]
) -> str:
    if not allowed:
        return (
            f"alert {alert_id} is {current}, which is final; it cannot be "
            f"{target.value} any more"
        )
    moves = " or ".join(
        f"{state.value} (POST .../{_VERBS[state]})" for state in allowed
    )
    if current == target.value:
        head = f"alert {alert_id} is already {current}"
    else:
        head = f"alert {alert_id} is {current} and cannot be {target.value}"
    return f"{head}; from {current} it can be {moves}"


def _alert(session: Session, alert_id: int, for_update: bool = False) -> Alert:
    query = select(Alert).where(Alert.id == alert_id)
    if for_update:
        query = query.with_for_update()
    alert = session.scalars(query).one_or_none()
    if alert is None:
        raise HTTPException(404, f"no alert with id {alert_id}")
    return alert


def _serve(
    request: Request,
    context: ApiContext,
    stored: str,
    media_type: str,
    what: str,
    *,
    allow_outside: bool = False,
) -> Response:
    try:
        path = resolve_media(context.media_dir, stored, allow_outside=allow_outside)
        return file_response(request, path, media_type)
    except MediaPathError as exc:
        log.warning("%s is not served: %s", what, exc)
        raise HTTPException(404, f"{what} is not served: {exc}") from exc
    except OSError as exc:
        raise HTTPException(
            404, f"{what} is missing from the media directory ({exc.strerror})"
        ) from exc
