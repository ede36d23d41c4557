"""Rule evaluation: turns one camera's tracks into alert episodes, frame by frame."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from watchfloor.config import (
    LineConfig,
    RuleConfig,
    RuleKind,
    SiteConfig,
    ZoneConfig,
)
from watchfloor.rules.geometry import Point, contains, crosses, side
from watchfloor.rules.schedule import WeeklySchedule
from watchfloor.tracking.tracker import TrackedObject, TrackerUpdate

logger = logging.getLogger(__name__)

Box = tuple[float, float, float, float]
SignalKind = Literal["started", "ended"]
Direction = Literal["a_to_b", "b_to_a"]

EXIT_GRACE_S = 1.0
"""Seconds an object (or, for occupancy, the count) must stay out of a zone
before its episode ends. A foot point that jitters across a zone's edge, or a
count that dips for a frame, then keeps one visit instead of splitting it into
many alerts. An episode that ends this way ends at the first frame outside."""

HANDOVER_S = 3.0
"""Seconds after a track vanished inside a zone, during an alert, in which a
new track of its class appearing nearby is taken as the same object: trackers
lose people behind others and find them again under a new id, and one visit
should make one alert, not one per id."""

HANDOVER_DISTANCE = 0.1
"""How near (as a fraction of the image) the new track's feet must be to where
the vanished track's were."""


class RuleSetError(ValueError):
    """Zones, lines and rules that do not fit together; the message says why."""


@dataclass(frozen=True, slots=True)
class AlertSignal:
    """An alert episode starting or ending, as the rule evaluator reports it.

    Every ``started`` signal is followed, sooner or later, by exactly one
    ``ended`` signal with the same ``key``; a line crossing, which has no
    duration, gives both in the same update.

    Attributes:
        kind: ``"started"`` or ``"ended"``.
        key: Identifies the episode; the same on its started and ended signal,
            and unique among the episodes of one evaluator.
        rule: Name of the rule.
        rule_kind: The rule's kind (restricted_area, loitering, line_crossing,
            occupancy).
        camera: Name of the camera.
        zone: Name of the zone, for the area kinds.
        line: Name of the line, for line_crossing.
        track_id: The tracker's id of the track; None for occupancy, whose
            episodes belong to the zone.
        label: Object class of the track; for occupancy, the classes of the
            objects counted, sorted and joined by commas.
        score: Best detection score the track reached so far (for occupancy,
            the best among the objects counted).
        box: ``(x1, y1, x2, y2)`` in pixels: on ``started``, the track's box in
            the qualifying frame; on ``ended``, its latest seen box. For
            occupancy, the box around every object counted when it started.
        entered_at: When the track entered the zone (for occupancy: when the
            count first went above the limit; for a crossing: the crossing).
        start: Time of the first qualifying frame: the first frame at which
            the object is inside, has dwelt long enough and the rule is armed,
            out of its cooldown and met by the track's score.
        end: When the episode ended; None on ``started``, except for line
            crossings (``start``). An episode that ends because the object
            left ends at the first frame outside, reported after the exit
            grace; one whose track ended ends at the track's last frame.
        direction: For line_crossing, which way it was crossed.
        track_ids: Tracker ids involved: the one track, or for occupancy the
            tracks counted when it started.
    """

    kind: SignalKind
    key: str
    rule: str
    rule_kind: RuleKind
    camera: str
    zone: str | None
    line: str | None
    track_id: int | None
    label: str
    score: float
    box: Box
    entered_at: datetime
    start: datetime
    end: datetime | None
    direction: Direction | None = None
    track_ids: tuple[int, ...] = ()


class RuleSet:
    """An immutable set of zones, lines and the rules that watch them.

    The configs are copied on construction, so later changes to the objects
    passed in do not reach a running evaluator: to change rules, build a new
    set and hand it to :meth:`RuleEvaluator.set_rules`.

    Args:
        zones: Zones of any cameras.
        lines: Lines of any cameras.
        rules: Rules; each must name a zone or line of this set.

    Raises:
        RuleSetError: A name is used twice, or a rule names a zone or line
            that the set does not have.
    """

    __slots__ = ("_lines", "_rules", "_zones")

    def __init__(
        self,
        zones: Iterable[ZoneConfig] = (),
        lines: Iterable[LineConfig] = (),
        rules: Iterable[RuleConfig] = (),
    ) -> None:
        self._zones = tuple(z.model_copy(deep=True) for z in zones)
        self._lines = tuple(line.model_copy(deep=True) for line in lines)
        self._rules = tuple(r.model_copy(deep=True) for r in rules)
        for what, items in (
            ("zone", self._zones),
            ("line", self._lines),
            ("rule", self._rules),
        ):
            seen: set[str] = set()
            for item in items:
                if item.name in seen:
                    raise RuleSetError(
                        f"{what} name {item.name!r} is used twice; give each "
                        f"{what} its own name"
                    )
                seen.add(item.name)
        zones_by_name = {z.name for z in self._zones}
        lines_by_name = {line.name for line in self._lines}
        for rule in self._rules:
            if rule.zone is not None and rule.zone not in zones_by_name:
                raise RuleSetError(
                    f"rule {rule.name!r} names zone {rule.zone!r}, which is not "
                    f"among the zones ({', '.join(sorted(zones_by_name)) or 'none'})"
                )
            if rule.line is not None and rule.line not in lines_by_name:
                raise RuleSetError(
                    f"rule {rule.name!r} names line {rule.line!r}, which is not "
                    f"among the lines ({', '.join(sorted(lines_by_name)) or 'none'})"
                )

    @classmethod
    def from_site(cls, site: SiteConfig) -> RuleSet:
        """The zones, lines and rules of a site file."""
        return cls(site.zones, site.lines, site.rules)

    @property
    def zones(self) -> tuple[ZoneConfig, ...]:
        """The zones, in the order given."""
        return self._zones

    @property
    def lines(self) -> tuple[LineConfig, ...]:
        """The lines, in the order given."""
        return self._lines

    @property
    def rules(self) -> tuple[RuleConfig, ...]:
        """The rules, in the order given."""
        return self._rules

    def zone(self, name: str) -> ZoneConfig | None:
        """The zone called ``name``, or None."""
        return next((z for z in self._zones if z.name == name), None)

    def line(self, name: str) -> LineConfig | None:
        """The line called ``name``, or None."""
        return next((line for line in self._lines if line.name == name), None)

    def shape_points(self, signal: AlertSignal) -> list[Point]:
        """The zone's corners or the line's ends of a signal, to draw it.

        Returns:
            Normalised ``(x, y)`` points; empty when the set has no such zone
            or line (it was removed since).
        """
        if signal.zone is not None:
            zone = self.zone(signal.zone)
            return [] if zone is None else [(x, y) for x, y in zone.polygon]
        if signal.line is not None:
            line = self.line(signal.line)
            return [] if line is None else [(x, y) for x, y in line.points]
        return []

    def for_camera(self, camera: str) -> RuleSet:
        """The zones and lines of one camera and the rules that watch them."""
        zones = [z for z in self._zones if z.camera == camera]
        lines = [line for line in self._lines if line.camera == camera]
        zone_names = {z.name for z in zones}
        line_names = {line.name for line in lines}
        rules = [
            r
            for r in self._rules
            if (r.zone is not None and r.zone in zone_names)
            or (r.line is not None and r.line in line_names)
        ]
        return RuleSet(zones, lines, rules)

    def __repr__(self) -> str:
        return (
            f"RuleSet({len(self._zones)} zones, {len(self._lines)} lines, "
            f"{len(self._rules)} rules)"
        )


class _Track:
    """What the evaluator remembers of one track between frames."""

    __slots__ = ("best_score", "box", "foot", "label", "last_seen")

    def __init__(self) -> None:
        self.best_score = 0.0
        self.box: Box = (0.0, 0.0, 0.0, 0.0)
        self.foot: Point = (0.0, 0.0)
        self.label = ""
        self.last_seen = datetime.min.replace(tzinfo=UTC)

    def see(self, obj: TrackedObject, now: datetime, width: int, height: int) -> None:
        x1, _, x2, y2 = obj.box
        self.box = obj.box
        self.foot = ((x1 + x2) * 0.5 / width, y2 / height)
        self.label = obj.label
        if obj.score > self.best_score:
            self.best_score = obj.score
        self.last_seen = now


class _Visit:
    """One subject's stay in a zone: a track's, or for occupancy the zone's.

    A visit starts at the first frame inside and lasts until the subject has
    been outside for the exit grace; the alert episode, if any, lives inside
    it. ``last_start`` outlives visits, for the cooldown.
    """

    __slots__ = (
        "entered_at",
        "episode",
        "handed_over",
        "inherited",
        "last_start",
        "left_at",
    )

    def __init__(self) -> None:
        self.entered_at: datetime | None = None
        self.left_at: datetime | None = None
        self.episode: AlertSignal | None = None
        self.last_start: datetime | None = None
        # The visit continues another track's alerted one (see HANDOVER_S).
        self.inherited = False
        # A new track took this lost one's place while it was lost.
        self.handed_over = False

    def observe(self, inside: bool, now: datetime, grace: float) -> datetime | None:
        """Take one frame's observation; the end time when the visit is over."""
        if inside:
            if self.entered_at is None:
                self.entered_at = now
            self.left_at = None
            return None
        if self.entered_at is None:
            return None
        if self.left_at is None:
            self.left_at = now
        if (now - self.left_at).total_seconds() < grace:
            return None
        end = self.left_at
        self.entered_at = self.left_at = None
        # Both marks belong to the visit that is over: the track's next visit
        # is its own, and alerts like any other.
        self.inherited = self.handed_over = False
        return end

    def due(
        self, now: datetime, threshold: float, strict: bool, cooldown: float
    ) -> bool:
        """Whether an episode starts at this frame (the subject is inside)."""
        if self.episode is not None or self.entered_at is None or self.inherited:
            return False
        if self.left_at is not None:
            return False
        dwell = (now - self.entered_at).total_seconds()
        if dwell < threshold or (strict and dwell <= threshold):
            return False
        return (
            self.last_start is None
            or (now - self.last_start).total_seconds() >= cooldown
        )


class _Crossing:
    """One track's position relative to one line."""

    __slots__ = ("anchor", "last_start", "point", "touched")

    def __init__(self, point: Point, anchor: int) -> None:
        self.point = point
        # The side (-1 or 1) the track was last on, 0 before it left the line.
        self.anchor = anchor
        # Whether its path has met the segment since it was last on ``anchor``.
        self.touched = False
        self.last_start: datetime | None = None


class _Rule:
    """A rule made ready for evaluation, with its state."""

    __slots__ = (
        "bounds",
        "classes",
        "config",
        "cooldown",
        "crossings",
        "direction",
        "handovers",
        "identity",
        "kind",
        "line_name",
        "max_objects",
        "min_score",
        "name",
        "occupancy",
        "polygon",
        "schedule",
        "segment",
        "strict",
        "threshold",
        "visits",
        "zone_name",
    )

    def __init__(self, config: RuleConfig, rules: RuleSet) -> None:
        self.config = config
        self.name = config.name
        self.kind: RuleKind = config.kind
        zone = rules.zone(config.zone) if config.zone is not None else None
        line = rules.line(config.line) if config.line is not None else None
        self.zone_name = zone.name if zone is not None else None
        self.line_name = line.name if line is not None else None
        self.polygon: tuple[Point, ...] = (
            tuple((float(x), float(y)) for x, y in zone.polygon) if zone else ()
        )
        # A box around the zone, a little larger than it, rules out most
        # points before the polygon test, with the same answers.
        xs = [x for x, _ in self.polygon] or [0.0]
        ys = [y for _, y in self.polygon] or [0.0]
        self.bounds = (min(xs) - 1e-9, min(ys) - 1e-9, max(xs) + 1e-9, max(ys) + 1e-9)
        self.segment: tuple[Point, Point] = (
            (
                (float(line.points[0][0]), float(line.points[0][1])),
                (float(line.points[1][0]), float(line.points[1][1])),
            )
            if line is not None
            else ((0.0, 0.0), (0.0, 0.0))
        )
        self.classes = frozenset(config.classes)
        self.min_score = config.min_score
        if config.kind == "loitering":
            self.threshold = float(config.limit_s or 0.0)
            self.strict = True
        else:
            self.threshold = config.min_dwell
            self.strict = False
        self.cooldown = config.cooldown
        self.max_objects = config.max_objects if config.max_objects is not None else 0
        self.direction = config.direction
        self.schedule = (
            WeeklySchedule(config.schedule) if config.schedule is not None else None
        )
        # State carries over to an edited rule only while these stay the same.
        self.identity = (
            self.kind,
            self.zone_name,
            self.line_name,
            self.polygon,
            self.segment if line is not None else None,
            self.classes,
        )
        self.visits: dict[int, _Visit] = {}
        self.crossings: dict[int, _Crossing] = {}
        self.occupancy = _Visit()
        # Where and when tracks vanished inside the zone during an episode.
        self.handovers: list[tuple[datetime, Point, str]] = []

    def inside(self, foot: Point) -> bool:
        """Whether feet at ``foot`` (normalised) are inside the rule's zone."""
        x0, y0, x1, y1 = self.bounds
        x, y = foot
        return x0 <= x <= x1 and y0 <= y <= y1 and contains(self.polygon, foot)

    def take_state(self, old: _Rule) -> None:
        self.visits = old.visits
        self.crossings = old.crossings
        self.occupancy = old.occupancy


def _compile(rules: RuleSet) -> list[_Rule]:
    return [_Rule(config, rules) for config in rules.rules if config.enabled]


def _check_time(time: datetime, last: datetime | None) -> None:
    if not isinstance(time, datetime):
        raise ValueError(
            f"frame time {time!r} is not a datetime; give the wall-clock time of "
            "the frame as a timezone-aware UTC datetime"
        )
    if time.tzinfo is None or time.utcoffset() is None:
        raise ValueError(
            f"frame time {time.isoformat()} has no time zone; give a "
            "timezone-aware UTC datetime"
        )
    if last is not None and time < last:
        raise ValueError(
            f"frame time {time.isoformat()} is before the previous frame's "
            f"{last.isoformat()}; times must not go back"
        )


def _near(a: Point, b: Point) -> bool:
    return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 <= HANDOVER_DISTANCE**2


def _take_handover(
    rule: _Rule, now: datetime, memory: _Track, tracks: dict[int, _Track]
) -> bool:
    """Whether a track new in a zone continues one that vanished there (and
    takes that vanished track's place, so that it is continued only once).

    The vanished track is either over (the tracker ended it) or still lost
    (the tracker keeps it a while in case it comes back, but a new id was
    given to the object first)."""
    rule.handovers = [
        h for h in rule.handovers if (now - h[0]).total_seconds() <= HANDOVER_S
    ]
    for index, (_, foot, label) in enumerate(rule.handovers):
        if label == memory.label and _near(memory.foot, foot):
            del rule.handovers[index]
            return True
    for track_id, visit in rule.visits.items():
        lost = tracks.get(track_id)
        if (
            (visit.episode is None and not visit.inherited)
            or visit.handed_over
            or visit.left_at is not None
            or lost is None
            or lost.last_seen >= now
            or (now - lost.last_seen).total_seconds() > HANDOVER_S
        ):
            continue
        if lost.label == memory.label and _near(memory.foot, lost.foot):
            visit.handed_over = True
            return True
    return False


class RuleEvaluator:
    """Evaluates one camera's rules on its tracker updates, frame by frame.

    Semantics, per rule kind:

    - **restricted_area**: a track is inside when the bottom centre of its
      box (its feet) is inside the zone. Its visit starts at the first frame
      inside (``entered_at``) and lasts until it has been outside for
      ``exit_grace_s``. The episode starts at the first qualifying frame: the
      track is inside, has been in the visit for at least ``min_dwell``
      seconds, the rule is armed, the track's best score so far has reached
      ``min_score``, and ``cooldown`` seconds have passed since the start of
      the rule's previous episode for this track. A brief pass through the
      zone therefore raises nothing, and one visit raises at most one alert.
      Dwell counts from the visit's first frame, across exits shorter than
      the grace. A track that appears inside the zone within
      :data:`HANDOVER_S` of another track of its class vanishing there during
      an episode, and near where it vanished, is taken as the same object
      (a tracker that lost it and found it again under a new id): that
      visit raises no second alert, but the track's later visits do. The
      vanished track may be over or still lost (kept by the tracker in case
      it comes back); each is continued once.
    - **loitering**: the same, with a visit longer than ``limit_s`` (strictly)
      in place of ``min_dwell``.
    - **line_crossing**: one instantaneous episode (start = end = the frame)
      each time a track's foot point goes from one side of the line to the
      other through the segment, in ``direction``: ``a_to_b`` is from the
      left of a->b to its right as seen walking from a to b on the image. A
      point that touches the line and goes back, or passes beyond its ends,
      does not cross. ``min_dwell`` does not apply.
    - **occupancy**: one episode per zone, not per track (``track_id`` None):
      it starts once more than ``max_objects`` tracks of the rule's classes
      that have reached ``min_score`` have been inside at once for
      ``min_dwell`` seconds, and ends when the count has been back at or
      under the limit for ``exit_grace_s``. Its cooldown is per rule.

    Only tracks whose label is among the rule's classes count. Disabled rules
    do nothing. A rule outside its schedule starts no episode, but keeps
    following visits, so a track already inside when the rule becomes armed
    raises an alert at the first armed frame (``entered_at`` says when it
    came in); an episode open when the schedule closes runs to its normal end.

    A track in the tracker's lost buffer keeps its episodes open and its
    visits as they were at its last seen frame (its predicted box is not
    used); for occupancy it still counts where it was last seen. A track that
    ends (listed in ``ended``, or simply absent from an update's tracks and
    lost tracks) closes its episodes, at the time of its last seen frame.

    Rules can be replaced while running with :meth:`set_rules`; the new set
    applies from the next update. Episodes of rules that were removed or
    disabled end at that update's time. A rule that keeps its name, kind,
    zone or line geometry and classes keeps its state (visits, open episodes,
    cooldowns) and applies its new thresholds from then on; any other change
    ends its episodes and restarts it from scratch.

    Example:
        >>> from datetime import UTC, datetime
        >>> zone = ZoneConfig(name="dock", camera="gate",
        ...     polygon=[(0.0, 0.5), (1.0, 0.5), (1.0, 1.0), (0.0, 1.0)])
        >>> rule = RuleConfig(name="no-entry", kind="restricted_area", zone="dock",
        ...     min_dwell=0.0)
        >>> evaluator = RuleEvaluator("gate", RuleSet([zone], [], [rule]))
        >>> from watchfloor.tracking.tracker import TrackState
        >>> person = TrackedObject(1, (100, 300, 140, 400), 0.9, "person",
        ...     TrackState.TRACKED, 0.0, 0.0, 2)
        >>> now = datetime(2026, 1, 1, tzinfo=UTC)
        >>> [s.kind for s in evaluator.update(now, TrackerUpdate(0.0, [person]),
        ...     (640, 480))]
        ['started']

    Limitations:
        A visit's exit is decided only on frames where the track is seen, so
        an episode whose track is lost while outside the zone ends when the
        track ends rather than after the grace. Times between frames are not
        interpolated: dwell times and cooldowns are measured on frame times,
        so they are met at the first frame at or after the threshold. Line
        crossings have no hysteresis: feet that jitter across a line while an
        object stands on it count as crossings each way; a cooldown limits
        the alerts. The handover joins ids only where a track vanished: two
        people whom the detector sees as one box (walking in step, one in
        front of the other) are one track and raise one alert, and when they
        part the one who comes out under a new id raises a second.

    Args:
        camera: Name of the camera whose tracks this evaluates.
        rules: Zones, lines and rules; those of other cameras are ignored.
        exit_grace_s: Seconds outside after which a visit is over (see
            :data:`EXIT_GRACE_S`).

    Raises:
        ValueError: ``exit_grace_s`` is negative.
    """

    def __init__(
        self, camera: str, rules: RuleSet, exit_grace_s: float = EXIT_GRACE_S
    ) -> None:
        if exit_grace_s < 0:
            raise ValueError(
                f"exit_grace_s is {exit_grace_s}; it must be 0 seconds or more"
            )
        self.camera = camera
        self._grace = float(exit_grace_s)
        self._ruleset = rules.for_camera(camera)
        self._rules = _compile(self._ruleset)
        self._pending: RuleSet | None = None
        self._lock = threading.Lock()
        self._tracks: dict[int, _Track] = {}
        self._last_time: datetime | None = None
        self._serial = 0

    @property
    def rules(self) -> RuleSet:
        """The rules in effect (a set given to set_rules applies at next update)."""
        return self._ruleset

    @property
    def open_episodes(self) -> tuple[AlertSignal, ...]:
        """The started signals of episodes that have not ended yet."""
        found: list[AlertSignal] = []
        for rule in self._rules:
            found.extend(v.episode for v in rule.visits.values() if v.episode)
            if rule.occupancy.episode is not None:
                found.append(rule.occupancy.episode)
        return tuple(found)

    def set_rules(self, rules: RuleSet) -> None:
        """Replace the rules from the next update on.

        Safe to call from another thread than the one calling ``update``: it
        only hands the new set over. Signals that the change causes (episodes
        of removed rules ending) come out of the next ``update`` or ``close``.

        Args:
            rules: The new zones, lines and rules (any cameras).
        """
        mine = rules.for_camera(self.camera)
        with self._lock:
            self._pending = mine

    def update(
        self,
        time: datetime,
        update: TrackerUpdate,
        frame_size: tuple[int, int],
    ) -> list[AlertSignal]:
        """Evaluate every rule on one frame's tracker update.

        Args:
            time: Wall-clock time of the frame, timezone-aware UTC.
            update: What the camera's tracker made of this frame.
            frame_size: ``(width, height)`` of the frame in pixels, the frame
                the tracker's boxes are on.

        Returns:
            Episodes that started or ended at this frame (an ended signal can
            carry an earlier ``end``, see :class:`AlertSignal`); a started
            signal always comes before the ended signal of its episode.

        Raises:
            ValueError: The time is naive or before the previous frame's, or
                the frame size is not two positive numbers. Nothing changes.
        """
        _check_time(time, self._last_time)
        width, height = frame_size
        if width <= 0 or height <= 0:
            raise ValueError(
                f"frame size is {width}x{height}; width and height must be positive "
                "pixel counts"
            )
        self._last_time = time
        signals: list[AlertSignal] = []
        self._apply_pending(time, signals)

        tracks = self._tracks
        for obj in update.tracks:
            memory = tracks.get(obj.track_id)
            if memory is None:
                memory = tracks[obj.track_id] = _Track()
            memory.see(obj, time, width, height)

        # A track that the tracker no longer reports, listed as ended or not,
        # is over: its episodes must not stay open forever.
        if update.ended or len(tracks) > len(update.tracks):
            present = {obj.track_id for obj in update.tracks}
            present.update(obj.track_id for obj in update.lost_tracks)
            for track_id in [t for t in tracks if t not in present]:
                self._end_track(track_id, signals)

        for rule in self._rules:
            armed = rule.schedule is None or rule.schedule.armed(time)
            if rule.kind == "line_crossing":
                self._cross(rule, armed, time, update.tracks, signals)
            elif rule.kind == "occupancy":
                self._count(rule, armed, time, signals)
            else:
                self._dwell(rule, armed, time, update.tracks, signals)
        return signals

    def close(self, time: datetime) -> list[AlertSignal]:
        """End every open episode and forget every track, as when a stream stops.

        The evaluator can be used again afterwards. Occupancy cooldowns are
        kept, as they are per rule; per-track state goes with the tracks.

        Args:
            time: When it closes; the end of episodes whose object was still
                inside (those in their exit grace end when they left).

        Returns:
            An ``ended`` signal for every open episode.

        Raises:
            ValueError: The time is naive or before the previous frame's.
        """
        _check_time(time, self._last_time)
        self._last_time = time
        signals: list[AlertSignal] = []
        self._apply_pending(time, signals)
        for rule in self._rules:
            self._end_rule(rule, time, signals)
            last_start = rule.occupancy.last_start
            rule.visits = {}
            rule.crossings = {}
            rule.occupancy = _Visit()
            rule.occupancy.last_start = last_start
        self._tracks.clear()
        return signals

    def _apply_pending(self, time: datetime, signals: list[AlertSignal]) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is None:
            return
        new_rules = _compile(pending)
        old_rules = {rule.name: rule for rule in self._rules}
        for rule in new_rules:
            old = old_rules.pop(rule.name, None)
            if old is None:
                continue
            if old.identity == rule.identity:
                rule.take_state(old)
            else:
                self._end_rule(old, time, signals)
        for old in old_rules.values():
            self._end_rule(old, time, signals)
        self._ruleset = pending
        self._rules = new_rules
        logger.info(
            "camera %s: %d rules in effect (%d enabled)",
            self.camera,
            len(pending.rules),
            len(new_rules),
        )

    def _dwell(
        self,
        rule: _Rule,
        armed: bool,
        now: datetime,
        seen: Sequence[TrackedObject],
        signals: list[AlertSignal],
    ) -> None:
        """restricted_area and loitering: one visit per track."""
        visits = rule.visits
        for obj in seen:
            track_id = obj.track_id
            memory = self._tracks[track_id]
            visit = visits.get(track_id)
            if memory.label in rule.classes:
                inside = rule.inside(memory.foot)
            elif visit is None:
                continue
            else:
                inside = False  # its class changed: it no longer counts
            if visit is None:
                if not inside:
                    continue
                visit = visits[track_id] = _Visit()
                visit.inherited = _take_handover(rule, now, memory, self._tracks)

            end = visit.observe(inside, now, self._grace)
            if end is not None and visit.episode is not None:
                signals.append(self._ended(visit.episode, end, memory))
                visit.episode = None
            if (
                inside
                and armed
                and memory.best_score >= rule.min_score
                and visit.due(now, rule.threshold, rule.strict, rule.cooldown)
            ):
                assert visit.entered_at is not None
                visit.episode = self._started(
                    rule, now, visit.entered_at, track_id, memory
                )
                visit.last_start = now
                signals.append(visit.episode)

    def _count(
        self, rule: _Rule, armed: bool, now: datetime, signals: list[AlertSignal]
    ) -> None:
        """occupancy: one visit for the zone, with the count as its subject."""
        counted: list[tuple[int, _Track]] = []
        for track_id, memory in self._tracks.items():
            if (
                memory.label in rule.classes
                and memory.best_score >= rule.min_score
                and rule.inside(memory.foot)
            ):
                counted.append((track_id, memory))
        crowded = len(counted) > rule.max_objects
        visit = rule.occupancy
        end = visit.observe(crowded, now, self._grace)
        if end is not None and visit.episode is not None:
            signals.append(replace(visit.episode, kind="ended", end=end))
            visit.episode = None
        if crowded and armed and visit.due(now, rule.threshold, False, rule.cooldown):
            assert visit.entered_at is not None
            visit.episode = self._started_occupancy(
                rule, now, visit.entered_at, counted
            )
            visit.last_start = now
            signals.append(visit.episode)

    def _cross(
        self,
        rule: _Rule,
        armed: bool,
        now: datetime,
        seen: Sequence[TrackedObject],
        signals: list[AlertSignal],
    ) -> None:
        """line_crossing: each track's side of the line, frame to frame."""
        segment = rule.segment
        for obj in seen:
            track_id = obj.track_id
            memory = self._tracks[track_id]
            if memory.label not in rule.classes:
                continue
            foot = memory.foot
            where = side(segment, foot)
            state = rule.crossings.get(track_id)
            if state is None:
                rule.crossings[track_id] = _Crossing(foot, where)
                continue
            if crosses(segment, state.point, foot):
                state.touched = True
            state.point = foot
            if where == 0:
                continue  # on the line (or its extension): not yet decided
            if state.anchor != where and state.anchor != 0:
                crossed = state.touched
                direction: Direction = "a_to_b" if state.anchor < 0 else "b_to_a"
                state.anchor = where
                state.touched = False
                if (
                    crossed
                    and armed
                    and memory.best_score >= rule.min_score
                    and rule.direction in ("any", direction)
                    and (
                        state.last_start is None
                        or (now - state.last_start).total_seconds() >= rule.cooldown
                    )
                ):
                    started = self._started(
                        rule, now, now, track_id, memory, direction=direction
                    )
                    state.last_start = now
                    signals.append(started)
                    signals.append(replace(started, kind="ended"))
            else:
                state.anchor = where
                state.touched = False

    def _end_track(self, track_id: int, signals: list[AlertSignal]) -> None:
        memory = self._tracks.pop(track_id)
        for rule in self._rules:
            rule.crossings.pop(track_id, None)
            visit = rule.visits.pop(track_id, None)
            if visit is None:
                continue
            if visit.episode is not None:
                end = visit.left_at if visit.left_at is not None else memory.last_seen
                signals.append(self._ended(visit.episode, end, memory))
            alerted = visit.episode is not None or visit.inherited
            if alerted and visit.left_at is None and not visit.handed_over:
                rule.handovers.append((memory.last_seen, memory.foot, memory.label))

    def _end_rule(
        self, rule: _Rule, time: datetime, signals: list[AlertSignal]
    ) -> None:
        """End every open episode of a rule (removed, changed or closing)."""
        for track_id, visit in rule.visits.items():
            if visit.episode is None:
                continue
            end = visit.left_at if visit.left_at is not None else time
            memory = self._tracks.get(track_id)
            if memory is not None:
                signals.append(self._ended(visit.episode, end, memory))
            else:
                signals.append(replace(visit.episode, kind="ended", end=end))
            visit.episode = None
        visit = rule.occupancy
        if visit.episode is not None:
            end = visit.left_at if visit.left_at is not None else time
            signals.append(replace(visit.episode, kind="ended", end=end))
            visit.episode = None

    def _key(self, rule: _Rule, subject: str, start: datetime) -> str:
        self._serial += 1
        stamp = start.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        return f"{self.camera}/{rule.name}/{subject}/{stamp}/{self._serial}"

    def _started(
        self,
        rule: _Rule,
        now: datetime,
        entered_at: datetime,
        track_id: int,
        memory: _Track,
        direction: Direction | None = None,
    ) -> AlertSignal:
        signal = AlertSignal(
            kind="started",
            key=self._key(rule, f"track-{track_id}", now),
            rule=rule.name,
            rule_kind=rule.kind,
            camera=self.camera,
            zone=rule.zone_name,
            line=rule.line_name,
            track_id=track_id,
            label=memory.label,
            score=memory.best_score,
            box=memory.box,
            entered_at=entered_at,
            start=now,
            end=now if direction is not None else None,
            direction=direction,
            track_ids=(track_id,),
        )
        logger.info(
            "alert started: rule %s (%s) on camera %s, track %s %s at %s",
            rule.name,
            rule.kind,
            self.camera,
            track_id,
            memory.label,
            now.isoformat(),
        )
        return signal

    def _started_occupancy(
        self,
        rule: _Rule,
        now: datetime,
        entered_at: datetime,
        counted: Sequence[tuple[int, _Track]],
    ) -> AlertSignal:
        boxes = [memory.box for _, memory in counted]
        box = (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )
        signal = AlertSignal(
            kind="started",
            key=self._key(rule, "zone", now),
            rule=rule.name,
            rule_kind=rule.kind,
            camera=self.camera,
            zone=rule.zone_name,
            line=None,
            track_id=None,
            label=",".join(sorted({memory.label for _, memory in counted})),
            score=max(memory.best_score for _, memory in counted),
            box=box,
            entered_at=entered_at,
            start=now,
            end=None,
            track_ids=tuple(sorted(track_id for track_id, _ in counted)),
        )
        logger.info(
            "alert started: rule %s (occupancy) on camera %s, %d objects at %s",
            rule.name,
            self.camera,
            len(counted),
            now.isoformat(),
        )
        return signal

    def _ended(
        self, started: AlertSignal, end: datetime, memory: _Track
    ) -> AlertSignal:
        logger.debug("alert ended: %s at %s", started.key, end.isoformat())
        return replace(
            started,
            kind="ended",
            end=end,
            box=memory.box,
            score=memory.best_score,
        )
