"""Scoring cross-camera identities against labelled footage.

Each track is given the labelled person it follows: the person its box
overlaps at IoU >= 0.5 on more of its frames than any other, provided that is
at least a third of them (a tracker's id may pass from one person to
another); else none, and every join of that track counts as wrong. Over the
pairs of tracks in different cameras, *precision* is the share of joined
pairs (same identity) that are the same person, and *recall* the share of
same-person pairs that were joined. A *journey* is whole when every track of
a person seen by two or more cameras has one identity.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from watchfloor.detection.boxes import iou_matrix
from watchfloor.tracking.evaluation import MotRow

Box = tuple[float, float, float, float]


def truth_by_frame(rows: Iterable[MotRow]) -> dict[int, dict[int, Box]]:
    """Labelled boxes by frame number and person, without the ignored ones."""
    boxes: dict[int, dict[int, Box]] = defaultdict(dict)
    for row in rows:
        if not row.ignored:
            boxes[row.frame][row.track_id] = row.box
    return dict(boxes)


def people_of(
    tracked: Iterable[MotRow], truth: dict[int, dict[int, Box]]
) -> dict[int, int | None]:
    """Track id -> the labelled person it follows (see the module's doc)."""
    return {track: person for track, (person, _) in follows(tracked, truth).items()}


def follows(
    tracked: Iterable[MotRow], truth: dict[int, dict[int, Box]]
) -> dict[int, tuple[int | None, float]]:
    """Track id -> (the person it follows, the share of its frames on them)."""
    votes: dict[int, Counter[int]] = defaultdict(Counter)
    frames: Counter[int] = Counter()
    for row in tracked:
        frames[row.track_id] += 1
        labelled = truth.get(row.frame, {})
        if not labelled:
            continue
        overlap = iou_matrix(np.array([row.box]), np.array(list(labelled.values())))[0]
        if overlap.max() >= 0.5:
            votes[row.track_id][list(labelled)[int(overlap.argmax())]] += 1
    people: dict[int, tuple[int | None, float]] = {}
    for track, seen in frames.items():
        top = votes[track].most_common(1)
        share = top[0][1] / seen if top else 0.0
        people[track] = (top[0][0] if share >= 1 / 3 else None, share)
    return people


@dataclass(frozen=True)
class ScoredTrack:
    """One track for scoring: its camera, identity and labelled person."""

    camera: str
    identity: int
    person: int | None


@dataclass(frozen=True)
class IdentityScores:
    """Pairwise and journey scores of identities over several cameras."""

    pairs_joined: int
    pairs_true: int
    pairs_same: int
    people_seen_twice: int
    journeys_whole: int
    tracks: int
    identities: int

    @property
    def precision(self) -> float:
        return self.pairs_true / self.pairs_joined if self.pairs_joined else 1.0

    @property
    def recall(self) -> float:
        return self.pairs_true / self.pairs_same if self.pairs_same else 1.0

    @property
    def journeys(self) -> float:
        if not self.people_seen_twice:
            return 0.0
        return self.journeys_whole / self.people_seen_twice


def score_identities(tracks: Sequence[ScoredTrack]) -> IdentityScores:
    """Pairwise precision and recall of "same identity", and whole journeys.

    Example:
        >>> s = score_identities([ScoredTrack("a", 1, 7), ScoredTrack("b", 1, 7)])
        >>> (s.precision, s.recall, s.journeys)
        (1.0, 1.0, 1.0)
    """
    joined = true = same = 0
    for a, b in combinations(tracks, 2):
        if a.camera == b.camera:
            continue
        together = a.identity == b.identity
        alike = a.person is not None and a.person == b.person
        joined += together
        same += alike
        true += together and alike
    by_person: dict[int, list[ScoredTrack]] = defaultdict(list)
    for track in tracks:
        if track.person is not None:
            by_person[track.person].append(track)
    twice = [p for p, ts in by_person.items() if len({t.camera for t in ts}) > 1]
    whole = [p for p in twice if len({t.identity for t in by_person[p]}) == 1]
    return IdentityScores(
        pairs_joined=joined,
        pairs_true=true,
        pairs_same=same,
        people_seen_twice=len(twice),
        journeys_whole=len(whole),
        tracks=len(tracks),
        identities=len({t.identity for t in tracks}),
    )
