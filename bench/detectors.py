"""Benchmark of detectors on the labelled footage: person AP50 and ms per frame.

Run from the repository root::

    python -m bench.detectors                       # yolov3-tiny, 416/608, both resizes
    python -m bench.detectors --onnx yolo11n.onnx   # add a YOLOv8/YOLO11 export

Prints a markdown table. Person AP at IoU 0.5 is scored on every 3rd frame of
PETS09-S2L1 and every frame of TUD-Campus (boxes with flag 0 ignored); ms/frame
is the mean wall time of ``detect`` on one frame (resize, inference, NMS),
after one warm-up call, over all scored frames of both sequences; CPU ms/frame
is the process CPU time over the same calls (all threads together).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from bench.footage import data_dir
from watchfloor.detection.base import Detection, Detector
from watchfloor.detection.evaluation import average_precision, load_mot_ground_truth
from watchfloor.detection.factory import DetectorSpec, load_detector

SEQUENCES = (("PETS09-S2L1", 3), ("TUD-Campus", 1))
"""Sequence folder and frame step scored."""


def sequence_frames(folder: Path, step: int) -> Iterator[tuple[int, np.ndarray]]:
    """Decode every ``step``-th frame of a sequence's video, with its index."""
    videos = sorted(folder.glob("video.*"))
    if not videos:
        raise SystemExit(f"{folder} has no video.* file; is it a sequence folder?")
    capture = cv2.VideoCapture(str(videos[0]))
    try:
        index = 0
        while True:
            ok, image = capture.read()
            if not ok:
                return
            if index % step == 0:
                yield index, image
            index += 1
    finally:
        capture.release()


def measure(detector: Detector, data: Path) -> tuple[dict[str, float], float, float]:
    """Score one detector on every sequence.

    Returns:
        Person AP50 by sequence, mean wall ms per frame, and mean CPU ms per
        frame (all threads of the process; less sensitive to other load).
    """
    results: dict[str, float] = {}
    seconds = 0.0
    cpu_seconds = 0.0
    timed = 0
    warmed = False
    for name, step in SEQUENCES:
        folder = data / name
        truth_all = load_mot_ground_truth(folder / "gt" / "gt.txt")
        found: dict[int, list[Detection]] = {}
        for index, image in sequence_frames(folder, step):
            if not warmed:
                detector.detect([image])
                warmed = True
            start, cpu_start = time.perf_counter(), time.process_time()
            found[index] = detector.detect([image])[0]
            seconds += time.perf_counter() - start
            cpu_seconds += time.process_time() - cpu_start
            timed += 1
        truth = {index: truth_all.get(index, []) for index in found}
        results[name] = average_precision(found, truth, 0.5, label="person")
    timed = max(timed, 1)
    return results, 1000.0 * seconds / timed, 1000.0 * cpu_seconds / timed


def main() -> None:
    """Parse the command line, run each configuration, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=data_dir())
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[416, 608], help="darknet input sizes"
    )
    parser.add_argument(
        "--resize",
        nargs="+",
        default=["letterbox", "stretch"],
        choices=["letterbox", "stretch"],
    )
    parser.add_argument(
        "--score-threshold",
        type=float,
        default=0.05,
        help="lowest score kept; low, so that AP sees the whole ranking",
    )
    parser.add_argument("--onnx", type=Path, nargs="*", default=[])
    parser.add_argument(
        "--threads", type=int, default=0, help="OpenCV threads (0: default)"
    )
    args = parser.parse_args()

    if args.threads:
        cv2.setNumThreads(args.threads)
    missing = [n for n, _ in SEQUENCES if not (args.data / n).is_dir()]
    if missing:
        raise SystemExit(f"{args.data} lacks {', '.join(missing)}; set --data")

    specs: list[DetectorSpec] = [
        DetectorSpec(
            backend="darknet",
            input_size=size,
            resize=resize,
            score_threshold=args.score_threshold,
        )
        for size in args.sizes
        for resize in args.resize
    ]
    specs += [
        DetectorSpec(
            backend="onnx",
            model=str(path),
            resize=resize,
            score_threshold=args.score_threshold,
        )
        for path in args.onnx
        for resize in args.resize
    ]

    names = [n for n, _ in SEQUENCES]
    print(
        f"Person AP50 and ms/frame; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs (load {os.getloadavg()[0]:.1f} at start), OpenCV "
        f"{cv2.__version__}, score threshold {args.score_threshold}\n"
    )
    print(
        "| detector | input | resize | "
        + " | ".join(f"{n} AP50" for n in names)
        + " | ms/frame | CPU ms/frame |"
    )
    print("|---|---|---|" + "---|" * len(names) + "---|---|")
    for spec in specs:
        detector = load_detector(spec)
        scores, ms, cpu_ms = measure(detector, args.data)
        size = getattr(detector, "input_size", None) or getattr(
            detector, "input_width", "?"
        )
        cells = " | ".join(f"{scores[n]:.3f}" for n in names)
        timing = f"{ms:.0f} | {cpu_ms:.0f}"
        print(
            f"| {detector.name} | {size} | {spec.resize} | {cells} | {timing} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
