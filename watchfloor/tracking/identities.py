"""Cross-camera identities: joining tracks of different cameras into one object.

A finished track becomes a :class:`TrackSummary` (camera, class, time span,
appearance). The :class:`IdentityResolver` takes tracks in batches (those
that ended since the last batch) and gives each one an identity, either an
existing one it joins or a new one.

A track may join an identity only where the site's topology allows it:

- an **overlapping** camera (one that sees the same place) while the identity
  is there too, give or take ``overlap_slack_s``;
- a **linked** camera (``links``: from one camera to another in
  ``min_s``..``max_s`` seconds) within that transit window;
- with no topology at all, any other camera within ``unlinked_max_s``;
- its own camera again, within ``reappear_max_s`` of the identity's last track
  there ending and ``reappear_distance`` of where that track was last seen
  (an occlusion, or detections missed for longer than the tracker waits),
  unless that track was last seen walking out of the picture (its box cut by
  the border): whoever comes in there next is taken for someone else;

and never when the identity is in the same camera at the same time, nor in
another camera that does not overlap this one at the same time (nobody is in
two places at once).

Among the allowed joins, the choice is global: one assignment (the Hungarian
method) over the whole batch, tracks against identities and against each
other, with appearance distance as the cost. A join needs a distance under
``max_distance`` (appearance alone, across cameras), ``reappear_max_distance``
(in one camera, seen again soon after and close by) or
``max_distance_on_ground`` (overlapping cameras whose ground points put both
tracks' feet at the same place at once), and it must be clear: when a
second candidate is within ``margin`` of the chosen one, for the track or
for the identity, the track starts an identity of its own rather than guess.
For a join on colours alone, a candidate counts there even when it is
itself just over the limit: a look-alike at 0.16 beside a join at 0.14 is
as ambiguous as one at 0.14. A join the ground points vouch for is judged
against the candidates allowed: a look-alike somewhere else is no rival to
someone seen at the same place.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count
from typing import Any

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.optimize import linear_sum_assignment

from watchfloor.tracking.appearance import appearance_distance

log = logging.getLogger(__name__)


class CameraLink(BaseModel):
    """One camera leads to another: what leaves the first reaches the second."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    source: str = Field(alias="from", description="The camera an object leaves.")
    to: str = Field(description="The camera it reaches next.")
    min_s: float = Field(
        0.0, ge=0, description="Shortest transit, seconds from leaving to arriving."
    )
    max_s: float = Field(gt=0, description="Longest transit, in seconds.")
    both_ways: bool = Field(
        False, description="The way back, from 'to' to 'from', takes as long."
    )

    @model_validator(mode="after")
    def _check(self) -> CameraLink:
        if self.max_s < self.min_s:
            raise ValueError(
                f"link {self.source} -> {self.to}: max_s {self.max_s} is below "
                f"min_s {self.min_s}"
            )
        if self.source == self.to:
            raise ValueError(
                f"link {self.source} -> {self.to} joins a camera to itself; a link "
                "is between two cameras"
            )
        return self


Point = tuple[float, float]


class Overlap(BaseModel):
    """Cameras whose views overlap, and optionally where their ground meets.

    ``ground`` gives, for two or more of the cameras, the same four or more
    points of the ground (say the corners of a paving slab or a parking
    bay) as each camera sees them, in normalised picture coordinates. From
    them Watchfloor maps one camera's floor onto the other's, and then two
    tracks seen at once are the same object only where their feet are at the
    same place.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    cameras: list[str] = Field(description="Two or more cameras that overlap.")
    ground: dict[str, list[Point]] = Field(
        default_factory=dict,
        description=(
            "Per camera, the same ground points (at least 4, in the same "
            "order) as that camera sees them, in normalised coordinates."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _names_alone(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {"cameras": value}
        return value

    @model_validator(mode="after")
    def _check(self) -> Overlap:
        if len(set(self.cameras)) < 2:
            raise ValueError(
                f"overlap group {self.cameras} names {len(set(self.cameras))} "
                "camera(s); a group needs at least two"
            )
        counts = {len(points) for points in self.ground.values()}
        for camera, points in self.ground.items():
            if camera not in self.cameras:
                raise ValueError(
                    f"overlap ground points for camera {camera!r}, which is not "
                    f"in the group {self.cameras}"
                )
            if len(points) < 4:
                raise ValueError(
                    f"overlap ground points for camera {camera!r}: {len(points)} "
                    "given; at least 4 are needed to map one floor onto another"
                )
            if any(not (0 <= x <= 1 and 0 <= y <= 1) for x, y in points):
                raise ValueError(
                    f"overlap ground points for camera {camera!r} must be "
                    "normalised picture coordinates between 0 and 1"
                )
        if len(counts) > 1:
            raise ValueError(
                "overlap ground points: every camera must give the same number "
                f"of points, in the same order (got {sorted(counts)})"
            )
        if len(self.ground) == 1:
            raise ValueError(
                "overlap ground points are given for one camera only; give the "
                "same points as seen by at least two"
            )
        return self


class Topology(BaseModel):
    """Which cameras lead to which, and which see the same place."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    links: list[CameraLink] = Field(
        default_factory=list,
        description="Transits between cameras: [{from, to, min_s, max_s}].",
    )
    overlaps: list[Overlap] = Field(
        default_factory=list,
        description=(
            "Groups of cameras whose views overlap: an object may be in all of "
            "them at once. Each is a list of camera names, or {cameras, "
            "ground} with the same ground points as each camera sees them."
        ),
    )

    @property
    def empty(self) -> bool:
        return not self.links and not self.overlaps

    def cameras(self) -> set[str]:
        """Every camera the topology names."""
        names = {name for group in self.overlaps for name in group.cameras}
        for link in self.links:
            names.update((link.source, link.to))
        return names

    def overlap(self, a: str, b: str) -> bool:
        """Whether cameras ``a`` and ``b`` see the same place."""
        return a != b and any(
            a in group.cameras and b in group.cameras for group in self.overlaps
        )

    def ground_map(self, a: str, b: str) -> np.ndarray | None:
        """The homography taking camera ``a``'s floor to camera ``b``'s, in
        normalised coordinates; ``None`` when no ground points relate them."""
        for group in self.overlaps:
            if a in group.ground and b in group.ground:
                source = np.array(group.ground[a], dtype=np.float64)
                target = np.array(group.ground[b], dtype=np.float64)
                matrix, _ = cv2.findHomography(source, target)
                return matrix if matrix is not None else None
        return None

    def transits(self, a: str, b: str) -> list[tuple[float, float]]:
        """The transit windows, in seconds, from camera ``a`` to camera ``b``."""
        windows = []
        for link in self.links:
            if (link.source, link.to) == (a, b) or (
                link.both_ways and (link.to, link.source) == (a, b)
            ):
                windows.append((link.min_s, link.max_s))
        return windows

    def horizon_s(self, unlinked_max_s: float | None) -> float:
        """How long after its last summary an identity can still be joined."""
        longest = max((link.max_s for link in self.links), default=0.0)
        if self.empty and unlinked_max_s is not None:
            longest = unlinked_max_s
        return longest


class IdentitySettings(BaseModel):
    """How tracks of different cameras are joined into identities."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Join tracks across cameras.")
    max_distance: float = Field(
        0.15,
        gt=0,
        le=1,
        description=(
            "Largest appearance distance (0: the same colours, 1: none in "
            "common) at which tracks of two cameras may be the same object "
            "on appearance alone (linked cameras, overlapping ones without "
            "ground points, any two without a topology). Strict: people "
            "dressed alike are common, and nothing else vouches for the join."
        ),
    )
    max_distance_on_ground: float = Field(
        0.45,
        gt=0,
        le=1,
        description=(
            "The same, for overlapping cameras with ground points when the "
            "two tracks' feet were at the same place at the same time: that "
            "agreement lets a less certain appearance through, though not "
            "any: two people walking side by side are at the same place too."
        ),
    )
    margin: float = Field(
        0.05,
        ge=0,
        le=1,
        description=(
            "A join is made only when no other candidate is within this "
            "distance of the best (for a join on colours alone, even one "
            "just too unlike to join itself): look-alikes stay apart rather "
            "than be guessed. 0: the assignment alone decides."
        ),
    )
    overlap_slack_s: float = Field(
        1.0,
        ge=0,
        description=(
            "Overlapping cameras: how far apart in time two summaries may be "
            "and still count as seen together."
        ),
    )
    unlinked_max_s: float | None = Field(
        600.0,
        gt=0,
        description=(
            "Without any topology: any camera may lead to any other within "
            "this many seconds. Unset: with no topology nothing is joined."
        ),
    )
    reappear_max_s: float | None = Field(
        3.0,
        gt=0,
        description=(
            "Within one camera: a track that starts at most this many seconds "
            "after another ended, where that one was last seen (see "
            "reappear_distance), may be the same object seen again after an "
            "occlusion or missed detections. Unset: tracks of one camera are "
            "joined only through another camera."
        ),
    )
    reappear_max_distance: float = Field(
        0.25,
        gt=0,
        le=1,
        description=(
            "The same as max_distance, for a track seen again in its own "
            "camera (see reappear_max_s): seen again soon after and where "
            "the other was last, a less certain appearance may join."
        ),
    )
    reappear_distance: float = Field(
        0.1,
        gt=0,
        le=1,
        description=(
            "Within one camera: how far, as a share of the picture, a track "
            "may start from where the earlier one was last seen and still be "
            "that object seen again."
        ),
    )
    resolve_every_s: float = Field(
        2.0, gt=0, description="Seconds between two batches of the live resolver."
    )
    ground_tolerance: float = Field(
        0.08,
        gt=0,
        le=1,
        description=(
            "Overlapping cameras with ground points: two tracks seen at once "
            "are the same object only when their feet, mapped onto one "
            "camera's floor, are on average within this share of its picture."
        ),
    )


@dataclass(frozen=True)
class TrackSummary:
    """One finished track as the resolver sees it.

    Attributes:
        key: The track's id (its database row, or any unique key in replay).
        camera: Its camera.
        label: Its object class.
        start: When it was first seen (UTC).
        end: When it was last seen (UTC).
        descriptor: Its appearance descriptor; ``None``: it never joins.
        path: Where its feet were: ``(POSIX seconds, x, y)`` in normalised
            picture coordinates, in time order (a few a second are enough).
        exited: It was last seen cut by its picture's border, walking out of
            view: a track starting there soon after is someone coming in,
            not it seen again.
    """

    key: int
    camera: str
    label: str
    start: datetime
    end: datetime
    descriptor: np.ndarray | None = field(default=None, compare=False, repr=False)
    path: tuple[tuple[float, float, float], ...] = field(
        default=(), compare=False, repr=False
    )
    exited: bool = False


@dataclass
class IdentityState:
    """An identity the resolver can still join summaries to."""

    id: int
    label: str
    summaries: list[TrackSummary] = field(default_factory=list)

    @property
    def last_seen(self) -> datetime:
        return max(s.end for s in self.summaries)


@dataclass(frozen=True)
class Assignment:
    """What the resolver decided for one summary.

    Attributes:
        summary: The summary.
        identity: The identity it now belongs to.
        joined: True when that identity existed or was started by another
            summary (it joined), False when it started it.
        distance: The appearance distance of the join; ``None`` if not joined.
    """

    summary: TrackSummary
    identity: int
    joined: bool
    distance: float | None = None


def _gap_s(a: TrackSummary, b: TrackSummary) -> float:
    """Seconds between two time spans; negative when they overlap."""
    later_start = max(a.start, b.start)
    earlier_end = min(a.end, b.end)
    return (later_start - earlier_end).total_seconds()


class IdentityResolver:
    """Gives each finished track an identity across cameras (see the module).

    Args:
        topology: The site's camera topology.
        settings: Thresholds.
        allocate: Called with the summary that starts a new identity; returns
            that identity's id. Default: 1, 2, 3...

    Example:
        >>> resolver = IdentityResolver(Topology(), IdentitySettings())
        >>> [a.identity for a in resolver.resolve([])]
        []
    """

    def __init__(
        self,
        topology: Topology,
        settings: IdentitySettings,
        allocate: Callable[[TrackSummary], int] | None = None,
    ) -> None:
        self.topology = topology
        self.settings = settings
        counter = count(1)
        self._allocate = allocate or (lambda _summary: next(counter))
        self.identities: dict[int, IdentityState] = {}
        self._horizon = timedelta(
            seconds=max(
                topology.horizon_s(settings.unlinked_max_s),
                settings.reappear_max_s or 0.0,
            )
            + settings.overlap_slack_s
        )
        self._ground: dict[tuple[str, str], np.ndarray | None] = {}

    def related(self, earlier: TrackSummary, later: TrackSummary) -> bool:
        """Whether the topology lets ``later`` be the same object as ``earlier``.

        Both orders are tried: ``earlier`` need not have started first.
        """
        if earlier.label != later.label:
            return False
        gap = _gap_s(earlier, later)
        if earlier.camera == later.camera:
            return self._reappears(earlier, later, gap)
        if self.topology.overlap(earlier.camera, later.camera):
            return gap <= self.settings.overlap_slack_s
        if gap < 0:
            return False
        if self.topology.empty:
            limit = self.settings.unlinked_max_s
            return limit is not None and gap <= limit
        first, second = sorted((earlier, later), key=lambda s: s.start)
        return any(
            low <= gap <= high
            for low, high in self.topology.transits(first.camera, second.camera)
        )

    def _reappears(self, a: TrackSummary, b: TrackSummary, gap: float) -> bool:
        """Whether, in one camera, the later of ``a`` and ``b`` may be the
        earlier seen again: soon after, and where it was last seen."""
        limit = self.settings.reappear_max_s
        if limit is None or not 0 <= gap <= limit or not a.path or not b.path:
            return False
        first, second = sorted((a, b), key=lambda s: s.start)
        if first.exited:
            return False
        _, x1, y1 = first.path[-1]
        _, x2, y2 = second.path[0]
        return math.hypot(x2 - x1, y2 - y1) <= self.settings.reappear_distance

    def conflicts(self, members: Iterable[TrackSummary], summary: TrackSummary) -> bool:
        """Whether ``summary`` cannot be the object of ``members``: same camera
        at the same time, or another camera that does not overlap, at once."""
        for member in members:
            if _gap_s(member, summary) >= 0:
                continue
            if member.camera == summary.camera:
                return True
            if not self.topology.overlap(member.camera, summary.camera):
                return True
        return False

    def _distances(
        self, members: Sequence[TrackSummary], summary: TrackSummary
    ) -> tuple[float | None, float | None, bool]:
        """What ``summary`` joining ``members`` would be.

        Returns:
            The cost of the join: the appearance distance to the closest
            related member, or more where their feet were apart (see
            :meth:`ground_distance`); ``None`` when it may not join them.
            The same distance before its limits: how alike the two are even
            where too unlike to join, so that a look-alike just over a limit
            still makes a join on colours alone beside it ambiguous; ``None``
            where the two may not be one object at all. And whether the
            ground points vouch for the join.
        """
        if summary.descriptor is None or self.conflicts(members, summary):
            return None, None, False
        settings = self.settings
        best: float | None = None
        nearest: float | None = None
        vouched = False
        for member in members:
            if member.descriptor is None or not self.related(member, summary):
                continue
            d = appearance_distance(member.descriptor, summary.descriptor)
            ground = self.ground_distance(member, summary)
            if ground is None:
                if member.camera == summary.camera:
                    limit = settings.reappear_max_distance
                else:
                    limit = settings.max_distance
            else:
                if ground > settings.ground_tolerance:
                    return None, None, False  # at once in two places
                limit = settings.max_distance_on_ground
                d = max(d, ground / settings.ground_tolerance * limit)
            nearest = d if nearest is None else min(nearest, d)
            if d <= limit and (best is None or d < best):
                best, vouched = d, ground is not None
        return best, nearest, vouched

    def ground_distance(self, a: TrackSummary, b: TrackSummary) -> float | None:
        """How far apart two summaries' feet were, on ``b``'s floor (in shares
        of its picture), as cameras with ground points tell it.

        While both were seen: the mean distance over the moments in common.
        When one ended within ``overlap_slack_s`` of the other's start: the
        distance from where the first was last to where the second was first.
        ``None`` without ground points for the two cameras, or when neither
        applies.
        """
        key = (a.camera, b.camera)
        if a.camera == b.camera:
            return None
        if key not in self._ground:
            self._ground[key] = self.topology.ground_map(*key)
        matrix = self._ground[key]
        if matrix is None or not a.path or not b.path:
            return None
        here = np.array(a.path, dtype=np.float64)
        there = np.array(b.path, dtype=np.float64)

        def onto_b(points: np.ndarray) -> np.ndarray:
            flat = np.column_stack([points, np.ones(len(points))]) @ matrix.T
            return flat[:, :2] / flat[:, 2:3]

        if len(there) >= 2:
            # Moments of a's path with a sample of b's within half a second.
            index = np.searchsorted(there[:, 0], here[:, 0]).clip(1, len(there) - 1)
            apart = np.minimum(
                np.abs(there[index, 0] - here[:, 0]),
                np.abs(there[index - 1, 0] - here[:, 0]),
            )
            common = (
                (here[:, 0] >= there[0, 0])
                & (here[:, 0] <= there[-1, 0])
                & (apart <= 0.5)
            )
            if common.sum() >= 2:
                times = here[common, 0]
                bx = np.interp(times, there[:, 0], there[:, 1])
                by = np.interp(times, there[:, 0], there[:, 2])
                mapped = onto_b(here[common, 1:])
                return float(np.mean(np.hypot(mapped[:, 0] - bx, mapped[:, 1] - by)))

        slack = self.settings.overlap_slack_s
        if 0 <= there[0, 0] - here[-1, 0] <= slack:
            mapped = onto_b(here[-1:, 1:])[0]
            return float(np.hypot(*(mapped - there[0, 1:])))
        if 0 <= here[0, 0] - there[-1, 0] <= slack:
            mapped = onto_b(here[:1, 1:])[0]
            return float(np.hypot(*(mapped - there[-1, 1:])))
        return None

    def resolve(self, batch: Sequence[TrackSummary]) -> list[Assignment]:
        """Give each summary of a batch its identity; in the batch's order."""
        if not batch:
            return []
        rows = sorted(batch, key=lambda s: (s.start, s.key))
        self._forget_before(min(s.start for s in rows))
        identities = list(self.identities.values())
        cost, near, vouched = self._costs(rows, identities)
        chosen = self._assign(cost, near, vouched, len(identities))

        decided: dict[int, Assignment] = {}
        for r, summary in enumerate(rows):
            column, d = chosen.get(r, (None, None))
            target: IdentityState | None = None
            if column is not None and column < len(identities):
                target = identities[column]
            elif column is not None:
                seed = decided[rows[column - len(identities)].key]
                target = self.identities[seed.identity]
            if target is not None and self.conflicts(target.summaries, summary):
                target = None
            if target is None:
                target = IdentityState(self._allocate(summary), summary.label)
                self.identities[target.id] = target
                d = None
            target.summaries.append(summary)
            decided[summary.key] = Assignment(
                summary, target.id, joined=d is not None, distance=d
            )
        return [decided[s.key] for s in batch]

    def _costs(
        self, rows: Sequence[TrackSummary], identities: Sequence[IdentityState]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distances of each summary to each identity, then to each earlier
        summary of the batch: the costs of the joins allowed (NaN where not),
        the distances before the limits (NaN where the two cannot be one
        object at all), and whether the ground points vouch for each join."""
        shape = (len(rows), len(identities) + len(rows))
        cost, near = np.full(shape, np.nan), np.full(shape, np.nan)
        vouched = np.zeros(shape, dtype=bool)
        for r, summary in enumerate(rows):
            candidates = [
                (c, identity.summaries)
                for c, identity in enumerate(identities)
                if identity.label == summary.label
            ] + [(len(identities) + c, [rows[c]]) for c in range(r)]
            for c, members in candidates:
                d, n, v = self._distances(members, summary)
                cost[r, c] = np.nan if d is None else d
                near[r, c] = np.nan if n is None else n
                vouched[r, c] = v
        return cost, near, vouched

    def _assign(
        self,
        cost: np.ndarray,
        near: np.ndarray,
        vouched: np.ndarray,
        identities: int,
    ) -> dict[int, tuple[int, float]]:
        """Row -> (column, distance) of the clear joins of one global assignment.

        Columns are the ``identities`` existing identities, then the batch's
        summaries (row ``r`` is column ``identities + r``). ``cost`` holds the
        joins allowed, ``near`` the distances before the limits and
        ``vouched`` the joins the ground points vouch for. Rivals of a join
        on colours alone are judged by ``near`` (a look-alike just too unlike
        to join is still one), those of a vouched join by ``cost``.
        """
        # Costs over their limit were left out by _distances().
        allowed = np.where(np.isnan(cost), np.inf, cost)
        if not np.isfinite(allowed).any():
            return {}
        # Joining is better than not: every allowed cost is shifted below zero
        # so that the assignment makes as many good joins as it can.
        work = np.where(np.isfinite(allowed), allowed - 2.0, 0.0)
        rows, columns = linear_sum_assignment(work)
        taken = {
            int(r): int(c)
            for r, c in zip(rows, columns, strict=True)
            if np.isfinite(allowed[r, c])
        }
        owner = {c: r for r, c in taken.items()}

        def root(column: int) -> int:
            # The identity a column stands for: a summary that joined
            # something stands for what it joined.
            seen = set()
            while column >= identities and column not in seen:
                seen.add(column)
                row = column - identities
                if row not in taken:
                    break
                column = taken[row]
            return column

        def settled(row: int, column: int, rivals: np.ndarray) -> bool:
            # The row is clearly better off where the assignment put it than
            # at ``column``: it is no rival there.
            own = taken.get(row)
            return (
                own is not None
                and own != column
                and allowed[row, own] + self.settings.margin <= rivals[row, column]
            )

        margin = self.settings.margin
        chosen: dict[int, tuple[int, float]] = {}
        for r, c in taken.items():
            d = float(allowed[r, c])
            if margin == 0:
                chosen[r] = (c, d)
                continue
            target = root(c)
            ambiguous = False
            rivals = cost if vouched[r, c] else near
            for c2 in map(int, np.flatnonzero(~np.isnan(rivals[r]))):
                if c2 == c or root(c2) == target or rivals[r, c2] >= d + margin:
                    continue
                holder = owner.get(c2)
                if holder is not None and allowed[holder, c2] + margin <= rivals[r, c2]:
                    continue  # another summary clearly holds that candidate
                ambiguous = True
                break
            if not ambiguous:
                for r2 in map(int, np.flatnonzero(~np.isnan(rivals[:, c]))):
                    if r2 == r or rivals[r2, c] >= d + margin:
                        continue
                    if r2 in taken and root(taken[r2]) == target:
                        continue
                    if settled(r2, c, rivals):
                        continue
                    ambiguous = True
                    break
            if ambiguous:
                log.debug("summary %d: ambiguous join left unmade", r)
                continue
            chosen[r] = (c, d)
        return chosen

    def _forget_before(self, time: datetime) -> None:
        """Drop identities too old for anything still to come to join them."""
        cutoff = time - self._horizon
        for key in [k for k, v in self.identities.items() if v.last_seen < cutoff]:
            del self.identities[key]


def resolve_in_batches(
    resolver: IdentityResolver, summaries: Sequence[TrackSummary], every_s: float
) -> list[Assignment]:
    """Resolve summaries known all at once (a replay) as the live resolver would.

    The live resolver takes, every ``every_s`` seconds, the tracks that ended
    since its last batch; here the batches are cut from the summaries' end
    times on the same grid, so a replay gives what live cameras would have.
    """
    if not summaries:
        return []
    ordered = sorted(summaries, key=lambda s: (s.end, s.key))
    origin = ordered[0].end
    assignments: list[Assignment] = []
    batch: list[TrackSummary] = []
    slot = 0
    for summary in ordered:
        this = int((summary.end - origin).total_seconds() // every_s)
        if this != slot and batch:
            assignments.extend(resolver.resolve(batch))
            batch = []
        slot = this
        batch.append(summary)
    assignments.extend(resolver.resolve(batch))
    return assignments
