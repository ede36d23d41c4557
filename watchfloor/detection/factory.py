"""Loading detectors from a spec, once per process, shared by all cameras."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from watchfloor.detection.base import Detector
from watchfloor.detection.boxes import ResizeMode
from watchfloor.detection.catalogue import CATALOGUE, DEFAULT_MODEL, WeightsError

logger = logging.getLogger(__name__)

# YOLOv3-tiny at 608 finds the small, distant people of elevated security
# views that it misses at 416 (person AP50 0.86 against 0.81 on PETS09-S2L1),
# for about twice the CPU; bench/RESULTS.md has the measurements.
DARKNET_INPUT_SIZE = 608


class DetectorSpec(BaseModel):
    """Which model to run and how: the key under which a detector is shared."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: Literal["darknet", "onnx", "ultralytics"] = Field(
        default="darknet",
        description=(
            "'darknet': a darknet YOLO model on OpenCV DNN (the catalogue's "
            "yolov3-tiny). 'onnx': a YOLOv8/YOLO11 ONNX export on onnxruntime. "
            "'ultralytics': a YOLO .pt checkpoint run by the optional "
            "ultralytics package (AGPL-3.0; never installed by default)."
        ),
    )
    model: str = Field(
        default=DEFAULT_MODEL,
        description=(
            "For 'darknet': a weights catalogue name (fetched into the cache "
            "when missing) or a folder holding one .cfg, one .weights and one "
            ".names file. For 'onnx': the path of the .onnx file. For "
            "'ultralytics': the path of the .pt file."
        ),
    )
    input_size: int | None = Field(
        default=None,
        ge=32,
        description=(
            "Side of the square network input in pixels, a multiple of 32. "
            "Unset: 608 for darknet; the model's own size for ONNX."
        ),
    )
    resize: ResizeMode = Field(
        default="letterbox",
        description=(
            "'letterbox' keeps the frame's aspect ratio and pads; 'stretch' "
            "resizes each side on its own."
        ),
    )
    score_threshold: float = Field(
        default=0.1,
        gt=0,
        le=1,
        description=(
            "Lowest score the detector returns. Low on purpose: the tracker "
            "uses weak detections to keep tracks of partly hidden objects, "
            "and starts tracks only from confident ones. Cameras can ask for "
            "more with their own detection filter, never for less."
        ),
    )
    nms_iou: float = Field(
        default=0.45,
        gt=0,
        le=1,
        description=(
            "IoU above which the lower-scoring of two boxes of one class is dropped."
        ),
    )
    labels: tuple[str, ...] | None = Field(
        default=None,
        description="Class names of an ONNX model, overriding its own metadata.",
    )
    cache_dir: Path | None = Field(
        default=None,
        description=(
            "Folder of pulled model weights; $WATCHFLOOR_CACHE/weights or "
            "~/.cache/watchfloor/weights when unset."
        ),
    )

    @model_validator(mode="after")
    def _check(self) -> DetectorSpec:
        if self.input_size is not None and self.input_size % 32 != 0:
            raise ValueError(
                f"input_size {self.input_size} is not a multiple of 32; use e.g. "
                "320, 416, 608 or 640"
            )
        if self.backend != "onnx" and self.labels is not None:
            raise ValueError(
                f"labels are only for the 'onnx' backend; a {self.backend} model "
                "takes its class names from its own files"
            )
        return self


_detectors: dict[DetectorSpec, Detector] = {}
_lock = threading.Lock()


def load_detector(spec: DetectorSpec | None = None) -> Detector:
    """Return the detector for a spec, loading it on first use.

    Within one process, equal specs give the very same object, so one model
    serves every camera that names it. Loading is serialised: two cameras
    asking at once load the model once.

    Args:
        spec: What to load; the default spec (yolov3-tiny on OpenCV DNN at 416)
            if ``None``.

    Raises:
        WeightsError: If the model's files cannot be found or fetched.
        ValueError: If the model does not fit the backend.

    Example:
        >>> detector = load_detector(DetectorSpec(input_size=608))  # doctest: +SKIP
        >>> detector is load_detector(DetectorSpec(input_size=608))  # doctest: +SKIP
        True
    """
    spec = spec or DetectorSpec()
    with _lock:
        detector = _detectors.get(spec)
        if detector is None:
            detector = _build(spec)
            _detectors[spec] = detector
            logger.info("detector %s loaded for spec %s", detector.name, spec)
        return detector


def loaded_detectors() -> dict[DetectorSpec, Detector]:
    """The detectors loaded so far in this process, by spec."""
    with _lock:
        return dict(_detectors)


def forget_detectors() -> None:
    """Drop every loaded detector, so the next request loads afresh."""
    with _lock:
        _detectors.clear()


def _build(spec: DetectorSpec) -> Detector:
    if spec.backend == "ultralytics":
        from watchfloor.detection.ultralytics_yolo import UltralyticsDetector

        return UltralyticsDetector(
            _model_file(spec, "ultralytics", "a YOLO .pt checkpoint"),
            input_size=spec.input_size,
            score_threshold=spec.score_threshold,
            nms_iou=spec.nms_iou,
        )

    if spec.backend == "onnx":
        from watchfloor.detection.onnx_yolo import OnnxYoloDetector

        return OnnxYoloDetector(
            _model_file(spec, "ONNX", "a YOLOv8/YOLO11 detection export (.onnx)"),
            labels=spec.labels,
            input_size=spec.input_size,
            resize=spec.resize,
            score_threshold=spec.score_threshold,
            nms_iou=spec.nms_iou,
        )

    from watchfloor.detection.darknet import DarknetDetector

    input_size = spec.input_size or DARKNET_INPUT_SIZE
    if spec.model in CATALOGUE:
        return DarknetDetector.from_catalogue(
            spec.model,
            spec.cache_dir,
            input_size=input_size,
            resize=spec.resize,
            score_threshold=spec.score_threshold,
            nms_iou=spec.nms_iou,
        )
    folder = Path(spec.model).expanduser()
    if not folder.is_dir():
        known = ", ".join(sorted(CATALOGUE))
        raise WeightsError(
            f"darknet model {spec.model!r} is neither a catalogue name ({known}) "
            "nor a folder holding .cfg, .weights and .names files"
        )
    cfg, weights, names = (
        _only_file(folder, suffix) for suffix in (".cfg", ".weights", ".names")
    )
    return DarknetDetector(
        cfg,
        weights,
        names,
        input_size=input_size,
        resize=spec.resize,
        score_threshold=spec.score_threshold,
        nms_iou=spec.nms_iou,
        name=folder.name,
    )


def _model_file(spec: DetectorSpec, backend: str, wanted: str) -> Path:
    """The spec's model file; refused, naming what is wanted, when missing."""
    path = Path(spec.model).expanduser()
    if not path.is_file():
        raise WeightsError(
            f"{backend} model {path} does not exist; give the path of {wanted}"
        )
    return path


def _only_file(folder: Path, suffix: str) -> Path:
    found = sorted(folder.glob(f"*{suffix}"))
    if len(found) != 1:
        raise WeightsError(
            f"darknet model folder {folder} holds {len(found)} {suffix} files; it "
            "needs exactly one"
        )
    return found[0]
