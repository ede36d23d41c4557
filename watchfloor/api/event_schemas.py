"""Request and response models of footage search: events, pages, similar tracks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from watchfloor.api.schemas import Time
from watchfloor.tracking.search import (
    EventFilter,
    EventHit,
    SimilarTrack,
)
from watchfloor.tracking.search_text import Interpretation

EVENTS_PATH = "/api/events"


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Described(Protocol):
    """Anything that carries a track's attributes (a track, a search hit)."""

    @property
    def colour(self) -> str | None: ...
    @property
    def upper_colour(self) -> str | None: ...
    @property
    def lower_colour(self) -> str | None: ...
    @property
    def direction(self) -> str | None: ...
    @property
    def size_class(self) -> str | None: ...


class AttributesOut(_Out):
    """What a track looked like and did, as far as it is known."""

    colour: str | None = Field(description="Dominant colour of the whole object.")
    upper_colour: str | None = Field(description="Of a person's upper body.")
    lower_colour: str | None = Field(description="Of a person's lower body.")
    direction: str | None = Field(
        description="Direction of travel: left, right, towards, away, stationary."
    )
    size_class: str | None = Field(description="small, medium or large.")

    @classmethod
    def of(cls, source: _Described) -> AttributesOut:
        """The attributes of a track, or of a search hit on one."""
        return cls(
            colour=source.colour,
            upper_colour=source.upper_colour,
            lower_colour=source.lower_colour,
            direction=source.direction,
            size_class=source.size_class,
        )


def footage_url(camera: str, start: datetime, end: datetime) -> str:
    """The API path of a camera's footage from ``start`` to ``end``."""
    return (
        f"/api/cameras/{quote(camera)}/footage?start={compact_time(start)}"
        f"&end={compact_time(end)}"
    )


def compact_time(time: datetime) -> str:
    """A UTC time for a query string or a file name."""
    # "Z" rather than "+00:00": a "+" in a query string reads as a space.
    return time.astimezone(UTC).isoformat().replace("+00:00", "Z")


class FootageOut(_Out):
    """The recording to watch for a track: its camera over the track's span."""

    camera: str
    start: Time = Field(description="When the track was first seen.")
    end: Time = Field(description="When the track was last seen.")
    url: str | None = Field(
        description="Where the footage is cut and served (GET /api/cameras/"
        "{camera}/footage); None when the track spans no time."
    )

    @classmethod
    def of(cls, camera: str, start: datetime, end: datetime) -> FootageOut:
        """The footage of ``camera`` from ``start`` to ``end``."""
        url = footage_url(camera, start, end) if end > start else None
        return cls(camera=camera, start=start, end=end, url=url)


class EventOut(_Out):
    """One event: what a track did, when and where, and what it looked like."""

    id: int
    kind: str = Field(description="appeared, lost, recovered or ended.")
    camera: str
    time: Time
    label: str = Field(description="Object class, e.g. person.")
    score: float = Field(description="Detection score at that moment.")
    box: tuple[float, float, float, float] = Field(
        description="x1, y1, x2, y2 as fractions of the frame."
    )
    track_id: int = Field(description="The stored track.")
    identity_id: int | None = Field(
        description="The cross-camera identity, once resolved."
    )
    attributes: AttributesOut
    snapshot_url: str | None = Field(description="The track's best crop (JPEG).")
    clip_available: bool = Field(
        description="Whether recorded footage of the camera covers the event's time."
    )
    footage: FootageOut = Field(description="The footage of the whole track.")

    @classmethod
    def of(cls, hit: EventHit) -> EventOut:
        """The answer for a search hit."""
        return cls(
            id=hit.id,
            kind=hit.kind,
            camera=hit.camera,
            time=hit.time,
            label=hit.label,
            score=hit.score,
            box=hit.box,
            track_id=hit.track_id,
            identity_id=hit.identity_id,
            attributes=AttributesOut.of(hit),
            snapshot_url=(
                f"{EVENTS_PATH}/{hit.id}/snapshot" if hit.has_snapshot else None
            ),
            clip_available=hit.clip_available,
            footage=FootageOut.of(hit.camera, hit.track_start, hit.track_end),
        )


class FiltersOut(_Out):
    """Event filters; empty lists and nulls filter nothing."""

    camera: list[str] = Field(description="Any of these cameras.")
    since: Time | None = Field(description="At or after.")
    until: Time | None = Field(description="Before.")
    label: list[str] = Field(description="Any of these object classes.")
    kind: list[str] = Field(description="Any of these event kinds.")
    zone: list[str] = Field(description="Tracks with an alert in one of these zones.")
    rule: list[str] = Field(description="Tracks with an alert of one of these rules.")
    identity: int | None
    colour: str | None
    upper_colour: str | None
    lower_colour: str | None
    direction: str | None
    min_score: float | None
    has_clip: bool | None

    @classmethod
    def of(cls, filters: EventFilter) -> FiltersOut:
        """The answer for a filter."""
        return cls(
            camera=list(filters.cameras),
            since=filters.since,
            until=filters.until,
            label=list(filters.labels),
            kind=list(filters.kinds),
            zone=list(filters.zones),
            rule=list(filters.rules),
            identity=filters.identity,
            colour=filters.colour,
            upper_colour=filters.upper_colour,
            lower_colour=filters.lower_colour,
            direction=filters.direction,
            min_score=filters.min_score,
            has_clip=filters.has_clip,
        )


class PhraseOut(_Out):
    """Words of the text and the filter they gave."""

    words: str = Field(description="As the text had them, in lower case.")
    filter: str = Field(description="The filter they set, e.g. upper_colour.")
    value: str = Field(description="What they set it to.")


class InterpretationOut(_Out):
    """How the ``q`` text was read, to check and correct."""

    text: str
    timezone: str = Field(description="The time zone of the text's days and times.")
    filters: FiltersOut = Field(
        description="The filters the text gave (before the query's own "
        "parameters, which take precedence)."
    )
    phrases: list[PhraseOut] = Field(description="Which words gave which filter.")
    unused: list[str] = Field(
        description="Words that gave no filter; rephrase them or use parameters."
    )

    @classmethod
    def of(cls, reading: Interpretation, timezone: str) -> InterpretationOut:
        """The answer for a reading."""
        return cls(
            text=reading.text,
            timezone=timezone,
            filters=FiltersOut.of(reading.filter),
            phrases=[
                PhraseOut(words=p.words, filter=p.field, value=p.value)
                for p in reading.phrases
            ],
            unused=list(reading.unused),
        )


class EventPage(_Out):
    """One page of events."""

    items: list[EventOut]
    total: int | None = Field(
        description="Events matching, on all pages, up to a cap; counted only "
        "when asked (count=true), else None."
    )
    total_exact: bool = Field(
        description="False when more events match than were counted: total is "
        "then a floor."
    )
    next: str | None = Field(
        description="Path and query of the next page; None on the last page."
    )
    next_cursor: str | None = Field(
        description="The cursor of the next page, to pass as ?cursor=."
    )
    filters: FiltersOut = Field(description="The filters applied, all combined.")
    interpreted: InterpretationOut | None = Field(
        description="How the q text was read; None without q."
    )


class SimilarTrackOut(_Out):
    """A track whose appearance is close to the one searched for."""

    track_id: int
    camera: str
    label: str
    first_seen: Time
    last_seen: Time
    distance: float = Field(
        description="Appearance distance: 0 the same colours, 1 none in common."
    )
    identity_id: int | None = Field(description="Its cross-camera identity.")
    attributes: AttributesOut
    event_id: int | None = Field(description="Its latest event with a snapshot.")
    snapshot_url: str | None = Field(description="That event's snapshot (JPEG).")
    footage: FootageOut

    @classmethod
    def of(cls, track: SimilarTrack) -> SimilarTrackOut:
        """The answer for a ranked track."""
        return cls(
            track_id=track.track_id,
            camera=track.camera,
            label=track.label,
            first_seen=track.first_seen,
            last_seen=track.last_seen,
            distance=round(track.distance, 6),
            identity_id=track.identity_id,
            attributes=AttributesOut.of(track),
            event_id=track.event_id,
            snapshot_url=(
                f"{EVENTS_PATH}/{track.event_id}/snapshot"
                if track.event_id is not None
                else None
            ),
            footage=FootageOut.of(track.camera, track.first_seen, track.last_seen),
        )


class SimilarQueryOut(_Out):
    """What was searched from."""

    event_id: int | None = Field(description="The event, when searched from one.")
    track_id: int | None = Field(description="Its track, when searched from one.")
    colour: str | None = Field(description="Dominant colour of the whole object.")
    upper_colour: str | None = Field(description="Of the upper body.")
    lower_colour: str | None = Field(description="Of the lower body.")


class SimilarPage(_Out):
    """Tracks ranked by appearance, closest first."""

    query: SimilarQueryOut
    items: list[SimilarTrackOut]
    candidates: int = Field(description="How many tracks were compared.")
    bounded: bool = Field(
        description="True when more tracks matched the filters than were compared "
        "(the most recent are compared first): narrow since/until to reach others."
    )
