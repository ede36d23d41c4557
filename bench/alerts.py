"""Alert quality on labelled footage: recall, precision and delay of zone alerts.

For each sequence and zone, the expected alerts are what the same rule makes
of the ground-truth tracks (the same bottom-centre rule and dwell, fed the
labelled boxes as tracks). The measured alerts are those of a replay through
the whole pipeline (detector, tracker, rules), as ``watchfloor replay
--alerts-out`` writes them. An alert matches an expected one when it starts
within that visit (give or take ``--slack`` seconds) and its box overlaps the
labelled person's box at that frame (IoU >= 0.3); matching is one to one,
with the most matches and then the least total delay.

Run: ``python -m bench.alerts [--data DIR] [--verbose]``; ``--verbose`` also
lists each expected alert that was missed and each alert that matched none,
with its frame, time, track and box.
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from watchfloor.config import parse_site
from watchfloor.replay import DEFAULT_ORIGIN, AlertLog, find_video, replay_video
from watchfloor.rules.evaluator import RuleEvaluator, RuleSet
from watchfloor.tracking.evaluation import read_mot_file, read_seqinfo
from watchfloor.tracking.tracker import TrackedObject, TrackerUpdate, TrackState

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


@dataclass
class Outcome:
    sequence: str
    zone: str
    expected: int
    alerts: int
    matched: int
    delays: list[float]
    missed: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.matched / self.expected if self.expected else 1.0

    @property
    def precision(self) -> float:
        return self.matched / self.alerts if self.alerts else 1.0


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
) -> tuple[list[dict[str, Any]], dict[int, dict[int, tuple[float, ...]]]]:
    """The rule's alerts on the labelled tracks, and the labelled boxes by frame."""
    boxes: dict[int, dict[int, tuple[float, ...]]] = defaultdict(dict)
    for row in read_mot_file(gt_path):
        if not row.ignored:
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


def match(
    expected: list[dict[str, Any]],
    alerts: list[dict[str, Any]],
    boxes: dict[int, dict[int, tuple[float, ...]]],
    slack_s: float,
) -> tuple[int, list[float]]:
    """One-to-one matches of alerts to expected ones; delays of the matches."""
    pairs = match_pairs(expected, alerts, boxes, slack_s)
    return len(pairs), [alerts[j]["time_s"] - expected[i]["time_s"] for i, j in pairs]


def match_pairs(
    expected: list[dict[str, Any]],
    alerts: list[dict[str, Any]],
    boxes: dict[int, dict[int, tuple[float, ...]]],
    slack_s: float,
) -> list[tuple[int, int]]:
    """One-to-one matches as (index in ``expected``, index in ``alerts``).

    The assignment with the most matches, and among those the least total
    delay (the Hungarian method, as CLEAR MOT matches boxes)."""
    unmatched = 1e6
    cost = np.full((len(expected), len(alerts)), unmatched)
    for i, want in enumerate(expected):
        end = want["end_s"] if want["end_s"] is not None else float("inf")
        for j, got in enumerate(alerts):
            if not (want["entered_s"] - slack_s <= got["time_s"] <= end + slack_s):
                continue
            labelled = boxes.get(got["frame"], {}).get(want["track_id"])
            if labelled is None or got["box"] is None:
                continue
            if _iou(tuple(got["box"]), labelled) < 0.3:
                continue
            cost[i, j] = abs(got["time_s"] - want["time_s"])
    if cost.size == 0:
        return []
    rows, cols = linear_sum_assignment(cost)
    return sorted(
        (int(i), int(j))
        for i, j in zip(rows, cols, strict=True)
        if cost[i, j] < unmatched
    )


def measure(data: Path, slack_s: float) -> list[Outcome]:
    outcomes = []
    for sequence, zones in SCENES.items():
        folder = data / sequence
        if not folder.is_dir():
            print(f"skipping {sequence}: not in {data}")
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
            pairs = match_pairs(expected, log.alerts, boxes, slack_s)
            delays = [log.alerts[j]["time_s"] - expected[i]["time_s"] for i, j in pairs]
            hit_expected = {i for i, _ in pairs}
            hit_alerts = {j for _, j in pairs}
            outcome = Outcome(
                sequence, zone, len(expected), len(log.alerts), len(pairs), delays
            )
            outcome.missed = [
                _with_overlaps(e, boxes)
                for i, e in enumerate(expected)
                if i not in hit_expected
            ]
            outcome.unmatched = [
                _with_overlaps(a, boxes)
                for j, a in enumerate(log.alerts)
                if j not in hit_alerts
            ]
            outcomes.append(outcome)
    return outcomes


def _with_overlaps(
    alert: dict[str, Any], boxes: dict[int, dict[int, tuple[float, ...]]]
) -> dict[str, Any]:
    """An alert with the labelled people its box overlaps at its frame (by IoU)."""
    overlaps: list[tuple[int, float]] = []
    if alert["box"] is not None:
        for person, box in boxes.get(alert["frame"], {}).items():
            iou = _iou(tuple(alert["box"]), box)
            if iou > 0.0:
                overlaps.append((person, round(iou, 2)))
    overlaps.sort(key=lambda item: -item[1])
    return {**alert, "overlaps": overlaps}


def listing(outcomes: list[Outcome]) -> str:
    """The missed expected alerts and the unmatched alerts, one per line."""

    def describe(alert: dict[str, Any]) -> str:
        box = ", ".join(f"{v:.0f}" for v in alert["box"]) if alert["box"] else "-"
        end = "open" if alert["end_s"] is None else f"{alert['end_s']:.2f}"
        people = ", ".join(f"{p} (IoU {iou:.2f})" for p, iou in alert["overlaps"])
        return (
            f"frame {alert['frame']}, t {alert['time_s']:.2f} s, track "
            f"{alert['track_id']}, box [{box}], in zone {alert['entered_s']:.2f}"
            f"-{end} s; labelled people overlapping: {people or 'none'}"
        )

    lines = []
    for o in outcomes:
        for alert in o.missed:
            lines.append(f"{o.sequence} {o.zone} missed: {describe(alert)}")
        for alert in o.unmatched:
            lines.append(f"{o.sequence} {o.zone} unmatched alert: {describe(alert)}")
    return "\n".join(lines)


def table(outcomes: list[Outcome]) -> str:
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
    expected = sum(o.expected for o in outcomes)
    alerts = sum(o.alerts for o in outcomes)
    matched = sum(o.matched for o in outcomes)
    lines.append(
        f"| all | | {expected} | {alerts} | {matched} "
        f"| {matched / max(expected, 1):.2f} | {matched / max(alerts, 1):.2f} | | |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get(
        "WATCHFLOOR_TEST_DATA",
        str(Path(__file__).resolve().parents[2] / "shared" / "data"),
    )
    parser.add_argument("--data", type=Path, default=Path(default))
    parser.add_argument("--slack", type=float, default=1.0, help="seconds")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="also list missed expected alerts and alerts that matched none",
    )
    args = parser.parse_args()
    outcomes = measure(args.data, args.slack)
    print(table(outcomes))
    if args.verbose:
        print()
        print(listing(outcomes))


if __name__ == "__main__":
    main()
