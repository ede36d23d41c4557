"""A small site's history to search: tracks of known looks, events, alerts, footage.

Two cameras (``gate``, ``yard``) over an hour from :data:`T0`:

| track | camera | label | upper, lower (whole) | direction | identity | minutes |
|---|---|---|---|---|---|---|
| red-blue | gate | person | red, blue (red) | left | 1 | 0-2 (lost, recovered) |
| green-black | gate | person | green, black (green) | right | 2 | 10-12 |
| red-black | yard | person | red, black (red) | towards | 1 | 20-22 |
| white-car | yard | car | - (white) | away | - | 30-31 |
| blue-truck | gate | truck | - (blue) | stationary | - | 40-41 |
| yellow-grey | yard | person | yellow, grey (yellow) | left | 3 | 50-52 |

Footage: gate from minute 0 to 15 (two segments), yard from 25 to 35. Alerts:
red-blue in zone ``dock`` (rule ``dock-intrusion``), red-black crossing line
``fence`` (rule ``fence-crossing``). Every event has a snapshot path under
``snapshots/``; :func:`add_scene` writes the JPEGs when given a media folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from tests.tracking.scenes import BGR
from watchfloor.models import Alert, Event, Segment, Track
from watchfloor.models.database import Database
from watchfloor.tracking.appearance import describe

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """``T0`` plus some minutes."""
    return T0 + timedelta(minutes=minutes)


def person(top: str, bottom: str, height: int = 90) -> np.ndarray:
    """A crop of a person: a head, a top, trousers, grass at the sides."""
    crop = np.full((90, 36, 3), (90, 140, 90), np.uint8)
    crop[0:12, 12:24] = (120, 150, 200)
    crop[12:45, 6:30] = BGR[top]
    crop[45:85, 8:28] = BGR[bottom]
    if height != 90:
        crop = cv2.resize(crop, (round(36 * height / 90), height))
    return crop


def vehicle(colour: str) -> np.ndarray:
    """A crop of a vehicle of one colour."""
    return np.full((40, 80, 3), BGR[colour], np.uint8)


@dataclass(frozen=True)
class _Spec:
    name: str
    camera: str
    label: str
    upper: str | None
    lower: str | None
    whole: str
    direction: str
    identity: int | None
    start: float
    end: float
    score: float
    lost: bool = False


# name, camera, label, upper, lower, whole, direction, identity, minutes from
# and to, score, and whether it was lost and recovered in the middle.
_TABLE = """
red-blue     gate  person  red     blue   red     left        1  0   2   0.9   lost
green-black  gate  person  green   black  green   right       2  10  12  0.8   -
red-black    yard  person  red     black  red     towards     1  20  22  0.7   -
white-car    yard  car     -       -      white   away        -  30  31  0.6   -
blue-truck   gate  truck   -       -      blue    stationary  -  40  41  0.4   -
yellow-grey  yard  person  yellow  grey   yellow  left        3  50  52  0.85  -
"""


def _spec(line: str) -> _Spec:
    name, camera, label, upper, lower, whole, direction, identity, *rest = line.split()
    start, end, score, lost = rest
    return _Spec(
        name,
        camera,
        label,
        None if upper == "-" else upper,
        None if lower == "-" else lower,
        whole,
        direction,
        None if identity == "-" else int(identity),
        float(start),
        float(end),
        float(score),
        lost == "lost",
    )


SPECS = tuple(_spec(line) for line in _TABLE.strip().splitlines())


@dataclass
class Scene:
    """The ids of what :func:`add_scene` stored."""

    tracks: dict[str, int] = field(default_factory=dict)
    events: dict[str, list[int]] = field(default_factory=dict)
    """Each track's events, in time order."""
    alerts: dict[str, int] = field(default_factory=dict)

    def of(self, *names: str) -> set[int]:
        """The event ids of these tracks."""
        return {event for name in names for event in self.events[name]}

    def first(self, name: str) -> int:
        """The first event (appeared) of a track."""
        return self.events[name][0]


def add_scene(db: Database, media: Path | None = None) -> Scene:
    """Store the scene of this module's doc; JPEG snapshots too with ``media``."""
    scene = Scene()
    with db.session() as session:
        for spec in SPECS:
            crop = (
                person(spec.upper, spec.lower)
                if spec.upper and spec.lower
                else vehicle(spec.whole)
            )
            look = describe([crop])
            assert look is not None
            track = Track(
                camera=spec.camera,
                tracker_id=len(scene.tracks) + 1,
                label=spec.label,
                first_seen=at(spec.start),
                last_seen=at(spec.end),
                best_score=spec.score,
                ended=True,
                identity_id=spec.identity,
                appearance=look.to_bytes(),
                colour=spec.whole,
                upper_colour=spec.upper,
                lower_colour=spec.lower,
                direction=spec.direction,
                size_class="medium",
            )
            session.add(track)
            session.flush()
            scene.tracks[spec.name] = track.id
            moments = [("appeared", spec.start, spec.score)]
            if spec.lost:
                middle = (spec.start + spec.end) / 2
                moments += [("lost", middle, 0.5), ("recovered", middle + 0.25, 0.6)]
            moments.append(("ended", spec.end, spec.score - 0.05))
            scene.events[spec.name] = []
            for kind, minute, score in moments:
                snapshot = f"snapshots/{spec.camera}/track-{track.id}-{kind}.jpg"
                event = Event(
                    track_id=track.id,
                    camera=spec.camera,
                    kind=kind,
                    time=at(minute),
                    label=spec.label,
                    score=round(score, 2),
                    x1=0.1,
                    y1=0.2,
                    x2=0.3,
                    y2=0.8,
                    snapshot=snapshot,
                    identity_id=spec.identity,
                    colour=spec.whole,
                    upper_colour=spec.upper,
                    lower_colour=spec.lower,
                    direction=spec.direction,
                )
                session.add(event)
                session.flush()
                scene.events[spec.name].append(event.id)
                if media is not None:
                    path = media / snapshot
                    path.parent.mkdir(parents=True, exist_ok=True)
                    cv2.imwrite(str(path), crop)

        for camera, start, end in (
            ("gate", 0, 7.5),
            ("gate", 7.5, 15),
            ("yard", 25, 35),
        ):
            session.add(
                Segment(
                    camera=camera,
                    start=at(start),
                    end=at(end),
                    path=f"recordings/{camera}/{start}.mp4",
                    bytes=1000,
                    sha256="0" * 64,
                    codec="h264",
                    frames=100,
                )
            )
        for key, track, rule, zone, line, camera in (
            ("dock", "red-blue", "dock-intrusion", "dock", None, "gate"),
            ("fence", "red-black", "fence-crossing", None, "fence", "yard"),
        ):
            alert = Alert(
                camera=camera,
                rule=rule,
                kind="restricted_area" if zone else "line_crossing",
                zone=zone,
                line=line,
                label="person",
                score=0.9,
                track_id=scene.tracks[track],
                start=at(1),
            )
            session.add(alert)
            session.flush()
            scene.alerts[key] = alert.id
    return scene
