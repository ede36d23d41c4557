"""Helpers of the rule tests: hand-made track sequences played through an evaluator.

A walk is a string with one character per frame (5 frames/s from ``T0``):
the character names where the track's feet are (see ``SPOTS``), ``~`` that
the track is lost (kept in the tracker's lost buffer) and ``-`` that it is not
there: a track that was there before is reported ended at the first ``-``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from watchfloor.config import LineConfig, RuleConfig, ZoneConfig
from watchfloor.rules.evaluator import AlertSignal, RuleEvaluator, RuleSet
from watchfloor.tracking.tracker import TrackedObject, TrackerUpdate, TrackState

CAMERA = "gate"
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # a Monday
STEP_US = 200_000  # 5 frames/s
FRAME_SIZE = (1000, 800)

# The zone is the square from (0.2, 0.2) to (0.6, 0.6); the line runs down the
# middle of the picture from a = (0.5, 0.2) to b = (0.5, 0.8), so that walking
# from a to b (downwards) its left is the right-hand side of the picture.
YARD = ZoneConfig(
    name="yard",
    camera=CAMERA,
    polygon=[(0.2, 0.2), (0.6, 0.2), (0.6, 0.6), (0.2, 0.6)],
)
DOOR = LineConfig(name="door", camera=CAMERA, points=[(0.5, 0.2), (0.5, 0.8)])

SPOTS: dict[str, tuple[float, float]] = {
    "#": (0.4, 0.4),  # inside the yard
    ".": (0.8, 0.4),  # outside the yard
    "e": (0.6, 0.4),  # on the yard's edge
    "l": (0.7, 0.5),  # left of the door (a_to_b starts here)
    "r": (0.3, 0.5),  # right of the door
    "o": (0.5, 0.5),  # on the door
    "L": (0.7, 0.95),  # left of the door's line, below its end b
    "R": (0.3, 0.95),  # right of the door's line, below its end b
    "x": (0.5, 0.95),  # on the door's line, beyond its end b
}


def at(frame: int) -> datetime:
    """Wall-clock time of a frame."""
    return T0 + timedelta(microseconds=frame * STEP_US)


def frame_of(time: datetime) -> int:
    """Frame index of a time; fails on a time between frames."""
    micro = (time - T0) // timedelta(microseconds=1)
    assert micro % STEP_US == 0, f"{time} is between frames"
    return micro // STEP_US


def obj(
    track_id: int,
    spot: tuple[float, float],
    label: str = "person",
    score: float = 0.9,
    state: TrackState = TrackState.TRACKED,
) -> TrackedObject:
    """A track whose feet are at a normalised ``spot`` of a FRAME_SIZE frame."""
    width, height = FRAME_SIZE
    x, y = spot[0] * width, spot[1] * height
    return TrackedObject(
        track_id=track_id,
        box=(x - 20.0, y - 100.0, x + 20.0, y),
        score=score,
        label=label,
        state=state,
        first_seen=0.0,
        last_seen=0.0,
        hits=1,
    )


@dataclass
class Walk:
    """One track's path, one character per frame (see the module docstring)."""

    path: str
    label: str = "person"
    scores: float | Sequence[float] = 0.9

    def score(self, frame: int) -> float:
        if isinstance(self.scores, float | int):
            return float(self.scores)
        return float(self.scores[frame])


@dataclass
class Played:
    """Signals of a played scene, with the frame at which each came out."""

    signals: list[tuple[int, AlertSignal]] = field(default_factory=list)

    def summary(self) -> list[tuple[str, int, int, int | None]]:
        """``(kind, frame it came out, start frame, end frame or None)``."""
        return [
            (
                s.kind,
                frame,
                frame_of(s.start),
                None if s.end is None else frame_of(s.end),
            )
            for frame, s in self.signals
        ]

    def started(self) -> list[AlertSignal]:
        return [s for _, s in self.signals if s.kind == "started"]

    def ended(self) -> list[AlertSignal]:
        return [s for _, s in self.signals if s.kind == "ended"]


def rule(kind: str = "restricted_area", /, **fields: object) -> RuleConfig:
    """A rule on the yard (or the door, for line_crossing) named ``watch``."""
    data: dict[str, object] = {"name": "watch", "kind": kind}
    if kind == "line_crossing":
        data["line"] = "door"
    else:
        data["zone"] = "yard"
    if kind == "loitering":
        data["limit_s"] = 1.0
    if kind == "occupancy":
        data["max_objects"] = 1
    data.update(fields)
    return RuleConfig.model_validate(data)


def rule_set(*rules: RuleConfig) -> RuleSet:
    """The yard, the door and the given rules."""
    return RuleSet([YARD], [DOOR], rules)


class Scene:
    """Feeds walks to an evaluator frame by frame, as a tracker would.

    Checks on every frame that signals keep their promise: every ended
    signal closes exactly one started episode, with the same key.
    """

    def __init__(self, evaluator: RuleEvaluator) -> None:
        self.evaluator = evaluator
        self.frame = 0
        self.played = Played()
        self._open: dict[str, AlertSignal] = {}
        self._keys: set[str] = set()
        self._present: set[int] = set()
        self._last: dict[int, TrackedObject] = {}

    def step(self, cells: dict[int, tuple[str, str, float]]) -> list[AlertSignal]:
        """One frame: track id -> (path character, label, score)."""
        seen: list[TrackedObject] = []
        lost: list[TrackedObject] = []
        ended: list[int] = []
        for track_id, (cell, label, score) in sorted(cells.items()):
            if cell == "-":
                if track_id in self._present:
                    ended.append(track_id)
                    self._present.discard(track_id)
            elif cell == "~":
                last = self._last[track_id]
                lost.append(obj(track_id, _foot(last), label, score, TrackState.LOST))
                self._present.add(track_id)
            else:
                tracked = obj(track_id, SPOTS[cell], label, score)
                seen.append(tracked)
                self._last[track_id] = tracked
                self._present.add(track_id)
        update = TrackerUpdate(
            time=at(self.frame).timestamp(),
            tracks=seen,
            lost_tracks=lost,
            ended=ended,
        )
        signals = self.evaluator.update(at(self.frame), update, FRAME_SIZE)
        self.record(signals)
        self.frame += 1
        return signals

    def record(self, signals: list[AlertSignal], frame: int | None = None) -> None:
        for signal in signals:
            self.played.signals.append((self.frame if frame is None else frame, signal))
            if signal.kind == "started":
                assert signal.key not in self._keys, f"key {signal.key} reused"
                self._keys.add(signal.key)
                self._open[signal.key] = signal
            else:
                started = self._open.pop(signal.key, None)
                assert started is not None, f"{signal.key} ended but was not open"
                assert signal.start == started.start
                assert signal.end is not None and signal.end >= signal.start

    def play(self, walks: Sequence[Walk]) -> Played:
        frames = max(len(w.path) for w in walks)
        for _ in range(frames):
            index = self.frame
            cells = {}
            for track_id, walk in enumerate(walks, start=1):
                if index < len(walk.path):
                    cell = walk.path[index]
                    cells[track_id] = (cell, walk.label, walk.score(index))
                else:
                    cells[track_id] = ("-", walk.label, 0.0)
            self.step(cells)
        return self.played

    def close(self) -> list[AlertSignal]:
        signals = self.evaluator.close(at(self.frame))
        self.record(signals)
        return signals

    @property
    def open_keys(self) -> set[str]:
        return set(self._open)


def play(
    rules: RuleSet | RuleConfig,
    *walks: Walk | str,
    exit_grace_s: float = 1.0,
) -> Played:
    """Play walks (strings are person walks of score 0.9) through new rules."""
    ruleset = rules if isinstance(rules, RuleSet) else rule_set(rules)
    scene = Scene(RuleEvaluator(CAMERA, ruleset, exit_grace_s=exit_grace_s))
    return scene.play([w if isinstance(w, Walk) else Walk(w) for w in walks])


def _foot(track: TrackedObject) -> tuple[float, float]:
    x1, _, x2, y2 = track.box
    width, height = FRAME_SIZE
    return ((x1 + x2) / 2 / width, y2 / height)
