"""Plain-English searches read into event filters, as a table of texts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from watchfloor.tracking.search import SearchError
from watchfloor.tracking.search_text import SiteNames, interpret

NAMES = SiteNames(
    cameras=("gate", "yard", "front-door"),
    zones=("dock", "loading-dock", "lawn", "north-gate", "north-bins"),
)
# A Wednesday, mid-morning.
NOW = datetime(2024, 5, 1, 10, 30, tzinfo=UTC)


def utc(day: int, hour: int, minute: int = 0, month: int = 5) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected", "unused"),
    [
        pytest.param(
            "man in a red jacket",
            {"labels": ("person",), "upper_colour": "red"},
            (),
            id="colour-of-an-upper-garment",
        ),
        pytest.param(
            "woman wearing blue jeans",
            {"labels": ("person",), "lower_colour": "blue"},
            (),
            id="colour-of-a-lower-garment",
        ),
        pytest.param(
            "someone in a grey hoodie and black trousers",
            {"labels": ("person",), "upper_colour": "grey", "lower_colour": "black"},
            (),
            id="both-garments",
        ),
        pytest.param(
            "kid in gray shorts", {"labels": ("person",), "lower_colour": "grey"}, (),
            id="another-name-of-a-colour",
        ),
        pytest.param(
            "person in green", {"labels": ("person",), "colour": "green"}, (),
            id="bare-colour",
        ),
        pytest.param(
            "white van", {"labels": ("car", "truck"), "colour": "white"}, (),
            id="vehicle-colour",
        ),
        pytest.param(
            "red car, blue truck",
            {"labels": ("car", "truck"), "colour": "red"},
            ("blue",),
            id="a-second-colour-is-not-used",
        ),
        pytest.param(
            "bikes and motorbikes", {"labels": ("bicycle", "motorcycle")}, (),
            id="two-vehicles",
        ),
        pytest.param(
            "people walking left", {"labels": ("person",), "direction": "left"}, (),
            id="walking-left",
        ),
        pytest.param(
            "car driving to the right", {"labels": ("car",), "direction": "right"}, (),
            id="to-the-right",
        ),
        pytest.param(
            "someone coming towards the camera",
            {"labels": ("person",), "direction": "towards"},
            (),
            id="towards-the-camera",
        ),
        pytest.param(
            "man walking away from the camera",
            {"labels": ("person",), "direction": "away"},
            (),
            id="away-from-the-camera",
        ),
        pytest.param(
            "person standing still", {"labels": ("person",), "direction": "stationary"},
            (), id="standing-still",
        ),
        pytest.param(
            "the man who left", {"labels": ("person",)}, ("left",),
            id="left-without-motion-is-not-a-direction",
        ),
        pytest.param(
            "person walking towards the lawn",
            {"labels": ("person",), "zones": ("lawn",)},
            (),
            id="towards-a-place-is-the-place",
        ),
        pytest.param(
            "near the loading dock", {"zones": ("loading-dock",)}, (),
            id="whole-zone-name",
        ),
        pytest.param(
            "near the loading-dock", {"zones": ("loading-dock",)}, (),
            id="zone-name-as-written",
        ),
        pytest.param(
            "by the dock", {"zones": ("dock",)}, (), id="a-whole-name-before-a-part"
        ),
        pytest.param(
            "at the front door", {"cameras": ("front-door",)}, (), id="camera-name"
        ),
        pytest.param(
            "on the gate camera", {"cameras": ("gate",)}, (), id="camera-word"
        ),
        pytest.param(
            "north", {"zones": ("north-gate", "north-bins")}, (),
            id="part-of-a-name-names-every-zone-it-is-in",
        ),
        pytest.param(
            "dog near the fence", {}, ("dog", "fence"), id="unknown-words-are-unused"
        ),
        pytest.param("", {}, (), id="empty"),
    ],
)  # fmt: skip
def test_what_the_words_become(
    text: str, expected: dict[str, Any], unused: tuple[str, ...]
) -> None:
    reading = interpret(text, NAMES, NOW)
    assert reading.filter.given() == expected
    assert reading.unused == unused


@pytest.mark.parametrize(
    ("text", "since", "until"),
    [
        pytest.param("today", utc(1, 0), utc(2, 0), id="today"),
        pytest.param("yesterday", utc(30, 0, month=4), utc(1, 0), id="yesterday"),
        pytest.param("in the last hour", utc(1, 9, 30), None, id="last-hour"),
        pytest.param("past 3 hours", utc(1, 7, 30), None, id="past-hours"),
        pytest.param("last two days", utc(29, 10, 30, month=4), None, id="days"),
        pytest.param(
            "after 18:00", utc(30, 18, month=4), utc(1, 0), id="after-a-time-to-come"
        ),
        pytest.param("after 8am", utc(1, 8), utc(2, 0), id="after-a-time-passed"),
        pytest.param("before 9am", utc(1, 0), utc(1, 9), id="before"),
        pytest.param(
            "yesterday after 6pm", utc(30, 18, month=4), utc(1, 0), id="day-and-time"
        ),
        pytest.param(
            "between 18:00 and 20:00",
            utc(30, 18, month=4),
            utc(30, 20, month=4),
            id="between",
        ),
        pytest.param(
            "between 22:00 and 02:00",
            utc(30, 22, month=4),
            utc(1, 2),
            id="between-past-midnight",
        ),
        pytest.param("around 9:30", utc(1, 9, 15), utc(1, 9, 45), id="around"),
        pytest.param("this morning", utc(1, 6), utc(1, 12), id="this-morning"),
        pytest.param("last night", utc(30, 18, month=4), utc(1, 6), id="last-night"),
        pytest.param("on monday", utc(29, 0, month=4), utc(30, 0, month=4), id="day"),
        pytest.param(
            "last wednesday", utc(24, 0, month=4), utc(25, 0, month=4), id="last-day"
        ),
        pytest.param("2024-04-20", utc(20, 0, month=4), utc(21, 0, month=4), id="date"),
        pytest.param(
            "today after 9am in the last hour", utc(1, 9, 30), utc(2, 0), id="narrowest"
        ),
    ],
)
def test_time_words(text: str, since: datetime, until: datetime | None) -> None:
    reading = interpret(text, NAMES, NOW)
    assert (reading.filter.since, reading.filter.until) == (since, until)
    assert reading.unused == ()


def test_clock_times_are_in_the_given_time_zone() -> None:
    paris = ZoneInfo("Europe/Paris")  # UTC+2 in May
    reading = interpret("after 18:00", NAMES, NOW, paris)
    assert reading.filter.since == utc(30, 16, month=4)
    assert reading.filter.until == utc(30, 22, month=4)


def test_phrases_say_which_words_gave_which_filter() -> None:
    reading = interpret(
        "man in a red jacket near the loading dock after 18:00", NAMES, NOW
    )
    assert [(p.words, p.field, p.value) for p in reading.phrases] == [
        ("man", "labels", "person"),
        ("red jacket", "upper_colour", "red"),
        ("loading dock", "zones", "loading-dock"),
        ("after 18:00", "time", "from 18:00"),
    ]


def test_a_camera_and_a_zone_of_the_same_name() -> None:
    names = SiteNames(cameras=("dock",), zones=("dock",))
    assert interpret("at the dock", names, NOW).filter.given() == {"zones": ("dock",)}
    assert interpret("dock camera", names, NOW).filter.given() == {"cameras": ("dock",)}


def test_times_that_leave_no_time_are_refused() -> None:
    with pytest.raises(SearchError, match="leave no time"):
        interpret("yesterday in the last hour", NAMES, NOW)
