"""The darknet backend: YOLOv3-tiny (or another darknet YOLO) on OpenCV DNN."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from watchfloor.detection.base import Detection
from watchfloor.detection.boxes import (
    InputTransform,
    ResizeMode,
    centre_to_corners,
    fit_to_input,
    select_detections,
)
from watchfloor.detection.catalogue import DEFAULT_MODEL, load_files, pull

logger = logging.getLogger(__name__)


def check_input_size(input_size: int) -> None:
    """Refuse a network input size that YOLO cannot take.

    Raises:
        ValueError: If the size is not a positive multiple of 32.
    """
    if input_size < 32 or input_size % 32 != 0:
        raise ValueError(
            f"input size {input_size} is not usable; YOLO needs a positive "
            "multiple of 32, such as 320, 416 or 608"
        )


# Darknet's coco.names spells some classes its own way; one vocabulary across
# backends lets a camera's class filter work whichever model runs.
DARKNET_SPELLINGS = {
    "motorbike": "motorcycle",
    "aeroplane": "airplane",
    "sofa": "couch",
    "pottedplant": "potted plant",
    "diningtable": "dining table",
    "tvmonitor": "tv",
}


def read_names(path: Path) -> list[str]:
    """Read a darknet ``.names`` file: one class name a line, blank lines skipped."""
    return [
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


class DarknetDetector:
    """A darknet YOLO model (such as YOLOv3-tiny) run by OpenCV DNN on the CPU.

    Frames are fitted to a square network input of ``input_size`` pixels,
    either letterboxed or stretched; boxes come back in pixels of each original
    frame, after class-wise NMS. Every class whose score passes the threshold
    gets its own box, as darknet itself does. The instance is safe to share
    between camera threads: inference is serialised by a lock.

    Args:
        cfg: Darknet ``.cfg`` file (use the catalogue's corrected copy).
        weights: Darknet ``.weights`` file.
        names: ``.names`` file with one class name a line.
        input_size: Side of the network input in pixels, a multiple of 32.
        resize: ``"letterbox"`` or ``"stretch"``.
        score_threshold: Lowest class score kept, in ``[0, 1]``.
        nms_iou: IoU above which a lower-scoring box of the same class is
            dropped.
        max_detections: Most detections returned per frame.
        name: Name of the detector, for logs and the API.

    Raises:
        ValueError: If a setting is out of range or the cfg and names disagree.

    Example:
        >>> detector = DarknetDetector.from_catalogue("yolov3-tiny")  # doctest: +SKIP
        >>> detector.detect([frame])[0]  # doctest: +SKIP
        [Detection(box=(498.2, 160.1, 530.7, 233.9), score=0.91, label='person'), ...]

    Limitations:
        OpenCV's darknet layer zeroes class scores below the cfg's ``thresh``;
        the detector writes ``score_threshold`` there when it loads, so scores
        below it are never seen, whatever a later filter asks.
    """

    def __init__(
        self,
        cfg: Path,
        weights: Path,
        names: Path,
        *,
        input_size: int = 416,
        resize: ResizeMode = "letterbox",
        score_threshold: float = 0.25,
        nms_iou: float = 0.45,
        max_detections: int = 300,
        name: str = DEFAULT_MODEL,
    ) -> None:
        check_input_size(input_size)
        if not 0.0 < score_threshold <= 1.0:
            raise ValueError(
                f"score threshold {score_threshold} is out of range; use a value "
                "in (0, 1]"
            )
        if not 0.0 < nms_iou <= 1.0:
            raise ValueError(
                f"NMS IoU {nms_iou} is out of range; use a value in (0, 1]"
            )
        if resize not in ("letterbox", "stretch"):
            raise ValueError(
                f"resize mode {resize!r} is unknown; use 'letterbox' or 'stretch'"
            )

        self.name = name
        self.labels: Sequence[str] = tuple(
            DARKNET_SPELLINGS.get(name, name) for name in read_names(names)
        )
        self.input_size = input_size
        self.resize: ResizeMode = resize
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou
        self.max_detections = max_detections

        cfg_text = with_score_threshold(
            cfg.read_text(encoding="utf-8"), score_threshold
        )
        classes = {
            int(c) for c in re.findall(r"^\s*classes\s*=\s*(\d+)", cfg_text, re.M)
        }
        if classes and classes != {len(self.labels)}:
            raise ValueError(
                f"{cfg.name} has {sorted(classes)} classes but {names.name} names "
                f"{len(self.labels)}; give the names file that belongs to the cfg"
            )

        self._net = cv2.dnn.readNetFromDarknet(
            np.frombuffer(cfg_text.encode("utf-8"), dtype=np.uint8),
            np.fromfile(weights, dtype=np.uint8),
        )
        self._net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        self._net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        self._outputs = list(self._net.getUnconnectedOutLayersNames())
        self._lock = threading.Lock()
        logger.info(
            "loaded darknet model %s (%s classes, input %s, %s)",
            name,
            len(self.labels),
            input_size,
            resize,
        )

    @classmethod
    def from_catalogue(
        cls,
        model: str = DEFAULT_MODEL,
        cache_dir: Path | None = None,
        *,
        input_size: int = 416,
        resize: ResizeMode = "letterbox",
        score_threshold: float = 0.25,
        nms_iou: float = 0.45,
        max_detections: int = 300,
    ) -> DarknetDetector:
        """Load a catalogue model, pulling its files first if they are not cached.

        Args:
            model: Catalogue name, such as ``"yolov3-tiny"``.
            cache_dir: Folder holding all models; the catalogue's default if
                ``None``.
            input_size: As for the constructor.
            resize: As for the constructor.
            score_threshold: As for the constructor.
            nms_iou: As for the constructor.
            max_detections: As for the constructor.

        Raises:
            WeightsError: If the files cannot be fetched or verified.
        """
        files = load_files(pull(model, cache_dir))
        return cls(
            files.paths["cfg"],
            files.paths["weights"],
            files.paths["names"],
            input_size=input_size,
            resize=resize,
            score_threshold=score_threshold,
            nms_iou=nms_iou,
            max_detections=max_detections,
            name=model,
        )

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Detect objects in each BGR ``uint8`` frame of the batch.

        Args:
            images: Frames of any size, each ``(h, w, 3)``.

        Returns:
            One list of detections per frame, highest score first, boxes in
            that frame's pixels.
        """
        if not images:
            return []
        size = self.input_size
        fitted = [fit_to_input(image, size, size, self.resize) for image in images]
        blob = cv2.dnn.blobFromImages(
            [picture for picture, _ in fitted],
            scalefactor=1.0 / 255.0,
            size=(size, size),
            swapRB=True,
            crop=False,
        )
        with self._lock:
            self._net.setInput(blob)
            outputs = self._net.forward(self._outputs)

        width = 5 + len(self.labels)
        per_image = np.concatenate(
            [np.asarray(out).reshape(len(images), -1, width) for out in outputs], axis=1
        )
        return [
            self._decode(per_image[index], transform)
            for index, (_, transform) in enumerate(fitted)
        ]

    def _decode(self, rows: np.ndarray, transform: InputTransform) -> list[Detection]:
        # OpenCV has already multiplied each class probability by objectness.
        boxes = centre_to_corners(rows[:, :4] * float(self.input_size))
        return select_detections(
            boxes,
            rows[:, 5:],
            self.labels,
            transform,
            self.score_threshold,
            self.nms_iou,
            self.max_detections,
        )


def with_score_threshold(cfg_text: str, threshold: float) -> str:
    """Set ``thresh`` in every ``[yolo]`` section of a darknet cfg.

    OpenCV zeroes class scores below this value inside the network.
    """
    lines: list[str] = []
    in_yolo = False
    for line in cfg_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            in_yolo = stripped == "[yolo]"
            lines.append(line)
            if in_yolo:
                lines.append(f"thresh = {threshold:g}")
            continue
        if (
            in_yolo
            and "=" in stripped
            and stripped.split("=", 1)[0].strip() == "thresh"
        ):
            continue
        lines.append(line)
    return "\n".join(lines) + "\n"
