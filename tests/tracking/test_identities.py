"""The cross-camera resolver on constructed summaries: topology, conflicts,
global assignment, ground points and ambiguity."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from pydantic import ValidationError

from watchfloor.tracking.appearance import DESCRIPTOR_SIZE
from watchfloor.tracking.appearance import appearance_distance as d
from watchfloor.tracking.identities import (
    IdentityResolver,
    IdentitySettings,
    Topology,
    TrackSummary,
    resolve_in_batches,
)

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def look(**shares: float) -> np.ndarray:
    """A descriptor with the given shares of bins (``b0=0.5``) in each band."""
    half = DESCRIPTOR_SIZE // 2
    values = np.zeros(DESCRIPTOR_SIZE, np.float32)
    for name, share in shares.items():
        values[int(name[1:])] += share
        values[half + int(name[1:])] += share
    values[:half] /= values[:half].sum()
    values[half:] /= values[half:].sum()
    return values


RED, BLUE, GREEN = look(b0=1), look(b8=1), look(b16=1)


def seen(key: int, camera: str, start: float, end: float, lookalike: np.ndarray):
    return TrackSummary(
        key,
        camera,
        "person",
        T0 + timedelta(seconds=start),
        T0 + timedelta(seconds=end),
        lookalike,
    )


OVERLAP = Topology(overlaps=[["a", "b"]])
LINKED = Topology.model_validate(
    {"links": [{"from": "a", "to": "b", "min_s": 10, "max_s": 30}]}
)


def identities(topology: Topology, *batches: list[TrackSummary]) -> dict[int, int]:
    resolver = IdentityResolver(topology, IdentitySettings())
    found: dict[int, int] = {}
    for batch in batches:
        for assignment in resolver.resolve(batch):
            found[assignment.summary.key] = assignment.identity
    return found


def same(found: dict[int, int], a: int, b: int) -> bool:
    return found[a] == found[b]


@pytest.mark.parametrize(
    ("start", "end", "joined"),
    [
        pytest.param(25, 35, True, id="arrives-within-the-window"),
        pytest.param(15, 20, True, id="at-the-shortest-transit"),
        pytest.param(12, 20, False, id="too-soon"),
        pytest.param(50, 60, False, id="too-late"),
    ],
)
def test_a_linked_camera_joins_within_its_transit_window(
    start: float, end: float, joined: bool
) -> None:
    found = identities(
        LINKED, [seen(1, "a", 0, 5, RED)], [seen(2, "b", start, end, RED)]
    )
    assert same(found, 1, 2) is joined


def test_a_link_leads_one_way_unless_both_ways() -> None:
    back = [seen(1, "b", 0, 5, RED)], [seen(2, "a", 20, 25, RED)]
    assert not same(identities(LINKED, *back), 1, 2)
    both = Topology.model_validate(
        {"links": [{"from": "a", "to": "b", "max_s": 30, "both_ways": True}]}
    )
    assert same(identities(both, *back), 1, 2)


@pytest.mark.parametrize(
    ("start", "joined"),
    [
        pytest.param(3, True, id="seen-together"),
        pytest.param(5.5, True, id="within-the-slack"),
        pytest.param(8, False, id="after-the-slack"),
    ],
)
def test_an_overlapping_camera_joins_at_the_same_time(
    start: float, joined: bool
) -> None:
    found = identities(OVERLAP, [seen(1, "a", 0, 5, RED), seen(2, "b", start, 10, RED)])
    assert same(found, 1, 2) is joined


def standing(
    key: int,
    camera: str,
    start: float,
    end: float,
    colours: np.ndarray,
    where: tuple[float, float],
) -> TrackSummary:
    """Someone standing at ``where`` (normalised), their feet seen twice a second."""
    times = np.arange(start, end + 0.01, 0.5)
    path = tuple(((T0 + timedelta(seconds=t)).timestamp(), *where) for t in times)
    return replace(seen(key, camera, start, end, colours), path=path)


@pytest.mark.parametrize(
    ("start", "where", "joined"),
    [
        pytest.param(11, (0.52, 0.5), True, id="soon-and-where-it-was-last"),
        pytest.param(20, (0.52, 0.5), False, id="too-late"),
        pytest.param(11, (0.8, 0.5), False, id="somewhere-else"),
    ],
)
def test_a_track_may_reappear_in_its_own_camera(
    start: float, where: tuple[float, float], joined: bool
) -> None:
    # One camera, no topology needed: the person was hidden for a moment.
    found = identities(
        Topology(),
        [standing(1, "a", 0, 10, RED, (0.5, 0.5))],
        [standing(2, "a", start, start + 5, RED, where)],
    )
    assert same(found, 1, 2) is joined


def test_colours_alone_must_agree_more_across_cameras_than_in_one() -> None:
    # The same two looks, 0.23 apart: too far for a linked camera, where only
    # colours vouch for the join; near enough for a track seen again in its
    # own camera, soon after and where the other was last.
    settings = IdentitySettings()
    dull = look(b0=0.9, b8=0.1)
    assert settings.max_distance < d(RED, dull) < settings.reappear_max_distance
    linked = identities(
        LINKED, [seen(1, "a", 0, 10, RED)], [seen(2, "b", 25, 35, dull)]
    )
    assert not same(linked, 1, 2)
    again = replace(standing(2, "a", 11, 15, RED, (0.52, 0.5)), descriptor=dull)
    reappeared = identities(
        Topology(), [standing(1, "a", 0, 10, RED, (0.5, 0.5))], [again]
    )
    assert same(reappeared, 1, 2)


@pytest.mark.parametrize(
    ("exited", "joined"),
    [
        pytest.param(False, True, id="hidden-at-the-side"),
        pytest.param(True, False, id="walked-out-at-the-side"),
    ],
)
def test_whoever_comes_in_where_a_track_walked_out_is_someone_else(
    exited: bool, joined: bool
) -> None:
    # Dressed alike, the second comes in 1 s later where the first was last:
    # seen again after a moment hidden, unless the first walked out of view.
    gone = replace(standing(1, "a", 0, 10, RED, (0.99, 0.5)), exited=exited)
    found = identities(Topology(), [gone], [standing(2, "a", 11, 15, RED, (0.98, 0.5))])
    assert same(found, 1, 2) is joined


def test_reappearing_can_be_turned_off() -> None:
    resolver = IdentityResolver(Topology(), IdentitySettings(reappear_max_s=None))
    first = resolver.resolve([standing(1, "a", 0, 10, RED, (0.5, 0.5))])
    again = resolver.resolve([standing(2, "a", 11, 15, RED, (0.5, 0.5))])
    assert first[0].identity != again[0].identity


def test_a_linked_camera_cannot_be_seen_at_the_same_time() -> None:
    found = identities(LINKED, [seen(1, "a", 0, 20, RED), seen(2, "b", 15, 25, RED)])
    assert not same(found, 1, 2)


def test_never_the_same_camera_at_the_same_time() -> None:
    # Two people alike in camera a at once; camera b saw one of them.
    found = identities(
        OVERLAP,
        [seen(1, "b", 0, 10, RED)],
        [seen(2, "a", 2, 9, RED), seen(3, "a", 2, 9, RED)],
    )
    assert not same(found, 2, 3)


def test_an_identity_in_one_camera_does_not_take_a_second_track_there() -> None:
    found = identities(
        OVERLAP,
        [seen(1, "a", 0, 10, RED), seen(2, "b", 1, 10, RED)],
        [seen(3, "b", 5, 12, RED)],
    )
    assert same(found, 1, 2)
    assert not same(found, 1, 3)


def test_the_assignment_is_global() -> None:
    # 3 is closest to 1, but 4 can go nowhere else: joining by the closest
    # pair first would give 3 to 1 and leave 4 alone; the assignment gives
    # 4 to 1 and 3 to 2.
    one, two = RED, look(b0=0.7, b8=0.3)
    three, four = look(b0=0.97, b8=0.03), look(b0=0.95, b16=0.05)
    settings = IdentitySettings(margin=0, max_distance=0.35)
    limit = settings.max_distance
    assert d(three, one) < d(four, one) < d(three, two) < limit < d(four, two)

    resolver = IdentityResolver(OVERLAP, settings)
    first = resolver.resolve([seen(1, "a", 0, 10, one), seen(2, "a", 0, 10, two)])
    second = resolver.resolve([seen(3, "b", 1, 9, three), seen(4, "b", 1, 9, four)])
    found = {a.summary.key: a.identity for a in first + second}
    assert same(found, 4, 1)
    assert same(found, 3, 2)


def test_a_look_alike_is_left_unjoined_rather_than_guessed() -> None:
    # 3 is as close to 1 as to 2, who are in camera a at the same time.
    one, two, three = look(b0=0.75, b1=0.25), look(b0=0.25, b1=0.75), look(b0=1, b1=1)
    assert d(three, one) == pytest.approx(d(three, two))
    found = identities(
        OVERLAP,
        [seen(1, "a", 0, 10, one), seen(2, "a", 0, 10, two)],
        [seen(3, "b", 1, 9, three)],
    )
    assert not same(found, 3, 1) and not same(found, 3, 2)


@pytest.mark.parametrize(
    ("other", "joined"),
    [
        pytest.param(look(b0=0.98, b1=0.02), False, id="just-over-the-limit"),
        pytest.param(look(b0=0.55, b1=0.45), True, id="clearly-farther"),
    ],
)
def test_a_look_alike_just_too_unlike_to_join_still_makes_a_join_ambiguous(
    other: np.ndarray, joined: bool
) -> None:
    # 3 is within max_distance of 1; 2, in camera a with 1, is over it but
    # within the margin of 3's distance to 1, or clearly farther.
    one, three = look(b0=0.7, b1=0.3), look(b0=0.86, b1=0.14)
    settings = IdentitySettings()
    assert d(three, one) < settings.max_distance < d(three, other)
    close = d(three, other) < d(three, one) + settings.margin
    assert close is not joined
    found = identities(
        OVERLAP,
        [seen(1, "a", 0, 10, one), seen(2, "a", 0, 10, other)],
        [seen(3, "b", 1, 9, three)],
    )
    assert same(found, 3, 1) is joined
    assert not same(found, 3, 2)


SLAB = [[0.2, 0.2], [0.8, 0.2], [0.8, 0.8], [0.2, 0.8]]
# Cameras a and b see one floor the same way (their ground points agree);
# c overlaps b too, without ground points.
ON_GROUND = Topology.model_validate(
    {
        "overlaps": [
            {"cameras": ["a", "b"], "ground": {"a": SLAB, "b": SLAB}},
            ["b", "c"],
        ]
    }
)


@pytest.mark.parametrize(
    ("where", "joined"),
    [
        pytest.param((0.5, 0.5), True, id="at-the-same-place"),
        pytest.param((0.7, 0.5), False, id="elsewhere"),
    ],
)
def test_ground_points_let_a_less_certain_look_join_at_the_same_place(
    where: tuple[float, float], joined: bool
) -> None:
    # Too unlike for colours alone, alike enough with the feet agreeing.
    one, two = look(b0=0.7, b1=0.3), look(b0=1)
    settings = IdentitySettings()
    assert settings.max_distance < d(one, two) < settings.max_distance_on_ground
    found = identities(
        ON_GROUND,
        [standing(1, "a", 0, 10, one, (0.5, 0.5))],
        [standing(2, "b", 1, 9, two, where)],
    )
    assert same(found, 1, 2) is joined


def test_feet_in_two_places_at_once_are_two_people_however_alike() -> None:
    found = identities(
        ON_GROUND,
        [standing(1, "a", 0, 10, RED, (0.3, 0.5))],
        [standing(2, "b", 1, 9, RED, (0.7, 0.5))],
    )
    assert not same(found, 1, 2)


def test_a_look_alike_over_the_limit_is_no_rival_where_the_ground_vouches() -> None:
    # 3 in camera b stands where 1 stands in camera a; 2 is in camera c,
    # whose floor nothing maps, and just over the limit for colours alone.
    one, two = look(b0=0.7, b1=0.3), look(b0=0.98, b1=0.02)
    three = look(b0=0.86, b1=0.14)
    settings = IdentitySettings()
    assert settings.max_distance < d(three, two) < d(three, one) + settings.margin
    found = identities(
        ON_GROUND,
        [standing(1, "a", 0, 10, one, (0.5, 0.5)), seen(2, "c", 0, 10, two)],
        [standing(3, "b", 1, 9, three, (0.5, 0.5))],
    )
    assert same(found, 3, 1)
    assert not same(found, 3, 2)


def test_a_clear_winner_is_joined() -> None:
    one, two = look(b0=1), look(b0=0.25, b1=0.75)
    found = identities(
        OVERLAP,
        [seen(1, "a", 0, 10, one), seen(2, "a", 0, 10, two)],
        [seen(3, "b", 1, 9, look(b0=0.98, b1=0.02))],
    )
    assert same(found, 3, 1)


def test_different_colours_never_join() -> None:
    found = identities(OVERLAP, [seen(1, "a", 0, 10, RED), seen(2, "b", 1, 9, GREEN)])
    assert not same(found, 1, 2)


def test_other_classes_never_join() -> None:
    car = TrackSummary(2, "b", "car", T0, T0 + timedelta(seconds=9), RED)
    found = identities(OVERLAP, [seen(1, "a", 0, 10, RED), car])
    assert not same(found, 1, 2)


def test_tracks_ending_in_one_batch_join_each_other_and_chain() -> None:
    # Three overlapping cameras see one person; all three end together.
    three = Topology(overlaps=[["a", "b", "c"]])
    found = identities(
        three,
        [
            seen(1, "a", 0, 10, RED),
            seen(2, "b", 1, 10, RED),
            seen(3, "c", 2, 10, RED),
        ],
    )
    assert len({found[1], found[2], found[3]}) == 1


def test_without_topology_any_camera_within_the_unlinked_window() -> None:
    empty = Topology()
    later = [seen(1, "a", 0, 5, RED)], [seen(2, "b", 100, 110, RED)]
    assert same(identities(empty, *later), 1, 2)
    resolver = IdentityResolver(empty, IdentitySettings(unlinked_max_s=None))
    assignments = resolver.resolve(later[0]) + resolver.resolve(later[1])
    assert assignments[0].identity != assignments[1].identity


def test_without_a_descriptor_a_track_stays_alone() -> None:
    blind = TrackSummary(2, "b", "person", T0, T0 + timedelta(seconds=9), None)
    found = identities(OVERLAP, [seen(1, "a", 0, 10, RED), blind])
    assert not same(found, 1, 2)


def test_old_identities_are_forgotten_past_the_longest_link() -> None:
    resolver = IdentityResolver(LINKED, IdentitySettings())
    resolver.resolve([seen(1, "a", 0, 5, RED)])
    resolver.resolve([seen(2, "a", 100, 105, BLUE)])
    assert len(resolver.identities) == 1


def test_batches_follow_the_end_times() -> None:
    resolver = IdentityResolver(OVERLAP, IdentitySettings())
    summaries = [seen(1, "a", 0, 10, RED), seen(2, "b", 1, 30, RED)]
    assignments = resolve_in_batches(resolver, summaries, every_s=2.0)
    assert [a.joined for a in assignments] == [False, True]
    assert assignments[1].distance == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    ("topology", "message"),
    [
        ({"overlaps": [["a"]]}, "at least two"),
        ({"links": [{"from": "a", "to": "a", "max_s": 5}]}, "to itself"),
        ({"links": [{"from": "a", "to": "b", "min_s": 9, "max_s": 5}]}, "below"),
        ({"links": [{"from": "a", "to": "b"}]}, "max_s"),
    ],
)
def test_bad_topologies_are_refused(topology: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Topology.model_validate(topology)
