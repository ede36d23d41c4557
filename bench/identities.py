"""Cross-camera identities on real footage: two cameras cut from one sequence.

PETS09-S2L1 is cut into a left and a right view that overlap by a fifth of
the picture's width (left: x from 0 to 0.6 of the width, right: from 0.4 to
1), each written as an H.264 file, and replayed through the whole pipeline
(detector, tracker, appearance) as two cameras of one site; this is done at
three x264 qualities (CRF), since a slightly different picture gives the
detector slightly different boxes and the tracks change with them, and the
targets are judged on the median. TUD-Campus is a third camera, linked to
both both ways, whose people are other people: none of its tracks may join a
PETS identity. Two sites are resolved from the same tracks:

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
the same person). Journeys: the share of people seen by both cameras all of
whose tracks are one identity.

Run: ``python -m bench.identities [--data DIR] [--results bench/RESULTS.md]
[--reuse] [--crf N ...] [--compare-tracker JSON]``; ``--reuse`` takes the
replayed tracks from the last run (``bench/out/identities/``) and only
resolves again; ``--crf`` sets the x264 qualities the views are written at
(default 18, 20 and 22);
``--compare-tracker '{"end_at_exit": false}'`` replays the same encoded views
a second time with those tracker settings and sets the scores side by side.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import platform
import shlex
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import combinations
from pathlib import Path
from typing import Any

import av
import numpy as np

from bench.footage import data_dir
from bench.results import write_section
from watchfloor.config import SiteConfig, parse_site
from watchfloor.pipeline import FinishedTrack, TrackAppearanceCollector
from watchfloor.replay import (
    MotCollector,
    find_video,
    replay_video,
)
from watchfloor.tracking.evaluation import MotRow, read_mot_file, read_seqinfo
from watchfloor.tracking.identities import IdentityResolver, resolve_in_batches
from watchfloor.tracking.identity_scoring import (
    IdentityScores,
    ScoredTrack,
    follows,
    people_of,
    score_identities,
)

OUT = Path(__file__).resolve().parent / "out" / "identities"
LEFT = (0.0, 0.6)
RIGHT = (0.4, 1.0)
DELAY_S = 20.0
TUD_OFFSET_S = 30.0
HEADING = "## Cross-camera identities"
ENCODINGS = (18, 20, 22)
"""x264 quality settings (CRF) the two views are written at, one replay each."""

CAMERA = "  - {{name: {0}, url: {0}.mp4, detect: {{classes: [person]}}}}"
TUD_LINKS = """
    - {from: tud, to: left, min_s: 0, max_s: 120, both_ways: true}
    - {from: tud, to: right, min_s: 0, max_s: 120, both_ways: true}"""


def site_text(overlapping: bool, width: int, with_tud: bool = True) -> str:
    """The site file of the two PETS views (and TUD-Campus): overlapping, with
    ground points, or linked from left to right."""
    names = ["left", "right", "tud"] if with_tud else ["left", "right"]
    lines = ["cameras:", *(CAMERA.format(name) for name in names), "topology:"]
    if overlapping:
        lines += [
            "  overlaps:",
            "    - cameras: [left, right]",
            f"      ground: {ground_points(width)}",
            "  links:",
        ]
        if not with_tud:
            lines[-1] = "  links: []"
    else:
        lines += ["  links:", "    - {from: left, to: right, min_s: 0, max_s: 40}"]
    if with_tud:
        lines.append(TUD_LINKS.strip("\n"))
    return "\n".join(lines) + "\n"


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

    @property
    def purity(self) -> dict[int, float]:
        """Tracker id -> the share of its frames on the person it follows."""
        return {k: share for k, (_, share) in follows(self.rows, self.truth).items()}


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


def cut_view(
    video: Path,
    out: Path,
    share: tuple[float, float],
    fps: float,
    max_frames: int | None = None,
    crf: int = ENCODINGS[0],
) -> int:
    """Write the vertical strip ``share`` of ``video`` (its first ``max_frames``
    frames, or all) as H.264 at quality ``crf``; return the strip's left edge
    in pixels. One encoding thread and no macroblock tree: with x264's own
    threads, or with its macroblock tree (whose SIMD code reads memory it
    never wrote), the same input gives a different first group of pictures
    from run to run, and the scores measured on the views would not repeat."""
    with av.open(str(video)) as source:
        stream = source.streams.video[0]
        left, right = strip(share, stream.codec_context.width)
        with av.open(str(out), "w") as sink:
            encoded = sink.add_stream("libx264", rate=round(fps))
            encoded.width = right - left
            encoded.height = stream.codec_context.height
            encoded.pix_fmt = "yuv420p"
            encoded.options = {
                "preset": "veryfast",
                "crf": str(crf),
                "threads": "1",
                "x264-params": "mbtree=0",
            }
            for index, frame in enumerate(source.decode(stream)):
                if max_frames is not None and index >= max_frames:
                    break
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
    return View(camera, tracks, boxes.rows, dict(truth), time.monotonic() - started)


def replay_views(
    data: Path,
    tracker: dict[str, Any] | None = None,
    cut: bool = True,
    crf: int = ENCODINGS[0],
    tud: View | None = None,
) -> dict[str, View]:
    """Cut the two views at quality ``crf`` (unless ``cut`` is false: those of
    the last run) and replay them and TUD-Campus (unless ``tud`` is given),
    the tracker's settings updated by ``tracker``."""
    folder = OUT / f"crf{crf}"
    folder.mkdir(parents=True, exist_ok=True)
    pets = data / "PETS09-S2L1"
    pets_info = read_seqinfo(pets / "seqinfo.ini")
    gt = read_mot_file(pets / "gt" / "gt.txt")
    site = parse_site(site_text(False, pets_info.width))
    if tracker:
        site = site.model_copy(
            update={"tracker": site.tracker.model_copy(update=tracker)}
        )
    views: dict[str, View] = {}
    for camera, share in (("left", LEFT), ("right", RIGHT)):
        path = folder / f"{camera}.mp4"
        if cut:
            cut_view(find_video(pets), path, share, pets_info.frame_rate, crf=crf)
        left, right = strip(share, pets_info.width)
        truth = view_truth(gt, left, right - left)
        print(
            f"replaying {camera} at CRF {crf} ({right - left} px wide from x={left})",
            flush=True,
        )
        views[camera] = replay_view(site, camera, path, pets_info.frame_rate, truth)
    if tud is None:
        sequence = data / "TUD-Campus"
        info = read_seqinfo(sequence / "seqinfo.ini")
        truth = view_truth(read_mot_file(sequence / "gt" / "gt.txt"), 0, info.width)
        print("replaying tud", flush=True)
        tud = replay_view(site, "tud", find_video(sequence), info.frame_rate, truth)
    views["tud"] = tud
    return views


def replay_encodings(
    data: Path,
    encodings: Sequence[int],
    tracker: dict[str, Any] | None = None,
    cut: bool = True,
) -> dict[int, dict[str, View]]:
    """The views replayed at each quality of ``encodings`` (TUD-Campus, which
    is not cut, once)."""
    replayed: dict[int, dict[str, View]] = {}
    tud: View | None = None
    for crf in encodings:
        replayed[crf] = replay_views(data, tracker, cut, crf, tud)
        tud = replayed[crf]["tud"]
    return replayed


@dataclass
class Outcome:
    scenario: str
    scores: IdentityScores
    tud_joined: int
    errors: int = 0
    errors_on_mixed_tracks: int = 0
    crf: int | None = None


def resolve_sites(replayed: dict[int, dict[str, View]], width: int) -> list[Outcome]:
    """Both sites, overlapping then linked, resolved for each encoding."""
    return [
        replace(
            resolve(views, parse_site(site_text(overlapping, width)), delay), crf=crf
        )
        for crf, views in replayed.items()
        for overlapping, delay in ((True, 0.0), (False, DELAY_S))
    ]


def resolve(views: dict[str, View], site: SiteConfig, right_delay_s: float) -> Outcome:
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
    summaries = [t.summary(k) for k, (_, t) in enumerate(tracks)]
    resolver = IdentityResolver(site.topology, site.identities)
    assignments = resolve_in_batches(
        resolver, summaries, site.identities.resolve_every_s
    )
    identity = {a.summary.key: a.identity for a in assignments}
    people = {name: view.person for name, view in views.items()}
    scored = [
        ScoredTrack(name, identity[k], people[name].get(t.tracker_id))
        for k, (name, t) in enumerate(tracks)
    ]
    pets_identities = {s.identity for s in scored if s.camera != "tud"}
    tud_joined = sum(
        1 for s in scored if s.camera == "tud" and s.identity in pets_identities
    )
    scenario = "overlapping" if right_delay_s == 0 else f"linked, right +{DELAY_S:g} s"
    pets = [s for s in scored if s.camera != "tud"]
    # Wrong joins and missed ones, and how many involve a track that is not
    # on one person for at least 80 % of its frames (a tracker id switch).
    purity = {name: view.purity for name, view in views.items()}
    pure = [purity[name].get(t.tracker_id, 0.0) >= 0.8 for name, t in tracks]
    errors = mixed = 0
    for a, b in combinations(range(len(scored)), 2):
        x, y = scored[a], scored[b]
        if "tud" in (x.camera, y.camera) or x.camera == y.camera:
            continue
        together = x.identity == y.identity
        alike = x.person is not None and x.person == y.person
        if together != alike:
            errors += 1
            mixed += not (pure[a] and pure[b])
    return Outcome(scenario, score_identities(pets), tud_joined, errors, mixed)


def table(outcomes: list[Outcome]) -> str:
    lines = [
        "| site | encoding | PETS tracks | identities | PETS cross-camera pairs "
        "joined | of them the same person | same-person pairs | pairwise precision "
        "| pairwise recall | people in both views | journeys as one identity "
        "| TUD tracks joined to a PETS identity |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for o in sorted(outcomes, key=lambda o: (o.scenario != "overlapping", o.crf)):
        s = o.scores
        lines.append(
            f"| {o.scenario} | CRF {o.crf} | {s.tracks} | {s.identities} "
            f"| {s.pairs_joined} | {s.pairs_true} | {s.pairs_same} "
            f"| {s.precision:.2f} | {s.recall:.2f} | {s.people_seen_twice} "
            f"| {s.journeys_whole} ({s.journeys:.0%}) | {o.tud_joined} |"
        )
    return "\n".join(lines)


def median(values: Sequence[float]) -> float:
    """The median of the encodings' scores."""
    return float(np.median(values))


def target_line(outcomes: list[Outcome]) -> str:
    """The overlapping pair's precision and recall against the targets: the
    median over the encodings, and each."""
    overlapping = [o for o in outcomes if o.scenario == "overlapping"]
    parts = []
    for name, target in (("precision", 0.9), ("recall", 0.7)):
        values = [getattr(o.scores, name) for o in overlapping]
        each = ", ".join(
            f"CRF {o.crf} {o.scores.pairs_true} of "
            f"{o.scores.pairs_joined if name == 'precision' else o.scores.pairs_same}"
            f" = {getattr(o.scores, name):.3f}"
            for o in overlapping
        )
        met = "met" if median(values) >= target else "NOT met"
        parts.append(
            f"pairwise {name} >= {target} (median {median(values):.3f}: {met}; {each})"
        )
    return "Targets on the overlapping pair: " + "; ".join(parts) + "."


def report(
    replayed: dict[int, dict[str, View]], outcomes: list[Outcome], command: str
) -> str:
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    machine = (
        f"{os.cpu_count()} CPUs, {platform.machine()}, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}"
    )
    replays = "; ".join(
        f"CRF {crf}: "
        + ", ".join(
            f"{v.camera} {len(v.tracks)} tracks in {v.wall_s:.0f} s"
            for v in views.values()
        )
        + f" (tracks on one person for less than 80 % of their frames: "
        f"{impure(views)})"
        for crf, views in replayed.items()
    )
    settings = parse_site("").identities
    text = [
        HEADING,
        "",
        f"Command: `{command}` (from the repository root); {now}.",
        "",
        f"Machine: {machine}.",
        "",
        (__doc__ or "").split("\n\n", 1)[1].split("\n\nRun:")[0].strip(),
        "",
        f"Settings: the defaults (`identities`: max_distance {settings.max_distance}, "
        f"max_distance_on_ground {settings.max_distance_on_ground}, "
        f"ground_tolerance {settings.ground_tolerance}, "
        f"margin {settings.margin}, overlap_slack_s {settings.overlap_slack_s}, "
        f"resolve_every_s {settings.resolve_every_s}, reappear_max_s "
        f"{settings.reappear_max_s}, reappear_distance "
        f"{settings.reappear_distance}, reappear_max_distance "
        f"{settings.reappear_max_distance}); detector and tracker "
        f"defaults, every frame at the sequences' capture rates. Replays: {replays}.",
        "",
        table(outcomes),
        "",
        target_line(outcomes),
        "",
        "Wrong or missed pairs, and how many of them involve a track on one "
        "person for less than 80 % of its frames (the per-camera tracker passed "
        "its id from one person to another): "
        + "; ".join(
            f"{o.scenario}, CRF {o.crf}: {o.errors_on_mixed_tracks} of {o.errors}"
            for o in outcomes
        )
        + ". Such a track is two people's halves: joining it is wrong for one "
        "half and leaving it is a miss for the other, so the per-camera "
        "tracker's id switches bound what the resolver can reach. Appearance "
        "alone (the linked site, and TUD-Campus, whose people never joined a "
        "PETS identity) is kept strict, so it misses more than it joins.",
    ]
    return "\n".join(text) + "\n"


REAPPEAR_SWEEP: tuple[float | None, ...] = (None, 3.0, 5.0, 8.0)


def reappear_sweep(replayed: dict[int, dict[str, View]], width: int) -> str:
    """Pairwise scores of both sites as ``reappear_max_s`` varies (the rest
    at the defaults), medians over the encodings: how much the default owes
    to this footage."""
    lines = [
        "Sensitivity to `identities.reappear_max_s` (a track seen again in its "
        "own camera), the other settings at their defaults, medians over the "
        "encodings:",
        "",
        "| reappear_max_s | overlapping precision | overlapping recall "
        "| linked precision | linked recall |",
        "|---|---|---|---|---|",
    ]
    for value in REAPPEAR_SWEEP:
        row = []
        for overlapping, delay in ((True, 0.0), (False, DELAY_S)):
            site = parse_site(site_text(overlapping, width))
            settings = site.identities.model_copy(update={"reappear_max_s": value})
            site = site.model_copy(update={"identities": settings})
            scores = [resolve(v, site, delay).scores for v in replayed.values()]
            row += [
                f"{median([s.precision for s in scores]):.2f}",
                f"{median([s.recall for s in scores]):.2f}",
            ]
        label = "off" if value is None else f"{value:g} s"
        default = parse_site("").identities.reappear_max_s
        if value == default:
            label += " (default)"
        lines.append(f"| {label} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def impure(views: dict[str, View]) -> str:
    """How many tracks of each PETS view are on one person for less than
    80 % of their frames (the tracker passed their id on)."""
    return ", ".join(
        f"{name} {sum(share < 0.8 for share in views[name].purity.values())} of "
        f"{len(views[name].tracks)}"
        for name in ("left", "right")
    )


def tracker_comparison(
    replayed: dict[int, dict[str, View]],
    other: dict[int, dict[str, View]],
    changed: dict[str, Any],
    width: int,
) -> str:
    """The scores of the same views replayed with the tracker's defaults and
    with ``changed``: what a tracker setting does to identities."""
    setting = ", ".join(f"{k}: {json.dumps(v)}" for k, v in changed.items())
    lines = [
        f"The same views replayed again in this run with `tracker: {{{setting}}}`, "
        "beside the defaults (same encoded files, so only the tracker differs):",
        "",
        "| tracker | encoding | PETS tracks | tracks on one person < 80 % of "
        "their frames | overlapping precision | overlapping recall | linked "
        "precision | linked recall | journeys (overlapping) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, encodings in (("defaults", replayed), (setting, other)):
        outcomes = resolve_sites(encodings, width)
        for views, overlapping, linked in zip(
            encodings.values(), outcomes[::2], outcomes[1::2], strict=True
        ):
            o, k = overlapping.scores, linked.scores
            lines.append(
                f"| {label} | CRF {overlapping.crf} | {o.tracks} | {impure(views)} "
                f"| {o.precision:.2f} | {o.recall:.2f} | {k.precision:.2f} "
                f"| {k.recall:.2f} | {o.journeys_whole} of {o.people_seen_twice} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=data_dir())
    parser.add_argument("--results", type=Path, help="write the section here")
    parser.add_argument("--reuse", action="store_true", help="reuse replayed tracks")
    parser.add_argument(
        "--crf",
        type=int,
        nargs="+",
        default=list(ENCODINGS),
        help="x264 qualities to write the views at, one replay each "
        f"(default: {' '.join(map(str, ENCODINGS))})",
    )
    parser.add_argument(
        "--compare-tracker",
        type=json.loads,
        metavar="JSON",
        help="replay the same views again with these tracker settings, e.g. "
        "'{\"end_at_exit\": false}', and compare",
    )
    args = parser.parse_args(argv)
    saved = OUT / "views.pickle"
    if args.reuse and saved.exists():
        with saved.open("rb") as handle:
            replayed: dict[int, dict[str, View]] = pickle.load(handle)
    else:
        replayed = replay_encodings(args.data, args.crf)
        with saved.open("wb") as out:
            pickle.dump(replayed, out)
    width = read_seqinfo(args.data / "PETS09-S2L1" / "seqinfo.ini").width
    outcomes = resolve_sites(replayed, width)
    command = " ".join(
        [
            "python -m bench.identities",
            *map(shlex.quote, sys.argv[1:] if argv is None else argv),
        ]
    )
    section = (
        report(replayed, outcomes, command)
        + "\n"
        + reappear_sweep(replayed, width)
        + "\n"
    )
    if args.compare_tracker:
        other = replay_encodings(
            args.data, list(replayed), tracker=args.compare_tracker, cut=False
        )
        comparison = tracker_comparison(replayed, other, args.compare_tracker, width)
        section += "\n" + comparison + "\n"
    print(section)
    if args.results:
        write_section(args.results, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
