"""Response models of identities and their journeys, apart from the database's."""

from __future__ import annotations

from pydantic import Field

from watchfloor.api.schemas import Time, _Out


class AppearanceOut(_Out):
    """One appearance of an identity: one track, in one camera."""

    track_id: int = Field(description="The stored track.")
    camera: str
    start: Time = Field(description="First seen.")
    end: Time = Field(description="Last seen.")
    label: str
    best_score: float
    colour: str | None = Field(description="Dominant colour of the whole body.")
    upper_colour: str | None = Field(description="Of a person's upper body.")
    lower_colour: str | None = Field(description="Of a person's lower body.")
    direction: str | None = Field(description="Direction of travel on the picture.")
    size_class: str | None
    snapshot_url: str | None = Field(description="The track's best crop (JPEG).")
    footage_url: str = Field(
        description=(
            "The footage of this appearance (MP4, cut from the recordings on "
            "first request, with the site's alert pre- and post-roll)."
        )
    )


class IdentityOut(_Out):
    """One object followed across cameras."""

    id: int
    label: str
    first_seen: Time
    last_seen: Time
    tracks: int = Field(description="How many tracks (appearances) it has.")
    cameras: list[str] = Field(description="The cameras that saw it, in order.")
    snapshot_url: str | None = Field(description="Its best crop (JPEG).")
    journey_url: str


class IdentityPage(_Out):
    """One page of identities, most recently seen first."""

    items: list[IdentityOut]
    next: str | None = Field(description="Path and query of the next page.")
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page.")


class JourneyOut(_Out):
    """Where an identity went: its appearances in time order."""

    identity: IdentityOut
    appearances: list[AppearanceOut]
