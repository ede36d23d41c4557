"""Alert quality on labelled footage: recall, precision and delay of zone alerts.

Run from the repository root::

    python -m bench.alerts --verbose                      # print, with the misses
    python -m bench.alerts --results bench/RESULTS.md     # and write the section

For each sequence and zone, the expected alerts are what the same rule makes
of the ground-truth tracks (the same bottom-centre rule and dwell, fed the
labelled boxes as tracks). The measured alerts are those of a replay through
the whole pipeline (detector, tracker, rules), as ``watchfloor replay
--alerts-out`` writes them. An alert matches an expected one when it starts
within that visit (give or take ``--slack`` seconds) and its box overlaps the
labelled person's box at that frame (IoU >= 0.3); matching is one to one,
with the most matches and then the least total delay.

``--verbose`` also lists each expected alert that was missed and each alert
that matched none, with its frame, time, track and box, the labelled people
its box overlaps and what the labels say of it (a second alert for a person
whose visit had already alerted, a box on no labelled person, ...).

Limitations:
    Two sequences, three zones and twenty-odd visits: one alert more or less
    moves recall or precision by about five points. The labels are the
    sequences' own; where they leave a visible person out, an alert on that
    person counts against precision.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from bench.footage import data_dir
from bench.results import write_section
from watchfloor.config import parse_site
from watchfloor.detection.factory import DARKNET_INPUT_SIZE
from watchfloor.replay import DEFAULT_ORIGIN, AlertLog, find_video, replay_video
from watchfloor.rules.evaluator import EXIT_GRACE_S, RuleEvaluator, RuleSet
from watchfloor.tracking.evaluation import read_mot_file, read_seqinfo
from watchfloor.tracking.tracker import TrackedObject, TrackerUpdate, TrackState

SECTION = "## Alert quality"
MATCH_IOU = 0.3
"""Least IoU between an alert's box and the labelled person's for a match."""

# The project's targets over all sequences and zones.
RECALL_TARGET = 0.95
PRECISION_TARGET = 0.9
LATE_S = 1.0
"""A matched alert more than this many seconds after the dwell was met is
listed as late."""

# Zones chosen by what the scene shows, not by where the labels are.
SCENES: dict[str, dict[str, list[tuple[float, float]]]] = {
    "PETS09-S2L1": {
        # Keep off the grass: the lawn left of and below the paved crossing.
        "lawn": [(0.0, 0.43), (0.45, 0.56), (0.95, 0.86), (0.95, 1.0), (0.0, 1.0)],
        # The service road on the right, where the vans park.
        "road": [(0.62, 0.15), (1.0, 0.15), (1.0, 0.48), (0.72, 0.48)],
    },
    "TUD-Campus": {
        # The left half of the pavement in front of the camera.
        "left": [(0.0, 0.6), (0.5, 0.6), (0.5, 1.0), (0.0, 1.0)],
    },
}

Box = tuple[float, float, float, float]
Boxes = dict[int, dict[int, Box]]


@dataclass
class Outcome:
    """Expected and measured alerts of one zone, and how they matched."""

    sequence: str
    zone: str
    expected: int
    alerts: int
    matched: int
    delays: list[float]
    missed: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    late: list[dict[str, Any]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.matched / self.expected if self.expected else 1.0

    @property
    def precision(self) -> float:
        return self.matched / self.alerts if self.alerts else 1.0


@dataclass
class Report:
    """One run of the benchmark: where, when, and its outcomes."""

    command: str
    date: str
    machine: str
    wall_s: float
    slack_s: float
    outcomes: list[Outcome]


def _site(camera: str, zone: str, polygon: list[tuple[float, float]]) -> Any:
    points = ", ".join(f"[{x}, {y}]" for x, y in polygon)
    return parse_site(
        f"""
cameras:
  - {{name: {camera}, url: unused.mp4, detect: {{classes: [person]}}}}
zones:
  - {{name: {zone}, camera: {camera}, polygon: [{points}]}}
rules:
  - {{name: no-entry, kind: restricted_area, zone: {zone}, classes: [person]}}
"""
    )


def expected_alerts(
    gt_path: Path, frame_rate: float, rules: RuleSet, camera: str, size: tuple[int, int]
) -> tuple[list[dict[str, Any]], Boxes]:
    """The rule's alerts on the labelled tracks, and the labelled boxes by frame.

    A person's boxes flagged 0 (not to be scored) still say where the person
    is: a labeller who flags a stretch of a walk has not seen the person
    leave, and a visit that runs through it is one visit. Objects whose every
    box is flagged 0 (in MOT16 and later: vehicles, reflections, distractors)
    are left out.
    """
    rows = read_mot_file(gt_path)
    scored = {row.track_id for row in rows if not row.ignored}
    boxes: Boxes = defaultdict(dict)
    for row in rows:
        if row.track_id in scored:
            boxes[row.frame][row.track_id] = row.box
    log = AlertLog(camera, rules, DEFAULT_ORIGIN)
    evaluator: RuleEvaluator = log.evaluator
    present: set[int] = set()
    last = max(boxes) if boxes else 0
    for number in range(1, last + 2):
        seconds = (number - 1) / frame_rate
        now = DEFAULT_ORIGIN + timedelta(seconds=seconds)
        frame_boxes = boxes.get(number, {})
        tracks = [
            TrackedObject(tid, box, 1.0, "person", TrackState.TRACKED, 0.0, seconds, 1)
            for tid, box in frame_boxes.items()
        ]
        gone = sorted(present - set(frame_boxes))
        present = set(frame_boxes)
        update = TrackerUpdate(seconds, tracks=tracks, ended=gone)
        for signal in evaluator.update(now, update, size):
            log.note(signal, number)
    return log.alerts, boxes


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _within(want: dict[str, Any], got: dict[str, Any], slack_s: float) -> bool:
    """Whether an alert starts within an expected alert's visit, give or take."""
    end = want["end_s"] if want["end_s"] is not None else float("inf")
    return bool(want["entered_s"] - slack_s <= got["time_s"] <= end + slack_s)


def _on_person(got: dict[str, Any], person: int, boxes: Boxes) -> bool:
    """Whether an alert's box overlaps a labelled person's at the alert's frame."""
    labelled = boxes.get(got["frame"], {}).get(person)
    if labelled is None or got["box"] is None:
        return False
    return _iou(tuple(got["box"]), labelled) >= MATCH_IOU


def match(
    expected: list[dict[str, Any]],
    alerts: list[dict[str, Any]],
    boxes: Boxes,
    slack_s: float,
) -> tuple[int, list[float]]:
    """One-to-one matches of alerts to expected ones; delays of the matches."""
    pairs = match_pairs(expected, alerts, boxes, slack_s)
    return len(pairs), [alerts[j]["time_s"] - expected[i]["time_s"] for i, j in pairs]


def match_pairs(
    expected: list[dict[str, Any]],
    alerts: list[dict[str, Any]],
    boxes: Boxes,
    slack_s: float,
) -> list[tuple[int, int]]:
    """One-to-one matches as (index in ``expected``, index in ``alerts``).

    The assignment with the most matches, and among those the least total
    delay (the Hungarian method, as CLEAR MOT matches boxes)."""
    unmatched = 1e6
    cost = np.full((len(expected), len(alerts)), unmatched)
    for i, want in enumerate(expected):
        for j, got in enumerate(alerts):
            if _within(want, got, slack_s) and _on_person(got, want["track_id"], boxes):
                cost[i, j] = abs(got["time_s"] - want["time_s"])
    if cost.size == 0:
        return []
    rows, cols = linear_sum_assignment(cost)
    return sorted(
        (int(i), int(j))
        for i, j in zip(rows, cols, strict=True)
        if cost[i, j] < unmatched
    )


def explain_unmatched(
    got: dict[str, Any],
    expected: list[dict[str, Any]],
    alerts: list[dict[str, Any]],
    pairs: list[tuple[int, int]],
    boxes: Boxes,
    slack_s: float,
) -> str:
    """What the labels say of an alert that matched no expected one."""
    people = [p for p, iou in _overlaps(got, boxes) if iou >= MATCH_IOU]
    if not people:
        return "its box is on no labelled person"
    person = people[0]
    visits = [
        i
        for i, want in enumerate(expected)
        if want["track_id"] == person and _within(want, got, slack_s)
    ]
    if not visits:
        return f"person {person} was outside the zone by the labels"
    by_expected = dict(pairs)
    taken = [alerts[by_expected[i]] for i in visits if i in by_expected]
    if taken:
        first = taken[0]
        return (
            f"person {person}'s visit had already alerted (track "
            f"{first['track_id']}, t {first['time_s']:.2f} s): a second alert for "
            "one person"
        )
    return f"on person {person}, but outside the matching window"


def explain_missed(
    want: dict[str, Any],
    expected: list[dict[str, Any]],
    alerts: list[dict[str, Any]],
    pairs: list[tuple[int, int]],
    boxes: Boxes,
    slack_s: float,
) -> str:
    """What the replay did for an expected alert that no alert matched."""
    person = want["track_id"]
    by_alert = {j: i for i, j in pairs}
    candidates = [
        j
        for j, got in enumerate(alerts)
        if _within(want, got, slack_s) and _on_person(got, person, boxes)
    ]
    if not candidates:
        return "no alert during the visit was on this person"
    got = alerts[candidates[0]]
    other = expected[by_alert[candidates[0]]]["track_id"]
    return (
        f"the alert on this person (track {got['track_id']}, t "
        f"{got['time_s']:.2f} s) matched person {other}'s visit"
    )


def measure(data: Path, slack_s: float) -> list[Outcome]:
    """Replay every sequence once per zone and match its alerts to the labels."""
    outcomes = []
    for sequence, zones in SCENES.items():
        folder = data / sequence
        if not folder.is_dir():
            print(f"skipping {sequence}: not in {data}", file=sys.stderr)
            continue
        video = find_video(folder)
        info = read_seqinfo(folder / "seqinfo.ini")
        size = (info.width, info.height)
        for zone, polygon in zones.items():
            site = _site("cam", zone, polygon)
            rules = RuleSet.from_site(site)
            expected, boxes = expected_alerts(
                folder / "gt" / "gt.txt", info.frame_rate, rules, "cam", size
            )
            log = AlertLog("cam", rules, DEFAULT_ORIGIN)
            stats = replay_video(
                site, site.cameras[0], video, [log], frame_rate=info.frame_rate
            )
            log.close(DEFAULT_ORIGIN + timedelta(seconds=stats.video_s))
            alerts = log.alerts
            pairs = match_pairs(expected, alerts, boxes, slack_s)
            delays = [alerts[j]["time_s"] - expected[i]["time_s"] for i, j in pairs]
            hit_expected = {i for i, _ in pairs}
            hit_alerts = {j for _, j in pairs}
            outcome = Outcome(
                sequence, zone, len(expected), len(alerts), len(pairs), delays
            )
            outcome.missed = [
                {
                    **e,
                    "overlaps": _overlaps(e, boxes),
                    "cause": explain_missed(e, expected, alerts, pairs, boxes, slack_s),
                }
                for i, e in enumerate(expected)
                if i not in hit_expected
            ]
            outcome.unmatched = [
                {
                    **a,
                    "overlaps": _overlaps(a, boxes),
                    "cause": explain_unmatched(
                        a, expected, alerts, pairs, boxes, slack_s
                    ),
                }
                for j, a in enumerate(alerts)
                if j not in hit_alerts
            ]
            outcome.late = [
                {
                    **alerts[j],
                    "overlaps": _overlaps(alerts[j], boxes),
                    "delay_s": delay,
                    "cause": (
                        f"person {expected[i]['track_id']}'s alert, {delay:+.2f} s "
                        f"after the dwell was met at {expected[i]['time_s']:.2f} s"
                    ),
                }
                for (i, j), delay in zip(pairs, delays, strict=True)
                if delay > LATE_S
            ]
            outcomes.append(outcome)
    return outcomes


def _overlaps(alert: dict[str, Any], boxes: Boxes) -> list[tuple[int, float]]:
    """The labelled people an alert's box overlaps at its frame, by IoU."""
    overlaps: list[tuple[int, float]] = []
    if alert["box"] is not None:
        for person, box in boxes.get(alert["frame"], {}).items():
            iou = _iou(tuple(alert["box"]), box)
            if iou > 0.0:
                overlaps.append((person, round(iou, 2)))
    overlaps.sort(key=lambda item: -item[1])
    return overlaps


def listing(outcomes: list[Outcome]) -> str:
    """The missed expected alerts, the unmatched and the late alerts, one per
    line."""

    def describe(alert: dict[str, Any]) -> str:
        box = ", ".join(f"{v:.0f}" for v in alert["box"]) if alert["box"] else "-"
        end = "open" if alert["end_s"] is None else f"{alert['end_s']:.2f}"
        people = ", ".join(f"{p} (IoU {iou:.2f})" for p, iou in alert["overlaps"])
        return (
            f"frame {alert['frame']}, t {alert['time_s']:.2f} s, track "
            f"{alert['track_id']}, box [{box}], in zone {alert['entered_s']:.2f}"
            f"-{end} s; labelled people overlapping: {people or 'none'}; "
            f"{alert['cause']}"
        )

    lines = []
    for o in outcomes:
        for alert in o.missed:
            lines.append(f"{o.sequence} {o.zone} missed: {describe(alert)}")
        for alert in o.unmatched:
            lines.append(f"{o.sequence} {o.zone} unmatched alert: {describe(alert)}")
        for alert in o.late:
            lines.append(f"{o.sequence} {o.zone} late alert: {describe(alert)}")
    return "\n".join(lines)


def _totals(outcomes: list[Outcome]) -> tuple[int, int, int]:
    expected = sum(o.expected for o in outcomes)
    alerts = sum(o.alerts for o in outcomes)
    matched = sum(o.matched for o in outcomes)
    return expected, alerts, matched


def table(outcomes: list[Outcome]) -> str:
    """The markdown table: one row per sequence and zone, then all together."""
    lines = [
        "| sequence | zone | expected | alerts | matched | recall | precision "
        "| delay median s | delay max s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        median = f"{statistics.median(o.delays):+.2f}" if o.delays else "-"
        worst = f"{max(o.delays, key=abs):+.2f}" if o.delays else "-"
        lines.append(
            f"| {o.sequence} | {o.zone} | {o.expected} | {o.alerts} | {o.matched} "
            f"| {o.recall:.2f} | {o.precision:.2f} | {median} | {worst} |"
        )
    expected, alerts, matched = _totals(outcomes)
    lines.append(
        f"| all | | {expected} | {alerts} | {matched} "
        f"| {matched / max(expected, 1):.2f} | {matched / max(alerts, 1):.2f} | | |"
    )
    return "\n".join(lines)


def interpretation(outcomes: list[Outcome]) -> str:
    """A few sentences: the targets, and what the misses have in common."""
    expected, alerts, matched = _totals(outcomes)
    recall = matched / max(expected, 1)
    precision = matched / max(alerts, 1)
    met = recall >= RECALL_TARGET and precision >= PRECISION_TARGET
    text = (
        f"Over all zones {matched} of {expected} expected alerts were raised on "
        f"the right person within their visit (recall {recall:.2f}) and "
        f"{matched} of {alerts} alerts were such a match (precision "
        f"{precision:.2f}): the targets (recall >= {RECALL_TARGET:g}, precision "
        f">= {PRECISION_TARGET:g}) are {'met' if met else 'not met'}."
    )
    repeats = sum(
        a["cause"].endswith("a second alert for one person")
        for o in outcomes
        for a in o.unmatched
    )
    if repeats:
        which = "1 unmatched alert is" if repeats == 1 else f"{repeats} are"
        text += (
            f" {which} a second alert for a person whose visit had already "
            "alerted: the tracker gave a person it was following a new id, and "
            "no track had vanished nearby for the rules' handover to join the "
            "two. One person hiding another does this: while the detector sees "
            "one box for both, the track of the person behind moves onto the "
            "one in front, and when the hidden person is seen again they get a "
            "new id, and a second alert."
        )
    late = [a for o in outcomes for a in o.late]
    if late:
        worst = max(a["delay_s"] for a in late)
        which = "1 matched alert came" if len(late) == 1 else f"{len(late)} came"
        text += (
            f" {which} more than {LATE_S:g} s after the dwell was met (at most "
            f"{worst:+.2f} s): the person's visit alerted, but late (listed above)."
        )
    return text


def results_section(report: Report) -> str:
    """The markdown section of RESULTS.md for one run."""
    zones = "; ".join(
        f"{sequence} {zone} " + " ".join(f"({x:g}, {y:g})" for x, y in polygon)
        for sequence, scene in SCENES.items()
        for zone, polygon in scene.items()
    )
    misses = listing(report.outcomes)
    lines = [
        SECTION,
        "",
        f"Command: `{report.command}` (from the repository root); {report.date}; "
        f"{report.wall_s:.0f} s.",
        "",
        f"Machine: {report.machine}. Alert quality does not depend on the "
        "machine: the replay is deterministic.",
        "",
        "Each sequence is replayed once per zone through the whole camera "
        "pipeline (`replay_video`: motion gate, detector, tracker) and the "
        "rules (`AlertLog`), every frame, at the frame rate of its "
        f"`seqinfo.ini`. Site: the default detector (yolov3-tiny on OpenCV DNN at "
        f"{DARKNET_INPUT_SIZE}), tracker and motion gate; the camera keeps people; "
        "one restricted_area rule on people with the default min_dwell (0.5 s) "
        f"and min_score (0.5), exit grace {EXIT_GRACE_S:g} s. Zones (normalised "
        f"polygons, chosen by what the scene shows): {zones}. Expected alerts: "
        "the same rule fed the labelled boxes as tracks, a box flagged 0 counting "
        "as its person still there (it is not scored, but the person has not "
        "left). An alert matches an expected one when it starts within that "
        f"visit (give or take {report.slack_s:g} s) and its box overlaps the "
        f"labelled person's at that frame with IoU >= {MATCH_IOU:g}; matching is "
        "one to one, the most matches and then the least total delay (Hungarian). "
        "Delay: alert time minus expected alert time.",
        "",
        table(report.outcomes),
        "",
    ]
    if misses:
        lines += [
            "Missed expected alerts, unmatched alerts and late alerts:",
            "",
            *(f"- {line}" for line in misses.splitlines()),
            "",
        ]
    else:
        lines += [
            "No expected alert was missed, every alert matched, none was late.",
            "",
        ]
    lines.append(interpretation(report.outcomes))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=data_dir())
    parser.add_argument("--slack", type=float, default=1.0, help="seconds")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="also list missed expected alerts and alerts that matched none",
    )
    parser.add_argument("--results", type=Path, help="write the section here too")
    args = parser.parse_args()
    started = time.monotonic()
    outcomes = measure(args.data, args.slack)
    print(table(outcomes))
    if args.verbose:
        print()
        print(listing(outcomes))
    if args.results is not None:
        report = Report(
            command=" ".join(["python -m bench.alerts", *sys.argv[1:]]),
            date=datetime.now(UTC).isoformat(timespec="seconds"),
            machine=(
                f"{os.cpu_count()} CPUs, "
                f"{platform.processor() or platform.machine()}, "
                f"{platform.system()} {platform.release()}; Python "
                f"{platform.python_version()}, OpenCV {cv2.__version__}, PyAV "
                f"{av.__version__}, NumPy {np.__version__}"
            ),
            wall_s=time.monotonic() - started,
            slack_s=args.slack,
            outcomes=outcomes,
        )
        write_section(args.results, results_section(report))
        print(f"\nwritten to {args.results}")


if __name__ == "__main__":
    main()
