"""Plain-English footage searches turned into event filters, saying what was used.

"man in a red jacket near the loading dock after 18:00" becomes an
:class:`~watchfloor.tracking.search.EventFilter` with label ``person``, upper
colour ``red``, the zone whose name the words match, and a time range; the
:class:`Interpretation` keeps which words gave which filter and which words
were not used, so a person can see how the text was read and correct it.

What is understood:

- colours (:data:`~watchfloor.tracking.appearance.COLOURS` and a few other
  names for them): before an upper garment (jacket, shirt, top, coat,
  hoodie...) the upper body's colour, before a lower one (trousers, jeans,
  skirt, shorts...) the lower body's, otherwise the whole object's;
- people (man, woman, person, people, someone, kid...) and vehicles (car,
  van, truck, bus, bike, motorbike...) as object classes;
- directions: "walking left", "going right", "towards the camera", "away
  from the camera", "standing still";
- the site's camera and zone names, whole ("loading dock" for
  ``loading-dock``) or by one of their words ("dock" for ``loading-dock``);
- times: today, yesterday, a weekday, a date (2024-05-01), "last hour",
  "past 3 days", "this morning", "last night", "after 18:00", "before 9am",
  "between 18:00 and 20:00", "around 6pm", in the given time zone.

Limitations:
    This is a parser of a small vocabulary, not a language model: it reads no
    grammar beyond a word's neighbours, and it cannot tell a garment's kind
    from the footage (a "red jacket" is a red upper body). No image-text model
    whose weights can be had offline from a package registry was found to
    match free text against crops instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from watchfloor.tracking.appearance import COLOURS
from watchfloor.tracking.search import EventFilter, SearchError


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


COLOUR_WORDS: dict[str, str] = {
    **{name: name for name in COLOURS},
    "gray": "grey",
    "silver": "grey",
    "navy": "blue",
    "maroon": "red",
    "burgundy": "red",
    "violet": "purple",
    "beige": "brown",
    "tan": "brown",
    "khaki": "brown",
}
UPPER_GARMENTS = _words(
    "jacket jackets shirt shirts tshirt tshirts top tops coat coats hoodie hoodies "
    "sweater sweaters jumper jumpers blouse blouses vest vests sweatshirt "
    "sweatshirts cardigan cardigans blazer blazers"
)
LOWER_GARMENTS = _words(
    "trousers pants jeans skirt skirts shorts leggings dress dresses"
)
PERSON_WORDS = _words(
    "man men woman women person persons people someone somebody anyone anybody kid "
    "kids child children boy boys girl girls guy guys lady ladies pedestrian "
    "pedestrians individual intruder intruders"
)
VEHICLE_WORDS: dict[str, tuple[str, ...]] = {
    "car": ("car",),
    "cars": ("car",),
    "van": ("car", "truck"),
    "vans": ("car", "truck"),
    "truck": ("truck",),
    "trucks": ("truck",),
    "lorry": ("truck",),
    "lorries": ("truck",),
    "bus": ("bus",),
    "buses": ("bus",),
    "bike": ("bicycle",),
    "bikes": ("bicycle",),
    "bicycle": ("bicycle",),
    "bicycles": ("bicycle",),
    "cyclist": ("bicycle",),
    "cyclists": ("bicycle",),
    "motorbike": ("motorcycle",),
    "motorbikes": ("motorcycle",),
    "motorcycle": ("motorcycle",),
    "motorcycles": ("motorcycle",),
    "scooter": ("motorcycle",),
    "vehicle": ("car", "truck", "bus", "motorcycle"),
    "vehicles": ("car", "truck", "bus", "motorcycle"),
}
MOTION_WORDS = _words(
    "walk walks walking walked go goes going went move moves moving moved head "
    "heads heading headed run runs running ran drive drives driving drove ride "
    "rides riding rode cycle cycles cycling travel travels travelling traveling "
    "come comes coming came cross crosses crossing crossed"
)
FILLER = _words(
    "a an the in on at with wearing wears wore dressed who that which was is are "
    "were be been and or of from by near nearby close to into inside outside "
    "through along past any all some show me find search for looking look seen "
    "spotted camera cameras cam zone area footage video videos clip clips event "
    "events please there his her their its dark light bright coloured colored "
    "what where when this"
)
# "the camera", "us" and "me" after towards: the direction, not a place.
_VIEWER = frozenset({"camera", "us", "me"})
# Words of a direction phrase that say nothing alone ("walking towards the dock").
_DIRECTION_FILLER = frozenset({"towards", "toward", "away"})
_UNITS = {
    "minute": timedelta(minutes=1),
    "minutes": timedelta(minutes=1),
    "min": timedelta(minutes=1),
    "mins": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "hours": timedelta(hours=1),
    "hr": timedelta(hours=1),
    "hrs": timedelta(hours=1),
    "day": timedelta(days=1),
    "days": timedelta(days=1),
    "week": timedelta(days=7),
    "weeks": timedelta(days=7),
}
_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "ten": 10,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
}
_WEEKDAYS = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
# Parts of a day, as local (start, end) hours; an end past 24 is the next day.
_DAY_PARTS = {
    "morning": (6, 12),
    "afternoon": (12, 18),
    "evening": (18, 24),
    "night": (18, 30),
    "tonight": (18, 30),
}
_TOKEN = re.compile(
    r"\d{4}-\d{2}-\d{2}"  # a date
    r"|\d{1,2}(?::\d{2})?\s?(?:am|pm)\b"  # 6pm, 6:30 pm
    r"|\d{1,2}:\d{2}"  # 18:00
    r"|[a-z0-9]+"
)
_CLOCK = re.compile(r"^(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s?(?P<ampm>am|pm)?$")


@dataclass(frozen=True)
class SiteNames:
    """The names a text may mention: the site's cameras and zones."""

    cameras: Sequence[str] = ()
    zones: Sequence[str] = ()


@dataclass(frozen=True)
class Phrase:
    """Words of the text and the filter they gave.

    Attributes:
        words: The words, as the text had them (lower case).
        field: The filter's field, e.g. ``upper_colour``.
        value: What it was set to, as text.
    """

    words: str
    field: str
    value: str


@dataclass(frozen=True)
class Interpretation:
    """How a text was read.

    Attributes:
        text: The text.
        filter: The filters it gave.
        phrases: Which words gave which filter, in the text's order.
        unused: Words that gave no filter (fillers such as "the" not counted).
    """

    text: str
    filter: EventFilter
    phrases: tuple[Phrase, ...]
    unused: tuple[str, ...]


@dataclass
class _Reading:
    """What the text has given so far."""

    tokens: list[str]
    used: list[bool]
    values: dict[str, Any] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    cameras: list[str] = field(default_factory=list)
    zones: list[str] = field(default_factory=list)
    phrases: list[tuple[int, Phrase]] = field(default_factory=list)
    day: date | None = None
    windows: list[tuple[time | None, time | None, bool]] = field(default_factory=list)
    """Clock windows on the day: (from, until, whether until is the next day)."""
    lower: list[datetime] = field(default_factory=list)

    def take(self, start: int, stop: int, field_name: str, value: str) -> int:
        """Mark ``tokens[start:stop]`` as used for a filter; returns ``stop``."""
        for i in range(start, stop):
            self.used[i] = True
        words = " ".join(self.tokens[start:stop])
        self.phrases.append((start, Phrase(words, field_name, value)))
        return stop

    def free(self, i: int) -> bool:
        return 0 <= i < len(self.tokens) and not self.used[i]


def interpret(
    text: str,
    names: SiteNames = SiteNames(),
    now: datetime | None = None,
    zone: tzinfo = UTC,
) -> Interpretation:
    """Read a plain-English search into event filters.

    Args:
        text: What the person typed.
        names: The site's camera and zone names.
        now: The time "today" and "last hour" are counted from (aware);
            default the current time.
        zone: The time zone of days and clock times in the text.

    Raises:
        SearchError: The text's times leave no time at all (as "after 18:00
            before 09:00").

    Example:
        >>> reading = interpret("woman in a red coat walking left")
        >>> reading.filter.given()
        {'labels': ('person',), 'upper_colour': 'red', 'direction': 'left'}
    """
    now = (now or datetime.now(UTC)).astimezone(zone)
    lowered = text.lower().replace("t-shirt", "tshirt").replace("'s", "")
    tokens = [token.replace(" ", "") for token in _TOKEN.findall(lowered)]
    reading = _Reading(tokens, [False] * len(tokens))

    _read_names(reading, names)
    _read_times(reading, now)
    _read_things(reading)
    _read_names(reading, names, partial=True)
    for i, token in enumerate(tokens):
        if token in FILLER or token in MOTION_WORDS or token in _DIRECTION_FILLER:
            reading.used[i] = True
    phrases = sorted(reading.phrases, key=lambda item: item[0])
    return Interpretation(
        text=text,
        filter=_filter(reading, now, zone),
        phrases=tuple(phrase for _, phrase in phrases),
        unused=tuple(
            t for t, used in zip(tokens, reading.used, strict=True) if not used
        ),
    )


def _name_words(name: str) -> tuple[str, ...]:
    return tuple(part for part in re.split(r"[^a-z0-9]+", name.lower()) if part)


def _read_names(reading: _Reading, names: SiteNames, partial: bool = False) -> None:
    """Camera and zone names: whole first, longest first; then by one word.

    Words that name both a camera and a zone are read as the camera when
    "camera" or "cam" follows them, else as the zone.
    """
    known = [("camera", n, _name_words(n)) for n in names.cameras]
    known += [("zone", n, _name_words(n)) for n in names.zones]
    tokens = reading.tokens
    if partial:
        for i, token in enumerate(tokens):
            if not reading.free(i) or token in FILLER or token.isdigit():
                continue
            for kind, name, words in known:
                if token in words:
                    _add_name(reading, kind, name, i, i + 1)
        return

    known.sort(key=lambda item: -len(item[2]))
    for kind, name, words in known:
        other = "zone" if kind == "camera" else "camera"
        shared = any(k == other and w == words for k, _, w in known)
        for start in range(len(tokens) - len(words) + 1):
            stop = start + len(words)
            if not words or tuple(tokens[start:stop]) != words:
                continue
            if not all(reading.free(i) for i in range(start, stop)):
                continue
            as_camera = tokens[stop : stop + 1] in (["camera"], ["cam"])
            if shared and as_camera != (kind == "camera"):
                continue
            _add_name(reading, kind, name, start, stop)


def _add_name(reading: _Reading, kind: str, name: str, start: int, stop: int) -> None:
    target = reading.cameras if kind == "camera" else reading.zones
    if name not in target:
        target.append(name)
    reading.take(start, stop, "cameras" if kind == "camera" else "zones", name)


def _read_things(reading: _Reading) -> None:
    """Colours with garments, people, vehicles and directions."""
    for i, token in enumerate(reading.tokens):
        if not reading.free(i):
            continue
        if token in COLOUR_WORDS:
            _read_colour(reading, i)
        elif token in PERSON_WORDS:
            _add_labels(reading, i, ("person",))
        elif token in VEHICLE_WORDS:
            _add_labels(reading, i, VEHICLE_WORDS[token])
        else:
            _read_direction(reading, i)


def _read_colour(reading: _Reading, i: int) -> None:
    tokens = reading.tokens
    colour = COLOUR_WORDS[tokens[i]]
    after = tokens[i + 1] if i + 1 < len(tokens) else ""
    if after in UPPER_GARMENTS:
        name, stop = "upper_colour", i + 2
    elif after in LOWER_GARMENTS:
        name, stop = "lower_colour", i + 2
    else:
        name, stop = "colour", i + 1
    if reading.values.get(name, colour) != colour:
        return  # a second, different colour for the same part: left unused
    reading.values[name] = colour
    reading.take(i, stop, name, colour)


def _add_labels(reading: _Reading, i: int, labels: tuple[str, ...]) -> None:
    for label in labels:
        if label not in reading.labels:
            reading.labels.append(label)
    reading.take(i, i + 1, "labels", ", ".join(labels))


def _read_direction(reading: _Reading, i: int) -> None:
    """A direction of travel at ``i``, with the motion word before it."""
    tokens = reading.tokens
    token = tokens[i]
    start, moving, via_to_the = _lead_in(reading, i)
    after = tokens[i + 1 : i + 4]
    direction: str | None = None
    stop = i + 1
    if token in ("left", "right") and (moving or via_to_the):
        direction = token
    elif token in ("leftwards", "rightwards"):
        direction = token.removesuffix("wards")
    elif token in ("towards", "toward"):
        if after[:1] == ["the"]:
            after, stop = after[1:], stop + 1
        if after[:1] and after[0] in _VIEWER:
            direction, stop = "towards", stop + 1
    elif token in ("approaching", "approach", "approaches", "approached"):
        direction = "towards"
    elif token == "away":
        # "walking away", "away from the camera"; not "away from the dock".
        the = after[1:2] == ["the"]
        viewer = after[2:3] if the else after[1:2]
        if after[:1] != ["from"]:
            direction = "away"
        elif viewer and viewer[0] in _VIEWER:
            direction, stop = "away", i + (4 if the else 3)
    elif token in ("stationary", "standing", "loitering", "still", "motionless"):
        direction = "stationary"
        if after[:1] == ["still"]:
            stop = i + 2
    if direction is None:
        return
    if reading.values.get("direction", direction) != direction:
        return
    reading.values["direction"] = direction
    reading.take(start if moving or via_to_the else i, stop, "direction", direction)


def _lead_in(reading: _Reading, i: int) -> tuple[int, bool, bool]:
    """Where the words leading to a direction at ``i`` start, as in "walking to
    the left": (their first index, whether a motion word is among them,
    whether "to the" is)."""
    j = i
    via_to_the = False
    the = reading.free(j - 1) and reading.tokens[j - 1] == "the"
    if the and reading.free(j - 2) and reading.tokens[j - 2] == "to":
        j, via_to_the = j - 2, True
    moving = reading.free(j - 1) and reading.tokens[j - 1] in MOTION_WORDS
    return (j - 1 if moving else j), moving, via_to_the


def _read_times(reading: _Reading, now: datetime) -> None:
    """Days, spans back from now, clock times and parts of a day."""
    tokens = reading.tokens
    today = now.date()
    i = 0
    while i < len(tokens):
        stop = _read_time_at(reading, i, now, today) if reading.free(i) else i
        i = max(stop, i + 1)


def _read_time_at(reading: _Reading, i: int, now: datetime, today: date) -> int:
    """Read a time phrase starting at ``i``; where it stops (``i`` if none)."""
    tokens = reading.tokens
    token = tokens[i]
    ahead = tokens[i + 1] if i + 1 < len(tokens) else ""
    clock = _clock(ahead)
    if token in ("today", "yesterday"):
        day = today if token == "today" else today - timedelta(days=1)
        return _set_day(reading, i, i + 1, day)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", token):
        try:
            return _set_day(reading, i, i + 1, date.fromisoformat(token))
        except ValueError:
            return i
    if token in _WEEKDAYS or (token == "last" and ahead in _WEEKDAYS):
        last = token == "last"
        back = (today.weekday() - _WEEKDAYS.index(ahead if last else token)) % 7
        if last and back == 0:
            back = 7
        return _set_day(reading, i, i + 2 if last else i + 1, today - timedelta(back))
    span = _span(tokens, i + 1) if token in ("last", "past") else None
    if span is not None:
        length, stop = span
        reading.lower.append(now - length)
        return reading.take(i, stop, "time", f"since {now - length:%Y-%m-%d %H:%M}")
    if _day_part(tokens, i) is not None:
        return _read_day_part(reading, i, today)
    if token in ("after", "since", "from") and clock is not None:
        reading.windows.append((clock, None, False))
        return reading.take(i, i + 2, "time", f"from {clock:%H:%M}")
    if token in ("before", "until", "till", "by", "to") and clock is not None:
        reading.windows.append((None, clock, False))
        return reading.take(i, i + 2, "time", f"until {clock:%H:%M}")
    if token == "between" and clock is not None:
        rest = tokens[i + 2 : i + 4]
        end = _clock(rest[1]) if len(rest) == 2 and rest[0] in ("and", "to") else None
        if end is not None:
            reading.windows.append((clock, end, end <= clock))
            return reading.take(
                i, i + 4, "time", f"from {clock:%H:%M} until {end:%H:%M}"
            )
    if token in ("around", "about", "at") and clock is not None:
        centre = datetime.combine(today, clock)
        early = (centre - timedelta(minutes=15)).time()
        late = (centre + timedelta(minutes=15)).time()
        reading.windows.append((early, late, late <= early))
        return reading.take(i, i + 2, "time", f"from {early:%H:%M} until {late:%H:%M}")
    return i


def _set_day(reading: _Reading, start: int, stop: int, day: date) -> int:
    reading.day = day
    return reading.take(start, stop, "time", f"on {day.isoformat()}")


def _span(tokens: list[str], i: int) -> tuple[timedelta, int] | None:
    """A length such as "hour", "3 hours" or "two days" at ``i``, and its end."""
    word = tokens[i] if i < len(tokens) else ""
    if word in _UNITS:
        return _UNITS[word], i + 1
    count = int(word) if word.isdigit() else _NUMBER_WORDS.get(word)
    unit = tokens[i + 1] if i + 1 < len(tokens) else ""
    if count is not None and unit in _UNITS:
        return count * _UNITS[unit], i + 2
    return None


def _day_part(tokens: list[str], i: int) -> str | None:
    """The part of a day named at ``i`` ("morning", "this evening", "last night")."""
    if tokens[i] in _DAY_PARTS:
        return tokens[i]
    word = tokens[i + 1] if i + 1 < len(tokens) else ""
    if tokens[i] in ("this", "last") and word in _DAY_PARTS:
        return word
    return None


def _read_day_part(reading: _Reading, i: int, today: date) -> int:
    part = _day_part(reading.tokens, i)
    assert part is not None
    start, end = _DAY_PARTS[part]
    first = reading.tokens[i]
    stop = i + 1 if first == part else i + 2
    if first == "last":
        reading.day = today - timedelta(days=1)
    elif first in ("this", "tonight"):
        reading.day = today
    reading.windows.append((time(start), time(end % 24), end >= 24))
    words = f"{start:02d}:00 until {end % 24:02d}:00"
    return reading.take(i, stop, "time", f"from {words}")


def _clock(word: str) -> time | None:
    """A clock time in ``word`` ("18:00", "6pm", "6:30am", "18"), else None."""
    if word == "noon":
        return time(12)
    if word == "midnight":
        return time(0)
    match = _CLOCK.match(word)
    if match is None:
        return None
    hour, minute = int(match["h"]), int(match["m"] or 0)
    if match["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["ampm"] == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _filter(reading: _Reading, now: datetime, zone: tzinfo) -> EventFilter:
    """The event filter of everything read; the clock's day is chosen here.

    Clock times without a day are on the latest day on which they have begun:
    "after 18:00" asked at 10:00 is yesterday evening. Every time phrase
    narrows the range: the latest start and the earliest end are kept.
    """
    lower, upper = list(reading.lower), []
    if reading.day is not None or reading.windows:
        day = reading.day or now.date()
        starts = [first for first, _, _ in reading.windows if first is not None]
        latest = max(starts, default=time(0))
        if reading.day is None and datetime.combine(day, latest, zone) > now:
            day -= timedelta(days=1)
        lower.append(datetime.combine(day, time(0), zone))
        upper.append(datetime.combine(day + timedelta(days=1), time(0), zone))
        for first, last, wraps in reading.windows:
            if first is not None:
                lower.append(datetime.combine(day, first, zone))
            if last is not None:
                end = datetime.combine(day, last, zone)
                upper.append(end + timedelta(days=1) if wraps else end)
                if wraps:
                    upper.remove(
                        datetime.combine(day + timedelta(days=1), time(0), zone)
                    )

    since = max(lower).astimezone(UTC) if lower else None
    until = min(upper).astimezone(UTC) if upper else None
    if since is not None and until is not None and since >= until:
        raise SearchError(
            f"the text's times leave no time: from {since.isoformat()} until "
            f"{until.isoformat()}; name one range, e.g. 'between 18:00 and 20:00'"
        )
    return EventFilter(
        cameras=tuple(reading.cameras),
        zones=tuple(reading.zones),
        labels=tuple(reading.labels),
        since=since,
        until=until,
        **reading.values,
    )
