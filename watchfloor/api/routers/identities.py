"""``/api/identities``: objects followed across cameras, their journeys and footage."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from watchfloor.api.cursors import decode_cursor, encode_cursor
from watchfloor.api.deps import Context
from watchfloor.api.errors import responses
from watchfloor.api.event_schemas import compact_time, footage_url
from watchfloor.api.identity_schemas import (
    AppearanceOut,
    IdentityOut,
    IdentityPage,
    JourneyOut,
)
from watchfloor.api.routers.alerts import JPEG, MP4, QueryTime, _serve
from watchfloor.media.clips import ClipError, cut_clip
from watchfloor.models import Clip, Identity, Track

log = logging.getLogger(__name__)

router = APIRouter(tags=["identities"], responses=responses(422))

MAX_FOOTAGE = timedelta(minutes=30)
"""The longest footage cut on request; longer ranges are refused."""


def _identity_out(identity: Identity) -> IdentityOut:
    url = f"/api/identities/{identity.id}"
    return IdentityOut(
        id=identity.id,
        label=identity.label,
        first_seen=identity.first_seen,
        last_seen=identity.last_seen,
        tracks=identity.tracks,
        cameras=[c for c in identity.cameras.split(",") if c],
        snapshot_url=(
            f"/api/tracks/{identity.best_track_id}/snapshot"
            if identity.best_track_id is not None
            else None
        ),
        journey_url=f"{url}/journey",
    )


@router.get("/api/identities", response_model=IdentityPage)
def list_identities(
    request: Request,
    context: Context,
    label: Annotated[str | None, Query(description="Only of this class.")] = None,
    camera: Annotated[
        str | None, Query(description="Only those this camera saw.")
    ] = None,
    since: Annotated[
        QueryTime | None, Query(description="Last seen at or after this time.")
    ] = None,
    until: Annotated[
        QueryTime | None, Query(description="First seen before this time.")
    ] = None,
    min_cameras: Annotated[
        int, Query(ge=1, le=64, description="Seen by at least this many cameras.")
    ] = 1,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[
        str | None, Query(description="From a previous page's next_cursor.")
    ] = None,
) -> IdentityPage:
    """Identities, most recently seen first, a page at a time."""
    query = select(Identity)
    if label is not None:
        query = query.where(Identity.label == label)
    if since is not None:
        query = query.where(Identity.last_seen >= since)
    if until is not None:
        query = query.where(Identity.first_seen < until)
    if camera is not None:
        query = query.where(
            Identity.id.in_(
                select(Track.identity_id).where(
                    Track.camera == camera, Track.identity_id.is_not(None)
                )
            )
        )
    if cursor is not None:
        after_time, after_id = decode_cursor(cursor, "the most recently seen identity")
        query = query.where(
            or_(
                Identity.last_seen < after_time,
                and_(Identity.last_seen == after_time, Identity.id < after_id),
            )
        )
    query = query.order_by(Identity.last_seen.desc(), Identity.id.desc())
    items: list[IdentityOut] = []
    last: Identity | None = None
    more = False
    with context.db.session() as session:
        for identity in session.scalars(query.limit(limit * 4 + 1)):
            if min_cameras > 1 and len(identity.cameras.split(",")) < min_cameras:
                continue
            if len(items) == limit:
                more = True
                break
            items.append(_identity_out(identity))
            last = identity
    next_cursor = next_link = None
    if more and last is not None:
        next_cursor = encode_cursor(last.last_seen, last.id)
        url = request.url.include_query_params(cursor=next_cursor)
        next_link = f"{url.path}?{url.query}"
    return IdentityPage(items=items, next=next_link, next_cursor=next_cursor)


@router.get(
    "/api/identities/{identity_id}",
    response_model=IdentityOut,
    responses=responses(404),
)
def get_identity(context: Context, identity_id: int) -> IdentityOut:
    """One identity."""
    with context.db.session() as session:
        return _identity_out(_identity(session, identity_id))


@router.get(
    "/api/identities/{identity_id}/journey",
    response_model=JourneyOut,
    responses=responses(404),
)
def get_journey(context: Context, identity_id: int) -> JourneyOut:
    """Where an identity went: each camera's appearance in time order, with its
    best snapshot and a link to its footage."""
    before = timedelta(seconds=context.site.alerts.pre_roll_s)
    after = timedelta(seconds=context.site.alerts.post_roll_s)
    with context.db.session() as session:
        identity = _identity(session, identity_id)
        tracks = session.scalars(
            select(Track)
            .where(Track.identity_id == identity_id)
            .order_by(Track.first_seen, Track.id)
        ).all()
        appearances = [
            AppearanceOut(
                track_id=track.id,
                camera=track.camera,
                start=track.first_seen,
                end=track.last_seen,
                label=track.label,
                best_score=track.best_score,
                colour=track.colour,
                upper_colour=track.upper_colour,
                lower_colour=track.lower_colour,
                direction=track.direction,
                size_class=track.size_class,
                snapshot_url=(
                    f"/api/tracks/{track.id}/snapshot" if track.snapshot else None
                ),
                footage_url=footage_url(
                    track.camera, track.first_seen - before, track.last_seen + after
                ),
            )
            for track in tracks
        ]
        return JourneyOut(identity=_identity_out(identity), appearances=appearances)


@router.get(
    "/api/tracks/{track_id}/snapshot",
    response_class=Response,
    responses={**JPEG, **responses(404)},
)
def get_track_snapshot(request: Request, context: Context, track_id: int) -> Response:
    """A track's best crop (JPEG)."""
    with context.db.session() as session:
        track = session.get(Track, track_id)
        if track is None:
            raise HTTPException(404, f"no track {track_id}")
        stored = track.snapshot
    if not stored:
        raise HTTPException(404, f"track {track_id} has no snapshot")
    return _serve(
        request, context, stored, "image/jpeg", f"the snapshot of track {track_id}"
    )


@router.get(
    "/api/cameras/{name}/footage",
    response_class=Response,
    responses={**MP4, **responses(404, 416)},
)
def get_footage(
    request: Request,
    context: Context,
    name: str,
    start: Annotated[QueryTime, Query(description="From (ISO 8601 with offset).")],
    end: Annotated[QueryTime, Query(description="To (ISO 8601 with offset).")],
) -> Response:
    """A camera's recorded footage for a time range (MP4, with byte ranges).

    Cut by stream copy from the recordings on first request (from the key
    frame at or before ``start``) and kept as a clip; the same range asked
    again is served from that clip. 404 names the nearest footage when the
    range has none.
    """
    cameras = [camera.name for camera in context.site.cameras]
    if name not in cameras:
        known = ", ".join(cameras) or "none"
        raise HTTPException(404, f"no camera named {name!r}; the site has: {known}")
    if end <= start:
        raise HTTPException(
            422,
            f"query parameter 'end' ({end.isoformat()}) is not after 'start' "
            f"({start.isoformat()}); give start < end",
        )
    if end - start > MAX_FOOTAGE:
        raise HTTPException(
            422,
            f"footage of {(end - start).total_seconds():.0f} s asked for; at most "
            f"{MAX_FOOTAGE.total_seconds():.0f} s are cut at once",
        )
    with context.db.session() as session:
        stored = session.scalars(
            select(Clip.path)
            .where(Clip.camera == name, Clip.start == start, Clip.end == end)
            .order_by(Clip.id.desc())
            .limit(1)
        ).first()
    if stored is None:
        try:
            result = cut_clip(context.db, context.media_dir, name, start, end)
        except ClipError as exc:
            raise HTTPException(404, f"camera {name!r}: {exc}") from exc
        stored = str(result.path)
        log.info("footage of camera %s cut for %s to %s", name, start, end)
    response = _serve(
        request,
        context,
        stored,
        "video/mp4",
        f"the footage of camera {name}",
        allow_outside=True,
    )
    response.headers["Content-Disposition"] = (
        f'inline; filename="{name}-{compact_time(start)}.mp4"'
    )
    return response


def _identity(session: Session, identity_id: int) -> Identity:
    identity = session.get(Identity, identity_id)
    if identity is None:
        raise HTTPException(404, f"no identity {identity_id}")
    return identity
