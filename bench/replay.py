"""Benchmark of tracking accuracy and replay speed, with the motion gate on and off.

Run from the repository root::

    python -m bench.replay                                # print the section
    python -m bench.replay --results bench/RESULTS.md     # and write it there
    python -m bench.replay --rounds 1 --alt-sizes         # quicker: 608 only

Each labelled sequence (PETS09-S2L1, TUD-Campus, from ``--data`` or
$WATCHFLOOR_TEST_DATA) is replayed through the whole camera pipeline (motion
gate, detector, tracker) by :func:`watchfloor.replay.evaluate_sequence`, with
the default site (``parse_site("")``) and, for comparison, the same site with a
smaller detector input (``detector: {input_size: 416}``). Every frame is
processed; frame times come from ``seqinfo.ini``. Tracks are scored with MOTA,
IDF1 and their counts, detections with person AP50 on the frames processed.

Speed is seconds of video per second of wall time of the replay (decoding,
gate, detector and tracker; not loading the model, not scoring), CPU is the
process's CPU time over the same span (all its threads) per second of video.
Gate on and gate off run in one process, interleaved, their order alternating
from round to round, after one warm-up call of each detector; timings are
medians over the rounds. Accuracy is the same in every round when the pipeline
is deterministic, which the benchmark checks and reports. One run is repeated
through ``watchfloor eval --json`` in a child process to check that the command
line gives the same scores.

Limitations:
    The machine's two cores are shared with other work, whose CPU during each
    run is reported beside it: speed depends on it, CPU per video second much
    less. Two sequences of 2 and 114 seconds are little footage; the scores say
    how this detector and tracker do on these scenes, not on every site.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from bench.footage import data_dir
from bench.results import write_section
from watchfloor.config import SiteConfig, parse_site
from watchfloor.detection.factory import DARKNET_INPUT_SIZE, load_detector
from watchfloor.replay import SequenceScores, evaluate_sequence

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_FILE = REPO_ROOT / "bench" / "out" / "replay.json"
SECTION = "## Tracking accuracy and replay speed"
SEQUENCES = ("PETS09-S2L1", "TUD-Campus")

# (sequence, measure, least value) for the default site.
TARGETS = (
    ("PETS09-S2L1", "mota", 0.65),
    ("PETS09-S2L1", "idf1", 0.65),
    ("TUD-Campus", "mota", 0.55),
)
GATE_MOTA_LOSS = 0.01
"""Most MOTA that the motion gate may cost on PETS09-S2L1."""

ACCURACY = ("frames", "mota", "idf1", "id_switches", "precision", "recall", "ap50")


@dataclass(frozen=True)
class Setup:
    """One configuration: detector input size (None: the default) and gate."""

    input_size: int | None
    motion_gate: bool

    @property
    def size_label(self) -> str:
        if self.input_size is None:
            return f"{DARKNET_INPUT_SIZE} (default)"
        return str(self.input_size)

    @property
    def gate_label(self) -> str:
        return "on" if self.motion_gate else "off"


@dataclass
class Run:
    """One replay of one sequence in one configuration."""

    sequence: str
    setup: Setup
    round: int
    scores: dict[str, Any]
    other_cpu_pct: float

    @property
    def accuracy(self) -> tuple[Any, ...]:
        detected = self.scores["replay"]["frames_detected"]
        return (*(self.scores[k] for k in ACCURACY), detected)


@dataclass
class Report:
    """Everything one benchmark invocation measured."""

    command: str
    date: str
    machine: str
    rounds: int
    alt_rounds: int
    runs: list[Run] = field(default_factory=list)
    cli_check: dict[str, Any] | None = None


def site_for(input_size: int | None) -> SiteConfig:
    """The default site, or the default site with another detector input size."""
    if input_size is None:
        return parse_site("")
    return parse_site(f"detector: {{input_size: {input_size}}}")


def _busy_seconds() -> float:
    """CPU seconds the whole machine has been busy, from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return float("nan")
    values = [int(v) for v in fields]
    idle = values[3] + values[4]  # idle and iowait
    busy = sum(values[:8]) - idle  # guest time is already inside user
    return busy / os.sysconf("SC_CLK_TCK")


def warm_up(sizes: list[int | None], video: Path) -> None:
    """Load each detector and run it once, so no timed run pays for that."""
    with av.open(str(video)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="bgr24")
    for size in sizes:
        detector = load_detector(site_for(size).detector)
        detector.detect([frame])
        log.info("warmed up %s at input %s", detector.name, size or "default")


def run_once(data: Path, sequence: str, setup: Setup, round_: int) -> Run:
    """Evaluate one sequence in one configuration, noting other work's CPU."""
    busy, own, wall = _busy_seconds(), time.process_time(), time.monotonic()
    scores: SequenceScores = evaluate_sequence(
        data / sequence, site_for(setup.input_size), motion_gate=setup.motion_gate
    )
    wall = time.monotonic() - wall
    other_s = (_busy_seconds() - busy) - (time.process_time() - own)
    other = 100.0 * max(other_s, 0.0) / wall if wall > 0 else float("nan")
    run = Run(sequence, setup, round_, scores.to_dict(), other)
    stats = scores.replay
    log.info(
        "round %d %s input %s gate %s: MOTA %.3f IDF1 %.3f AP50 %.3f, %d/%d frames "
        "detected, %.2fx real time, %.2f CPU-s per video-s, other work %.0f %%",
        round_ + 1,
        sequence,
        setup.size_label,
        setup.gate_label,
        scores.mota,
        scores.idf1,
        scores.ap50,
        stats.frames_detected,
        stats.frames_processed,
        stats.speed,
        stats.cpu_per_video_s,
        other,
    )
    return run


def cli_check(data: Path, sequence: str, setup: Setup) -> dict[str, Any]:
    """Score one configuration through ``watchfloor eval --json`` in a child."""
    command = [sys.executable, "-m", "watchfloor", "eval", str(data / sequence)]
    command += ["--json", "--motion-gate" if setup.motion_gate else "--no-motion-gate"]
    if setup.input_size is not None:
        raise ValueError("the check runs the default site only; pass input_size None")
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, cwd=REPO_ROOT
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"watchfloor eval failed ({done.returncode}): {done.stderr[-2000:]}"
        )
    return dict(json.loads(done.stdout[done.stdout.index("{") :]))


def measure(
    data: Path,
    rounds: int,
    alt_sizes: list[int],
    alt_rounds: int,
    check: bool,
    sequences: tuple[str, ...] = SEQUENCES,
) -> Report:
    """Run every round, interleaving gate on and off; then the command-line check."""
    report = Report(
        command=" ".join(["python -m bench.replay", *sys.argv[1:]]),
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=(
            f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
            f"{platform.system()} {platform.release()}; Python "
            f"{platform.python_version()}, OpenCV {cv2.__version__}, PyAV "
            f"{av.__version__}, NumPy {np.__version__}"
        ),
        rounds=rounds,
        alt_rounds=min(alt_rounds, rounds),
    )
    sizes: list[int | None] = [None, *alt_sizes]
    warm_up(sizes, sorted((data / sequences[0]).glob("video.*"))[0])
    for round_ in range(rounds):
        gates = (True, False) if round_ % 2 == 0 else (False, True)
        these = sizes if round_ < alt_rounds else [None]
        for sequence in sequences:
            for size in these:
                for gate in gates:
                    setup = Setup(size, gate)
                    report.runs.append(run_once(data, sequence, setup, round_))
    if check:
        setup = Setup(None, True)
        scores = cli_check(data, sequences[-1], setup)
        mine = next(
            r for r in report.runs if r.sequence == sequences[-1] and r.setup == setup
        )
        report.cli_check = {
            "sequence": sequences[-1],
            "setup": setup.gate_label,
            "same": all(scores[k] == mine.scores[k] for k in ACCURACY),
            "scores": {k: scores[k] for k in ACCURACY},
        }
    return report


def _groups(report: Report) -> dict[tuple[str, Setup], list[Run]]:
    groups: dict[tuple[str, Setup], list[Run]] = {}
    for run in report.runs:
        groups.setdefault((run.sequence, run.setup), []).append(run)
    return groups


def _median(runs: list[Run], key: str) -> float:
    return statistics.median(r.scores["replay"][key] for r in runs)


def _eval_command(sequence: str, setup: Setup) -> str:
    site = "" if setup.input_size is None else f" --site site-{setup.input_size}.yaml"
    gate = "--motion-gate" if setup.motion_gate else "--no-motion-gate"
    return f'watchfloor eval "$WATCHFLOOR_TEST_DATA/{sequence}"{site} {gate} --json'


def results_section(report: Report) -> str:
    """The markdown section of RESULTS.md for one report."""
    groups = _groups(report)
    deterministic = all(len({r.accuracy for r in g}) == 1 for g in groups.values())
    lines = [
        SECTION,
        "",
        f"Command: `{report.command}` (from the repository root); {report.date}.",
        "",
        f"Machine: {report.machine}. The machine is shared with other work: see "
        "the column of other work's CPU (the whole machine's busy time during the "
        "run, less this process's, in % of one core).",
        "",
        "Each sequence is replayed through the camera pipeline (motion gate, "
        "detector, tracker) by `evaluate_sequence`, every frame, at the frame "
        'rate of its `seqinfo.ini`. Site: the default (`parse_site("")`: '
        f"yolov3-tiny on OpenCV DNN at {DARKNET_INPUT_SIZE}, letterbox, score "
        "threshold 0.1, default tracker and motion gate; the camera keeps people "
        "and vehicles, people are scored), and the same with `detector: "
        "{input_size: 416}`. MOTA, IDF1, ID switches, precision and recall: "
        "motmetrics at IoU 0.5 with flag-0 boxes ignored; AP50: person boxes on "
        "the frames processed. x real time: seconds of video per second of wall "
        "time of the replay (decode, gate, detector, tracker; not model loading "
        "or scoring); CPU-s per video-s: process CPU time (all threads) over the "
        "same span. Gate on and off ran in one process, interleaved, their order "
        f"alternating by round: {report.rounds} round(s) at the default size, "
        f"{report.alt_rounds} at 416 (accuracy and CPU). Skipped: the share of "
        "frames on which the gate let the detector rest (1 - frames_detected / "
        "frames_processed).",
        "",
        "| sequence | detector input | motion gate | frames | MOTA | IDF1 "
        "| ID switches | precision | recall | AP50 | skipped by gate "
        "| x real time (median) | CPU-s per video-s (median) | n "
        "| other work's CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (sequence, setup), runs in groups.items():
        s = runs[0].scores
        replay = s["replay"]
        skipped = 1 - replay["frames_detected"] / max(replay["frames_processed"], 1)
        others = [r.other_cpu_pct for r in runs]
        lines.append(
            f"| {sequence} | {setup.size_label} | {setup.gate_label} | {s['frames']} "
            f"| {s['mota']:.3f} | {s['idf1']:.3f} | {s['id_switches']} "
            f"| {s['precision']:.3f} | {s['recall']:.3f} | {s['ap50']:.3f} "
            f"| {100 * skipped:.1f} % ({replay['frames_detected']} of "
            f"{replay['frames_processed']} detected) "
            f"| {_median(runs, 'speed'):.2f}x | {_median(runs, 'cpu_per_video_s'):.2f} "
            f"| {len(runs)} | {min(others):.0f}-{max(others):.0f} % |"
        )

    lines += ["", "Targets (default site):", ""]
    lines += ["| target | gate on | gate off | met |", "|---|---|---|---|"]
    for sequence, key, least in TARGETS:
        on = groups.get((sequence, Setup(None, True)))
        off = groups.get((sequence, Setup(None, False)))
        if not on or not off:
            continue
        v_on, v_off = on[0].scores[key], off[0].scores[key]
        met = "yes" if min(v_on, v_off) >= least else "no"
        if met == "no" and v_on >= least:
            met = "gate on only"
        name = "MOTA" if key == "mota" else "IDF1"
        lines.append(
            f"| {sequence} {name} ≥ {least:.2f} | {v_on:.3f} | {v_off:.3f} | {met} |"
        )
    on = groups.get(("PETS09-S2L1", Setup(None, True)))
    off = groups.get(("PETS09-S2L1", Setup(None, False)))
    if on and off:
        loss = off[0].scores["mota"] - on[0].scores["mota"]
        met = "yes" if loss <= GATE_MOTA_LOSS else "no"
        lines.append(
            f"| PETS09-S2L1 MOTA lost to the gate ≤ {GATE_MOTA_LOSS:.2f} "
            f"| {on[0].scores['mota']:.3f} | {off[0].scores['mota']:.3f} "
            f"| {met} (loss {loss:+.3f}) |"
        )

    lines += [""]
    if deterministic:
        lines.append(
            "Accuracy is deterministic: every configuration gave exactly the same "
            "scores and the same frames through the detector in every round."
        )
    else:
        lines.append(
            "Accuracy is NOT deterministic: some configuration gave different "
            "scores in different rounds (see the runs below)."
        )
    if report.cli_check is not None:
        c = report.cli_check
        same = "the same scores" if c["same"] else "DIFFERENT scores"
        lines.append(
            f"`watchfloor eval` in a child process gave {same} as the benchmark "
            f"for {c['sequence']} (default site, gate {c['setup']})."
        )
    lines += _reading(groups)

    lines += [
        "",
        "Reproduce one row (`site-416.yaml` holds one line, "
        "`detector: {input_size: 416}`):",
        "",
        "```",
    ]
    lines += [_eval_command(sequence, setup) for sequence, setup in groups]
    lines += ["```", "", "<details><summary>Every run, in order</summary>", ""]
    lines += [
        "| # | round | sequence | input | gate | MOTA | IDF1 | frames detected "
        "| wall s | x real time | CPU-s per video-s | other work's CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, run in enumerate(report.runs, 1):
        s, replay = run.scores, run.scores["replay"]
        lines.append(
            f"| {i} | {run.round + 1} | {run.sequence} | {run.setup.size_label} "
            f"| {run.setup.gate_label} | {s['mota']:.3f} | {s['idf1']:.3f} "
            f"| {replay['frames_detected']} | {replay['wall_s']:.1f} "
            f"| {replay['speed']:.2f}x | {replay['cpu_per_video_s']:.2f} "
            f"| {run.other_cpu_pct:.0f} % |"
        )
    lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def _reading(groups: dict[tuple[str, Setup], list[Run]]) -> list[str]:
    """Sentences comparing gate on with off, and 416 with the default size."""
    out = []
    for sequence in SEQUENCES:
        on = groups.get((sequence, Setup(None, True)))
        off = groups.get((sequence, Setup(None, False)))
        if not on or not off:
            continue
        replay = on[0].scores["replay"]
        skipped = 1 - replay["frames_detected"] / max(replay["frames_processed"], 1)
        cpu_on, cpu_off = (_median(g, "cpu_per_video_s") for g in (on, off))
        out.append(
            f"{sequence}: the gate skipped {100 * skipped:.1f} % of frames and "
            f"changed MOTA by {on[0].scores['mota'] - off[0].scores['mota']:+.3f}; "
            f"CPU per video second {cpu_on:.2f} with it, {cpu_off:.2f} without "
            f"({100 * (cpu_on / cpu_off - 1):+.0f} %)."
        )
        for size_runs in (
            g for (seq, st), g in groups.items() if seq == sequence and st.input_size
        ):
            if not size_runs[0].setup.motion_gate:
                continue
            small = size_runs[0].scores
            cpu_small = _median(size_runs, "cpu_per_video_s")
            out.append(
                f"At input {size_runs[0].setup.size_label} (gate on), MOTA "
                f"{small['mota']:.3f} ({small['mota'] - on[0].scores['mota']:+.3f}), "
                f"AP50 {small['ap50']:.3f} "
                f"({small['ap50'] - on[0].scores['ap50']:+.3f}), for "
                f"{cpu_small:.2f} CPU-s per video-s ({cpu_small / cpu_on:.2f}x)."
            )
    return ["", *out] if out else []


def save_report(report: Report, path: Path) -> None:
    """Write a report as JSON, to render again with :func:`load_report`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = {
        **{k: v for k, v in vars(report).items() if k != "runs"},
        "runs": [{**vars(r), "setup": vars(r.setup)} for r in report.runs],
    }
    path.write_text(json.dumps(raw, indent=2) + "\n")


def load_report(path: Path) -> Report:
    """Read a report written by :func:`save_report`."""
    raw = json.loads(path.read_text())
    runs = [Run(**{**r, "setup": Setup(**r["setup"])}) for r in raw.pop("runs", [])]
    return Report(**raw, runs=runs)


def main() -> None:
    """Parse the command line, run the rounds, print (and write) the section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=data_dir())
    parser.add_argument(
        "--sequences", nargs="+", default=list(SEQUENCES), choices=SEQUENCES
    )
    parser.add_argument("--rounds", type=int, default=2, help="at the default size")
    parser.add_argument(
        "--alt-sizes",
        type=int,
        nargs="*",
        default=[416],
        help="other detector input sizes to compare (none: default size only)",
    )
    parser.add_argument(
        "--alt-rounds", type=int, default=1, help="rounds for the other sizes"
    )
    parser.add_argument(
        "--no-cli-check",
        dest="cli_check",
        action="store_false",
        help="skip the check through `watchfloor eval`",
    )
    parser.add_argument("--results", type=Path, help="write the section here too")
    parser.add_argument(
        "--from-json",
        type=Path,
        help=f"render the section from a saved report (as {OUT_FILE.name}) "
        "instead of measuring",
    )
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr
    )
    logging.getLogger("watchfloor").setLevel(logging.WARNING)

    if args.from_json is not None:
        report = load_report(args.from_json)
    else:
        missing = [s for s in args.sequences if not (args.data / s).is_dir()]
        if missing:
            raise SystemExit(
                f"{args.data} lacks {', '.join(missing)}; set --data or "
                "WATCHFLOOR_TEST_DATA to the folder of the labelled sequences"
            )
        if args.rounds < 1:
            raise SystemExit(f"--rounds is {args.rounds}; it must be at least 1")
        report = measure(
            args.data,
            args.rounds,
            args.alt_sizes,
            args.alt_rounds,
            args.cli_check,
            tuple(args.sequences),
        )
        save_report(report, OUT_FILE)
    section = results_section(report)
    print(section)
    if args.results is not None:
        write_section(args.results, section)
        log.info("written to %s", args.results)


if __name__ == "__main__":
    main()
