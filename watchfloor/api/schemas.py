"""Request and response models of the HTTP API, apart from the database's models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from watchfloor.config import LineConfig, RuleConfig, ZoneConfig


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


# ISO 8601 with its offset (``+00:00``), the same text the bus carries.
Time = Annotated[datetime, PlainSerializer(_iso, return_type=str, when_used="json")]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(_Out):
    """Every error answer: what was wrong, in words a person can act on."""

    detail: str = Field(description="What was wrong and what would be right.")


class DatabaseHealth(_Out):
    """Whether the database answers."""

    reachable: bool = Field(description="True when a trivial query succeeded.")
    error: str | None = Field(None, description="Why it did not, when it did not.")


class CameraCounts(_Out):
    """How many cameras the site has and how many stream now."""

    total: int = Field(description="Cameras in the site file.")
    online: int = Field(description="Cameras whose stream is online now.")


class HealthOut(_Out):
    """The service's health."""

    ok: bool = Field(description="True when the database is reachable.")
    version: str = Field(description="Watchfloor's version.")
    timezone: str | None = Field(
        None, description="The site's IANA time zone, when its site file sets one."
    )
    database: DatabaseHealth
    cameras: CameraCounts


class CameraStatusOut(_Out):
    """A camera's live status, as its worker reports it."""

    camera: str
    state: Literal["connecting", "online", "reconnecting", "stopped"]
    since: Time = Field(description="When the camera entered this state.")
    attempts: int = Field(description="Failed connection attempts since online.")
    last_error: str | None = Field(description="The last failure, in words.")
    fps_in: float = Field(description="Frames per second arriving now.")
    frames_in: int = Field(description="Frames received since the worker started.")
    frames_dropped: int = Field(description="Frames dropped for a slow consumer.")
    recording: Literal["off", "waiting", "recording", "paused"]
    recording_error: str | None = Field(description="Why recording is paused.")


class CameraOut(_Out):
    """A camera: its configuration (passwords shown as ***) and live status."""

    name: str
    url: str = Field(description="Stream analysed; any password shown as ***.")
    record_url: str | None = Field(description="Stream recorded, when another one.")
    fps: float | None = Field(description="Frames per second analysed; None: all.")
    record: bool
    analyse: bool
    motion_gate: bool
    detect_size: int | None
    classes: list[str] | None = Field(
        description="Object classes this camera keeps; None: all."
    )
    min_score: float = Field(description="Lowest detection score kept.")
    retention_days: float | None
    status: CameraStatusOut | None = Field(
        description="Live status; None when no worker reports on this camera."
    )


class _DefinitionOut(_Out):
    name: str
    source: Literal["site", "api"] = Field(
        description="site: the site file's (read-only); api: made through the API."
    )
    created_by: str | None = Field(None, description="Who made it through the API.")
    created_at: Time | None = Field(None, description="When it was made (API).")
    updated_at: Time | None = Field(None, description="When it last changed (API).")
    problem: str | None = Field(
        None, description="Why cameras do not use it now; None when they do."
    )


class ZoneOut(_DefinitionOut):
    """A zone, with where it comes from."""

    definition: ZoneConfig | None = Field(
        description="As in the site file; None if a stored one no longer validates."
    )


class LineOut(_DefinitionOut):
    """A line, with where it comes from."""

    definition: LineConfig | None = Field(
        description="As in the site file; None if a stored one no longer validates."
    )


class RuleOut(_DefinitionOut):
    """A rule, with where it comes from."""

    definition: RuleConfig | None = Field(
        description="As in the site file; None if a stored one no longer validates."
    )


PathPointOut = Annotated[
    tuple[float, float, float],
    Field(description="[seconds from the alert's start, x, y]"),
]


class AlertOut(_Out):
    """An alert: what broke which rule, and what was done about it."""

    id: int
    camera: str
    rule: str
    kind: str = Field(description="The rule's kind, e.g. restricted_area.")
    zone: str | None
    line: str | None
    label: str = Field(description="Object class, e.g. person.")
    score: float = Field(description="Best detection score of the track.")
    track_id: int | None = Field(description="The stored track, when one.")
    tracker_id: int | None = Field(description="The camera tracker's id.")
    identity_id: int | None = Field(
        None,
        description=(
            "The identity its track belongs to across cameras; known once the "
            "track has ended and been resolved."
        ),
    )
    start: Time = Field(description="First qualifying frame.")
    end: Time | None = Field(description="When the episode ended; None: ongoing.")
    status: Literal["new", "acknowledged", "resolved", "dismissed", "escalated"]
    status_by: str | None = Field(description="Who last changed the status.")
    status_at: Time | None = Field(description="When the status last changed.")
    status_note: str | None = Field(description="The note or reason given.")
    snapshot_url: str | None = Field(description="Full frame with drawings (JPEG).")
    snapshot_crop_url: str | None = Field(description="The object's crop (JPEG).")
    path: list[PathPointOut] = Field(
        default_factory=list,
        description=(
            "Where the track's feet (the bottom centre of its box) went, in time "
            "order: [seconds from start, x, y], x and y in normalised picture "
            "coordinates (0 to 1, from the top left). Points before the start "
            "(negative seconds) show where the track came from; a few a second, "
            "at most 600, coarser for a long track. Stored as the episode goes "
            "on and complete once it ended; empty without a track (occupancy)."
        ),
    )
    clip_state: Literal["pending", "ready", "failed"]
    clip_error: str | None = Field(description="Why the clip failed.")
    clip_url: str | None = Field(description="The clip (MP4), once ready.")
    created_at: Time


class AlertPage(_Out):
    """One page of alerts, newest first."""

    items: list[AlertOut]
    total: int = Field(description="Alerts matching the filters, on all pages.")
    next: str | None = Field(
        description="Path and query of the next page; None on the last page."
    )
    next_cursor: str | None = Field(
        description="The cursor of the next page, to pass as ?cursor=."
    )


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    by: str = Field(
        min_length=1, max_length=128, description="Who does it (a name or login)."
    )


class AcknowledgeIn(_Request):
    """Someone has seen the alert and is on it."""

    note: str | None = Field(None, max_length=4000, description="Optional note.")


class ResolveIn(_Request):
    """The alert has been dealt with."""

    note: str | None = Field(
        None, max_length=4000, description="What was done (optional)."
    )


class DismissIn(_Request):
    """The alert was a false alarm or needs no action."""

    reason: str = Field(
        min_length=1, max_length=4000, description="Why it needs no action."
    )
