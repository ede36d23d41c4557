"""``/api/events`` and ``/api/search``: footage search by filters, text and looks."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import cv2
import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BeforeValidator
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from watchfloor.api.deps import ApiContext, Context
from watchfloor.api.errors import responses
from watchfloor.api.event_schemas import (
    EventOut,
    EventPage,
    FiltersOut,
    InterpretationOut,
    SimilarPage,
    SimilarQueryOut,
    SimilarTrackOut,
)
from watchfloor.api.media import MediaPathError, file_response, resolve_media
from watchfloor.api.routers.alerts import JPEG, QueryTime
from watchfloor.api.schemas import ErrorOut
from watchfloor.models import Event, Track
from watchfloor.tracking.appearance import (
    COLOURS,
    DIRECTIONS,
    MIN_CROP_HEIGHT,
    STORED_CROP_HEIGHT,
    describe,
    descriptor_from_bytes,
)
from watchfloor.tracking.search import (
    COUNT_CAP,
    EVENT_KINDS,
    MAX_CANDIDATES,
    EventFilter,
    EventOrder,
    SearchError,
    SimilarResults,
    TrackFilter,
    check_choice,
    get_event,
    search_events,
    similar_tracks,
)
from watchfloor.tracking.search_text import SiteNames, interpret

log = logging.getLogger(__name__)

router = APIRouter(tags=["search"], responses=responses(422))

MAX_IMAGE_BYTES = 10 * 1024 * 1024
"""Largest picture accepted by ``POST /api/search/similar``."""

IMAGE_TYPES = ("image/jpeg", "image/png")
_MAGIC = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}


def _choice(field: str, allowed: tuple[str, ...], noun: str) -> BeforeValidator:
    """A validator that lower-cases a value and refuses one not in ``allowed``."""

    def check(value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower()
            try:
                check_choice(field, value, allowed, noun)
            except SearchError as exc:
                raise ValueError(str(exc)) from exc
        return value

    return BeforeValidator(check)


ColourParam = Annotated[str, _choice("colour", COLOURS, "colour")]
DirectionParam = Annotated[str, _choice("direction", DIRECTIONS, "direction")]
KindParam = Annotated[str, _choice("kind", EVENT_KINDS, "event kind")]
_ANY_OF = "Repeat for several (any of them)."
_COLOUR_NAMES = ", ".join(COLOURS)


@router.get("/api/events", response_model=EventPage)
def list_events(
    request: Request,
    context: Context,
    q: Annotated[
        str | None,
        Query(
            max_length=500,
            description="Plain-English search, e.g. 'man in a red jacket near the "
            "dock after 18:00'; see `interpreted` in the answer for how it was "
            "read. The other parameters take precedence over what it gives.",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        Query(
            description="IANA time zone of q's days and clock times; default "
            "the site's, else UTC."
        ),
    ] = None,
    camera: Annotated[
        list[str] | None, Query(description=f"Only these cameras'. {_ANY_OF}")
    ] = None,
    since: Annotated[
        QueryTime | None, Query(description="At or after (ISO 8601 with offset).")
    ] = None,
    until: Annotated[
        QueryTime | None, Query(description="Before (ISO 8601 with offset).")
    ] = None,
    label: Annotated[
        list[str] | None, Query(description=f"Object classes. {_ANY_OF}")
    ] = None,
    kind: Annotated[
        list[KindParam] | None,
        Query(description=f"Event kinds: {', '.join(EVENT_KINDS)}. {_ANY_OF}"),
    ] = None,
    zone: Annotated[
        list[str] | None,
        Query(description=f"Tracks with an alert in this zone. {_ANY_OF}"),
    ] = None,
    rule: Annotated[
        list[str] | None,
        Query(description=f"Tracks with an alert of this rule. {_ANY_OF}"),
    ] = None,
    identity: Annotated[
        int | None, Query(description="Only this cross-camera identity's.")
    ] = None,
    colour: Annotated[
        ColourParam | None,
        Query(description=f"Whole object's colour: {_COLOUR_NAMES}."),
    ] = None,
    upper_colour: Annotated[
        ColourParam | None, Query(description="A person's upper body colour.")
    ] = None,
    lower_colour: Annotated[
        ColourParam | None, Query(description="A person's lower body colour.")
    ] = None,
    direction: Annotated[
        DirectionParam | None,
        Query(description=f"Direction of travel: {', '.join(DIRECTIONS)}."),
    ] = None,
    min_score: Annotated[
        float | None, Query(ge=0, le=1, description="Detection score at least.")
    ] = None,
    has_clip: Annotated[
        bool | None,
        Query(description="true: only events with footage recorded at their time."),
    ] = None,
    sort: Annotated[
        EventOrder,
        Query(description="newest first, oldest first, or best score first."),
    ] = EventOrder.NEWEST,
    limit: Annotated[int, Query(ge=1, le=500, description="Events per page.")] = 50,
    cursor: Annotated[
        str | None, Query(description="From a previous page's next_cursor.")
    ] = None,
    count: Annotated[
        bool,
        Query(
            description=f"Also count the matches, up to {COUNT_CAP} (slower: it "
            "reads the matches rather than one page)."
        ),
    ] = False,
) -> EventPage:
    """Events (what tracks did), filtered, a page at a time.

    Filters combine with AND; a repeated parameter matches any of its values.
    `zone` and `rule` find the events of tracks that raised an alert there.
    `has_clip` asks for footage of the event's camera recorded at its time.
    With `count=true`, `total` counts the matches up to a cap (`total_exact`
    says whether it was reached). Follow `next` (or pass `next_cursor` as
    `cursor`, with the same `sort`) for the following page; pages do not
    shift when new events arrive.
    """
    try:
        filters = EventFilter(
            cameras=tuple(camera or ()),
            since=since,
            until=until,
            labels=tuple(label or ()),
            kinds=tuple(kind or ()),
            zones=tuple(zone or ()),
            rules=tuple(rule or ()),
            identity=identity,
            colour=colour,
            upper_colour=upper_colour,
            lower_colour=lower_colour,
            direction=direction,
            min_score=min_score,
            has_clip=has_clip,
        )
    except SearchError as exc:
        raise HTTPException(422, f"query parameters: {exc}") from exc

    interpreted = None
    timezone = timezone or context.site.timezone or "UTC"
    tz = _time_zone(timezone)
    if q is not None and q.strip():
        try:
            reading = interpret(q, _site_names(context), datetime.now(UTC), tz)
            filters = reading.filter.overridden_by(filters)
        except SearchError as exc:
            raise HTTPException(422, f"query parameter 'q': {exc}") from exc
        interpreted = InterpretationOut.of(reading, timezone)

    with context.db.session() as session:
        try:
            found = search_events(session, filters, sort, limit, cursor, count)
        except SearchError as exc:
            raise HTTPException(422, f"query parameter 'cursor': {exc}") from exc

    next_link = None
    if found.next_cursor is not None:
        url = request.url.include_query_params(cursor=found.next_cursor)
        next_link = f"{url.path}?{url.query}"
    return EventPage(
        items=[EventOut.of(hit) for hit in found.hits],
        total=found.total,
        total_exact=found.total_exact,
        next=next_link,
        next_cursor=found.next_cursor,
        filters=FiltersOut.of(filters),
        interpreted=interpreted,
    )


@router.get("/api/events/{event_id}", response_model=EventOut, responses=responses(404))
def get_one_event(context: Context, event_id: int) -> EventOut:
    """One event, as the search shows it."""
    with context.db.session() as session:
        hit = get_event(session, event_id)
    if hit is None:
        raise HTTPException(404, f"no event with id {event_id}")
    return EventOut.of(hit)


@router.get(
    "/api/events/{event_id}/snapshot",
    response_class=Response,
    responses={**JPEG, **responses(404)},
)
def get_event_snapshot(request: Request, context: Context, event_id: int) -> Response:
    """The event's snapshot (JPEG): its track's best crop at that moment."""
    with context.db.session() as session:
        stored = _event(session, event_id).snapshot
    if not stored:
        raise HTTPException(
            404,
            f"event {event_id} has no snapshot (its track had no crop yet, or "
            "saving it failed)",
        )
    what = f"the snapshot of event {event_id}"
    try:
        path = resolve_media(context.media_dir, stored, allow_outside=False)
        return file_response(request, path, "image/jpeg")
    except MediaPathError as exc:
        log.warning("%s is not served: %s", what, exc)
        raise HTTPException(404, f"{what} is not served: {exc}") from exc
    except OSError as exc:
        raise HTTPException(
            404, f"{what} is missing from the media directory ({exc.strerror})"
        ) from exc


_SIMILAR_LIMIT = Query(ge=1, le=200, description="How many tracks to return.")
_SIMILAR_BOUND = (
    f"At most {MAX_CANDIDATES:,} tracks are compared, the most recently first "
    "seen among those the filters admit; `bounded` in the answer says when more "
    "matched (narrow since/until to reach older ones)."
)
_BY_EVENT = (
    "Ranked by appearance distance (the colours of the upper and lower body); "
    "the event's own track is left out. 409 when its track has no appearance "
    f"descriptor. {_SIMILAR_BOUND}"
)
_BY_PICTURE = (
    "Send the picture as the body with `content-type: image/jpeg` or "
    "`image/png` (`curl --data-binary @crop.jpg`). It is described as a track's "
    "crops are (the colours of its upper and lower body) and ranked the same "
    f"way. {_SIMILAR_BOUND}"
)


def _similar_scope(
    camera: Annotated[
        list[str] | None, Query(description=f"Only these cameras'. {_ANY_OF}")
    ] = None,
    since: Annotated[
        QueryTime | None, Query(description="Tracks first seen at or after.")
    ] = None,
    until: Annotated[
        QueryTime | None, Query(description="Tracks first seen before.")
    ] = None,
    label: Annotated[
        list[str] | None, Query(description=f"Object classes. {_ANY_OF}")
    ] = None,
) -> TrackFilter:
    """The tracks a similar search compares, from its query parameters."""
    try:
        return TrackFilter(
            cameras=tuple(camera or ()),
            since=since,
            until=until,
            labels=tuple(label or ()),
        )
    except SearchError as exc:
        raise HTTPException(422, f"query parameters: {exc}") from exc


SimilarScope = Annotated[TrackFilter, Depends(_similar_scope)]


@router.get(
    "/api/events/{event_id}/similar",
    response_model=SimilarPage,
    responses=responses(404, 409),
    description=_BY_EVENT,
)
def similar_to_event(
    context: Context,
    event_id: int,
    filters: SimilarScope,
    limit: Annotated[int, _SIMILAR_LIMIT] = 20,
) -> SimilarPage:
    """Tracks that look most like this event's track, closest first."""
    with context.db.session() as session:
        event = _event(session, event_id)
        track = session.get(Track, event.track_id)
        if track is None or not track.appearance:
            raise HTTPException(
                409,
                f"the track of event {event_id} has no appearance descriptor yet "
                "(it is made from crops where the object was seen whole); search "
                "from another event of the same object, or by picture with POST "
                "/api/search/similar",
            )
        try:
            descriptor = descriptor_from_bytes(track.appearance)
        except ValueError as exc:
            raise HTTPException(
                409, f"the track of event {event_id} has a damaged descriptor: {exc}"
            ) from exc
        found = similar_tracks(
            session, descriptor, replace(filters, exclude=track.id), limit
        )
        query = SimilarQueryOut(
            event_id=event_id,
            track_id=track.id,
            colour=track.colour,
            upper_colour=track.upper_colour,
            lower_colour=track.lower_colour,
        )
    return _similar_page(query, found)


_IMAGE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A JPEG or PNG crop of one person or vehicle.",
        "content": {
            kind: {"schema": {"type": "string", "format": "binary"}}
            for kind in IMAGE_TYPES
        },
    }
}


@router.post(
    "/api/search/similar",
    response_model=SimilarPage,
    description=_BY_PICTURE,
    openapi_extra=_IMAGE_BODY,
    responses={
        413: {"model": ErrorOut, "description": "The picture is too large"},
        415: {"model": ErrorOut, "description": "The body is not JPEG or PNG"},
    },
)
async def similar_to_picture(
    request: Request,
    context: Context,
    filters: SimilarScope,
    limit: Annotated[int, _SIMILAR_LIMIT] = 20,
) -> SimilarPage:
    """Tracks that look most like a picture of a person (a crop), closest first."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type.lower() not in IMAGE_TYPES:
        raise HTTPException(
            415,
            f"content-type {content_type or '(none)'!r} is not a picture this "
            f"search reads; send {' or '.join(IMAGE_TYPES)}",
        )
    body = await request.body()
    if len(body) > MAX_IMAGE_BYTES:
        raise HTTPException(
            413,
            f"the picture has {len(body)} bytes; send at most {MAX_IMAGE_BYTES} "
            "(a crop of one person needs far less)",
        )
    crop = _decode_picture(body)
    return await run_in_threadpool(_similar_to_crop, context, crop, filters, limit)


def _similar_to_crop(
    context: ApiContext, crop: np.ndarray, filters: TrackFilter, limit: int
) -> SimilarPage:
    appearance = describe([crop])
    if appearance is None:
        raise HTTPException(422, "the picture has no pixels to describe")
    with context.db.session() as session:
        found = similar_tracks(session, appearance.descriptor, filters, limit)
    query = SimilarQueryOut(
        event_id=None,
        track_id=None,
        colour=appearance.colour,
        upper_colour=appearance.upper_colour,
        lower_colour=appearance.lower_colour,
    )
    return _similar_page(query, found)


def _decode_picture(body: bytes) -> np.ndarray:
    """The BGR image of a JPEG or PNG body, shrunk as stored crops are."""
    if not body:
        raise HTTPException(
            422, "the body is empty; send the picture, e.g. --data-binary @crop.jpg"
        )
    if not any(body.startswith(magic) for magic in _MAGIC):
        raise HTTPException(
            422,
            f"the body is not a JPEG or PNG picture (it starts with bytes "
            f"{body[:4].hex(' ')}); send the file itself, with --data-binary",
        )
    image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise HTTPException(
            422,
            f"the picture cannot be decoded ({len(body)} bytes; cut short or "
            "damaged); send a whole JPEG or PNG file",
        )
    height, width = image.shape[:2]
    if height < MIN_CROP_HEIGHT or width < 4:
        raise HTTPException(
            422,
            f"the picture is {width}x{height} pixels; a crop needs at least 4 "
            f"pixels of width and {MIN_CROP_HEIGHT} of height to describe",
        )
    if height > STORED_CROP_HEIGHT:
        scale = STORED_CROP_HEIGHT / height
        size = (max(1, round(width * scale)), STORED_CROP_HEIGHT)
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return image


def _similar_page(query: SimilarQueryOut, found: SimilarResults) -> SimilarPage:
    return SimilarPage(
        query=query,
        items=[SimilarTrackOut.of(track) for track in found.tracks],
        candidates=found.candidates,
        bounded=found.bounded,
    )


def _time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise HTTPException(
            422,
            f"query parameter 'timezone': unknown time zone {name!r}; use an IANA "
            "name like Europe/Paris, or UTC",
        ) from exc


def _site_names(context: ApiContext) -> SiteNames:
    """The cameras and zones a text may name: the site file's and the API's."""
    zones = [zone.name for zone in context.definitions.list("zone")]
    return SiteNames(cameras=[c.name for c in context.site.cameras], zones=zones)


def _event(session: Session, event_id: int) -> Event:
    event = session.scalars(select(Event).where(Event.id == event_id)).one_or_none()
    if event is None:
        raise HTTPException(404, f"no event with id {event_id}")
    return event
