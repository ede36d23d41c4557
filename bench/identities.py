"""Cross-camera identities on real footage: two cameras cut from one sequence.

PETS09-S2L1 is cut into a left and a right view that overlap by a fifth of
the picture's width (left: x from 0 to 0.6 of the width, right: from 0.4 to
1), each written as an H.264 file, and replayed through the whole pipeline
(detector, tracker, appearance) as two cameras of one site. TUD-Campus is a
third camera, linked to both both ways, whose people are other people: none
of its tracks may join a PETS identity. Two sites are resolved from the same
tracks:

- **overlapping**: both views start together and the topology says they
  overlap;
- **linked**: the right view starts 20 s later and the topology has a link
  from left to right of 0 to 40 s (no overlap).

Each track is given the ground-truth person it follows: the person its box
overlaps at IoU >= 0.5 on more of its frames than any other, provided that is
at least a third of them (a tracker's id may pass from one person to another);
else none, and every join of that track counts as wrong. Over the pairs of
PETS tracks in different cameras: precision of "same identity" (pairs joined
that are the same person, over pairs joined) and recall (over pairs that are
the same person). Journeys: the
share of people seen by both cameras all of whose tracks are one identity.

Run: ``python -m bench.identities [--data DIR] [--results bench/RESULTS.md]
[--reuse]``; ``--reuse`` takes the replayed tracks from the last run
(``bench/out/identities/``) and only resolves again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pickle
import platform
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from itertools import combinations
from pathlib import Path
from typing import Any

import av
import numpy as np

from watchfloor.config import SiteConfig, parse_site
from watchfloor.pipeline import FinishedTrack, TrackAppearanceCollector
from watchfloor.replay import (
    MotCollector,
    find_video,
    replay_video,
    sighting_of,
)
from watchfloor.tracking.evaluation import MotRow, read_mot_file, read_seqinfo
from watchfloor.tracking.identities import IdentityResolver, resolve_in_batches

OUT = Path(__file__).resolve().parent / "out" / "identities"
LEFT = (0.0, 0.6)
RIGHT = (0.4, 1.0)
DELAY_S = 20.0
TUD_OFFSET_S = 30.0
HEADING = "## Cross-camera identities"

SITE = """
cameras:
  - {{name: left, url: left.mp4, detect: {{classes: [person]}}}}
  - {{name: right, url: right.mp4, detect: {{classes: [person]}}}}
  - {{name: tud, url: tud.mp4, detect: {{classes: [person]}}}}
topology:
{topology}
"""

OVERLAPPING = """
  overlaps:
    - cameras: [left, right]
      ground: {ground}
  links:
    - {from: tud, to: left, min_s: 0, max_s: 120, both_ways: true}
    - {from: tud, to: right, min_s: 0, max_s: 120, both_ways: true}
"""

LINKED = """
  links:
    - {from: left, to: right, min_s: 0, max_s: 40}
    - {from: tud, to: left, min_s: 0, max_s: 120, both_ways: true}
    - {from: tud, to: right, min_s: 0, max_s: 120, both_ways: true}
"""


@dataclass
class View:
    """One camera's replayed tracks, their boxes, and the ground truth."""

    camera: str
    tracks: list[FinishedTrack]
    rows: list[MotRow]
    truth: dict[int, dict[int, tuple[float, float, float, float]]]
    wall_s: float

    @property
    def person(self) -> dict[int, int | None]:
        """Tracker id -> the ground-truth person the track follows."""
        return people_of(self.rows, self.truth)


def strip(share: tuple[float, float], width: int) -> tuple[int, int]:
    """The pixel columns ``[left, right)`` of a vertical strip of a picture."""
    return round(share[0] * width) // 2 * 2, round(share[1] * width) // 2 * 2


# Ground points in the band both views see, as shares of the whole picture:
# what an installer would click in each camera's picture.
GROUND = [(0.42, 0.35), (0.58, 0.35), (0.58, 0.95), (0.42, 0.95), (0.5, 0.6)]


def ground_points(width: int) -> str:
    """The overlap's ground points as each view sees them, in site-file YAML."""
    views = {}
    for camera, share in (("left", LEFT), ("right", RIGHT)):
        left, right = strip(share, width)
        views[camera] = [
            [round((x * width - left) / (right - left), 4), y] for x, y in GROUND
        ]
    return str(views).replace("'", "")


def cut_view(video: Path, out: Path, share: tuple[float, float], fps: float) -> int:
    """Write the vertical strip ``share`` of ``video`` as H.264; its left edge."""
    with av.open(str(video)) as source:
        stream = source.streams.video[0]
        left, right = strip(share, stream.codec_context.width)
        with av.open(str(out), "w") as sink:
            encoded = sink.add_stream("libx264", rate=round(fps))
            encoded.width = right - left
            encoded.height = stream.codec_context.height
            encoded.pix_fmt = "yuv420p"
            encoded.options = {"preset": "veryfast", "crf": "18"}
            for frame in source.decode(stream):
                image = frame.to_ndarray(format="bgr24")[:, left:right]
                piece = av.VideoFrame.from_ndarray(
                    np.ascontiguousarray(image), format="bgr24"
                )
                for packet in encoded.encode(piece):
                    sink.mux(packet)
            for packet in encoded.encode():
                sink.mux(packet)
    return left


def view_truth(
    rows: list[MotRow], left: int, width: int
) -> dict[int, dict[int, tuple[float, float, float, float]]]:
    """Ground-truth boxes seen by a strip, by frame and person, in its pixels.

    A person counts in a strip where at least half of their box is inside it.
    """
    boxes: dict[int, dict[int, tuple[float, float, float, float]]] = defaultdict(dict)
    for row in rows:
        if row.ignored:
            continue
        x1, y1, x2, y2 = row.box
        cx1, cx2 = max(x1, left), min(x2, left + width)
        if cx2 - cx1 < 0.5 * (x2 - x1):
            continue
        boxes[row.frame][row.track_id] = (cx1 - left, y1, cx2 - left, y2)
    return boxes


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def people_of(
    predicted: list[MotRow],
    truth: dict[int, dict[int, tuple[float, float, float, float]]],
) -> dict[int, int | None]:
    """The ground-truth person each track follows on most of its frames."""
    votes: dict[int, Counter[int]] = defaultdict(Counter)
    frames: Counter[int] = Counter()
    for row in predicted:
        frames[row.track_id] += 1
        best, best_iou = None, 0.5
        for person, box in truth.get(row.frame, {}).items():
            iou = _iou(row.box, box)
            if iou >= best_iou:
                best, best_iou = person, iou
        if best is not None:
            votes[row.track_id][best] += 1
    people: dict[int, int | None] = {}
    for track, seen in frames.items():
        top = votes[track].most_common(1)
        people[track] = top[0][0] if top and top[0][1] >= seen / 3 else None
    return people


def replay_view(
    site: SiteConfig,
    camera: str,
    video: Path,
    frame_rate: float,
    truth: dict[int, dict[int, tuple[float, float, float, float]]],
) -> View:
    tracks: list[FinishedTrack] = []
    boxes = MotCollector()
    started = time.monotonic()
    replay_video(
        site,
        site.camera(camera),
        video,
        [TrackAppearanceCollector(camera, tracks.append), boxes],
        frame_rate=frame_rate,
    )
    return View(
        camera, tracks, people_of(boxes.rows, truth), time.monotonic() - started
    )


def replay_views(data: Path) -> dict[str, View]:
    OUT.mkdir(parents=True, exist_ok=True)
    pets, tud = data / "PETS09-S2L1", data / "TUD-Campus"
    pets_info, tud_info = (
        read_seqinfo(pets / "seqinfo.ini"),
        read_seqinfo(tud / "seqinfo.ini"),
    )
    gt = read_mot_file(pets / "gt" / "gt.txt")
    site = parse_site(SITE.format(topology=LINKED))
    views: dict[str, View] = {}
    for camera, share in (("left", LEFT), ("right", RIGHT)):
        path = OUT / f"{camera}.mp4"
        left = cut_view(find_video(pets), path, share, pets_info.frame_rate)
        width = strip(share, pets_info.width)[1] - left
        truth = view_truth(gt, left, width)
        print(f"replaying {camera} ({width} px wide from x={left})", flush=True)
        views[camera] = replay_view(site, camera, path, pets_info.frame_rate, truth)
    truth = view_truth(read_mot_file(tud / "gt" / "gt.txt"), 0, tud_info.width)
    print("replaying tud", flush=True)
    views["tud"] = replay_view(site, "tud", find_video(tud), tud_info.frame_rate, truth)
    with (OUT / "views.pickle").open("wb") as out:
        pickle.dump(views, out)
    return views


@dataclass
class Outcome:
    scenario: str
    pairs_joined: int
    pairs_true: int
    pairs_same: int
    people_both: int
    people_one_identity: int
    tud_joined: int
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
        return self.people_one_identity / self.people_both if self.people_both else 0


def resolve(views: dict[str, View], topology: str, right_delay_s: float) -> Outcome:
    site = parse_site(SITE.format(topology=topology))
    offsets = {"left": 0.0, "right": right_delay_s, "tud": TUD_OFFSET_S}
    tracks: list[tuple[str, FinishedTrack]] = []
    for name, view in views.items():
        shift = dt.timedelta(seconds=offsets[name])
        for track in view.tracks:
            tracks.append(
                (
                    name,
                    replace(
                        track,
                        first_seen=track.first_seen + shift,
                        last_seen=track.last_seen + shift,
                        path=tuple((t + offsets[name], x, y) for t, x, y in track.path),
                    ),
                )
            )
    sightings = [sighting_of(k, t) for k, (_, t) in enumerate(tracks)]
    resolver = IdentityResolver(site.topology, site.identities)
    assignments = resolve_in_batches(
        resolver, sightings, site.identities.resolve_every_s
    )
    identity = {a.sighting.key: a.identity for a in assignments}
    people = {name: view.person for name, view in views.items()}
    person = {k: people[name].get(t.tracker_id) for k, (name, t) in enumerate(tracks)}
    camera = {k: name for k, (name, _) in enumerate(tracks)}

    pets = [k for k in camera if camera[k] != "tud"]
    joined = true = same = 0
    for a, b in combinations(pets, 2):
        if camera[a] == camera[b]:
            continue
        together = identity[a] == identity[b]
        alike = person[a] is not None and person[a] == person[b]
        joined += together
        same += alike
        true += together and alike
    pets_identities = {identity[k] for k in pets}
    tud_joined = sum(
        1 for k in camera if camera[k] == "tud" and identity[k] in pets_identities
    )
    by_person: dict[int, list[int]] = defaultdict(list)
    for k in pets:
        if person[k] is not None:
            by_person[person[k]].append(k)  # type: ignore[index]
    both = [p for p, ks in by_person.items() if len({camera[k] for k in ks}) == 2]
    whole = [p for p in both if len({identity[k] for k in by_person[p]}) == 1]
    scenario = "overlapping" if right_delay_s == 0 else f"linked, right +{DELAY_S:g} s"
    return Outcome(
        scenario,
        joined,
        true,
        same,
        len(both),
        len(whole),
        tud_joined,
        len(tracks),
        len(set(identity.values())),
    )


def table(outcomes: list[Outcome]) -> str:
    lines = [
        "| site | tracks | identities | PETS cross-camera pairs joined | of them "
        "the same person | same-person pairs | pairwise precision | pairwise recall "
        "| people in both views | journeys as one identity | TUD tracks joined "
        "to a PETS identity |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        lines.append(
            f"| {o.scenario} | {o.tracks} | {o.identities} | {o.pairs_joined} "
            f"| {o.pairs_true} | {o.pairs_same} | {o.precision:.2f} | {o.recall:.2f} "
            f"| {o.people_both} | {o.people_one_identity} ({o.journeys:.0%}) "
            f"| {o.tud_joined} |"
        )
    return "\n".join(lines)


def report(views: dict[str, View], outcomes: list[Outcome]) -> str:
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    machine = (
        f"{os.cpu_count()} CPUs, {platform.machine()}, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}"
    )
    replays = ", ".join(
        f"{v.camera} {len(v.tracks)} tracks in {v.wall_s:.0f} s" for v in views.values()
    )
    settings = parse_site("").identities
    overlap = outcomes[0]
    text = [
        HEADING,
        "",
        f"Command: `python -m bench.identities --results bench/RESULTS.md` (from "
        f"the repository root); {now}.",
        "",
        f"Machine: {machine}.",
        "",
        (__doc__ or "").split("\n\n", 1)[1].split("\n\nRun:")[0].strip(),
        "",
        f"Settings: the defaults (`identities`: max_distance {settings.max_distance}, "
        f"max_distance_on_ground {settings.max_distance_on_ground}, "
        f"ground_tolerance {settings.ground_tolerance}, "
        f"margin {settings.margin}, overlap_slack_s {settings.overlap_slack_s}, "
        f"resolve_every_s {settings.resolve_every_s}); detector and tracker "
        f"defaults, every frame at the sequences' capture rates. Replays: {replays}.",
        "",
        table(outcomes),
        "",
        f"Targets on the overlapping pair: pairwise precision >= 0.9 "
        f"({overlap.precision:.2f}: {'met' if overlap.precision >= 0.9 else 'NOT met'}"
        f"), recall >= 0.7 ({overlap.recall:.2f}: "
        f"{'met' if overlap.recall >= 0.7 else 'NOT met'}).",
    ]
    return "\n".join(text) + "\n"


def write_results(path: Path, section: str) -> None:
    text = (
        path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    )
    if HEADING in text:
        head, rest = text.split(HEADING, 1)
        tail = rest.split("\n## ", 1)
        text = head + section + ("\n## " + tail[1] if len(tail) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get(
        "WATCHFLOOR_TEST_DATA",
        str(Path(__file__).resolve().parents[2] / "shared" / "data"),
    )
    parser.add_argument("--data", type=Path, default=Path(default))
    parser.add_argument("--results", type=Path, help="write the section here")
    parser.add_argument("--reuse", action="store_true", help="reuse replayed tracks")
    args = parser.parse_args(argv)
    if args.reuse and (OUT / "views.pickle").exists():
        with (OUT / "views.pickle").open("rb") as handle:
            views: dict[str, Any] = pickle.load(handle)
    else:
        views = replay_views(args.data)
    width = read_seqinfo(args.data / "PETS09-S2L1" / "seqinfo.ini").width
    overlapping = OVERLAPPING.replace("{ground}", ground_points(width))
    outcomes = [resolve(views, overlapping, 0.0), resolve(views, LINKED, DELAY_S)]
    section = report(views, outcomes)
    print(section)
    if args.results:
        write_results(args.results, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
