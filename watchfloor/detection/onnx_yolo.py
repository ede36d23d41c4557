"""The ONNX backend: YOLOv8/YOLO11 exports (a user's own model) run by onnxruntime."""

from __future__ import annotations

import ast
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from watchfloor.detection.base import Detection
from watchfloor.detection.boxes import (
    ResizeMode,
    centre_to_corners,
    fit_to_input,
    select_detections,
)
from watchfloor.detection.coco import COCO_LABELS

logger = logging.getLogger(__name__)

DEFAULT_INPUT_SIZE = 640
"""Input side used when the model's input is dynamic and nothing else says."""


def parse_names(text: str) -> list[str]:
    """Read the ``names`` metadata of a YOLO export into a list of class names.

    Ultralytics writes a Python dict literal, ``{0: 'person', 1: 'bicycle'}``;
    JSON objects with string keys and plain lists are accepted too.

    Raises:
        ValueError: If the text is none of those or the ids are not ``0..n-1``.
    """
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError) as exc:
        raise ValueError(
            f"names metadata {text[:60]!r} is not a dict or list literal; expected "
            "something like {0: 'person', 1: 'bicycle'}"
        ) from exc
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if not isinstance(value, dict):
        raise ValueError(
            f"names metadata is a {type(value).__name__}; expected a dict of class "
            "id to name"
        )
    by_id = {int(k): str(v) for k, v in value.items()}
    if sorted(by_id) != list(range(len(by_id))):
        raise ValueError(
            f"names metadata has class ids {sorted(by_id)[:10]}...; expected 0..n-1"
        )
    return [by_id[i] for i in range(len(by_id))]


class OnnxYoloDetector:
    """A YOLOv8/YOLO11 detection model exported to ONNX, run by onnxruntime.

    The export is expected as Ultralytics writes it without NMS: input
    ``[batch, 3, height, width]`` RGB scaled to ``[0, 1]``, output
    ``[batch, 4 + classes, candidates]`` holding ``cx, cy, w, h`` in input
    pixels and one score per class (no objectness). The transposed
    ``[batch, candidates, 4 + classes]`` is accepted too. Frames are
    letterboxed (grey 114) or stretched to the input; boxes come back in pixels
    of each frame after class-wise NMS. ``onnxruntime`` sessions are safe to
    share between camera threads.

    Class names are taken, in this order, from ``labels``, from the model's
    ``names`` metadata, or from the COCO list when the model has 80 classes.

    Args:
        path: The ``.onnx`` file.
        labels: Class names, overriding the model's metadata.
        input_size: Square input side for models with a dynamic input size;
            must match the model when its size is fixed. ``None``: the model's
            size, else its ``imgsz`` metadata, else 640.
        resize: ``"letterbox"`` or ``"stretch"``.
        score_threshold: Lowest class score kept, in ``(0, 1]``.
        nms_iou: IoU above which a lower-scoring box of the same class is
            dropped.
        max_detections: Most detections returned per frame.
        name: Name of the detector; the file's stem if ``None``.
        providers: onnxruntime execution providers; CPU if ``None``.

    Raises:
        ValueError: If the model's input or output does not have the expected
            shape, a setting is out of range, or no class names can be found.

    Example:
        >>> detector = OnnxYoloDetector(Path("yolo11n.onnx"))  # doctest: +SKIP
        >>> detector.detect([frame])[0]  # doctest: +SKIP

    Limitations:
        End-to-end exports with NMS inside (output ``[batch, k, 6]``) and
        segmentation or pose heads are refused: export with ``nms=False`` and
        the detection task.
    """

    def __init__(
        self,
        path: Path,
        *,
        labels: Sequence[str] | None = None,
        input_size: int | None = None,
        resize: ResizeMode = "letterbox",
        score_threshold: float = 0.25,
        nms_iou: float = 0.45,
        max_detections: int = 300,
        name: str | None = None,
        providers: Sequence[str] | None = None,
    ) -> None:
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

        self._session = ort.InferenceSession(
            str(path), providers=list(providers or ["CPUExecutionProvider"])
        )
        self.name = name or Path(path).stem
        self.resize: ResizeMode = resize
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou
        self.max_detections = max_detections

        model_input = self._session.get_inputs()[0]
        if len(model_input.shape) != 4:
            raise ValueError(
                f"{path} has input {model_input.name} of shape {model_input.shape}; "
                "a YOLO export takes [batch, 3, height, width]"
            )
        self._input_name = model_input.name
        self._input_dtype = np.float16 if "float16" in model_input.type else np.float32
        self._batched = not isinstance(model_input.shape[0], int)
        metadata = dict(self._session.get_modelmeta().custom_metadata_map)
        self.input_width, self.input_height = _input_size(
            model_input.shape, metadata, input_size, path
        )

        self.labels: Sequence[str] = tuple(
            _labels(labels, metadata, self._session.get_outputs()[0].shape, path)
        )
        logger.info(
            "loaded ONNX model %s (%s classes, input %sx%s, %s)",
            self.name,
            len(self.labels),
            self.input_width,
            self.input_height,
            resize,
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
        fitted = [
            fit_to_input(image, self.input_width, self.input_height, self.resize)
            for image in images
        ]
        tensor = np.stack([picture[:, :, ::-1] for picture, _ in fitted])
        tensor = np.ascontiguousarray(tensor.transpose(0, 3, 1, 2))
        tensor = tensor.astype(self._input_dtype) / np.asarray(255.0, self._input_dtype)

        if self._batched:
            output = self._run(tensor)
        else:
            output = np.concatenate(
                [self._run(tensor[i : i + 1]) for i in range(len(images))]
            )

        width = 4 + len(self.labels)
        if output.ndim != 3 or width not in output.shape[1:]:
            raise ValueError(
                f"model {self.name} gave output of shape {output.shape}; expected "
                f"[batch, {width}, candidates] for {len(self.labels)} classes"
            )
        if output.shape[1] != width:
            output = output.transpose(0, 2, 1)

        results = []
        for rows, (_, transform) in zip(output, fitted, strict=True):
            candidates = rows.T.astype(np.float32, copy=False)
            results.append(
                select_detections(
                    centre_to_corners(candidates[:, :4]),
                    candidates[:, 4:],
                    self.labels,
                    transform,
                    self.score_threshold,
                    self.nms_iou,
                    self.max_detections,
                )
            )
        return results

    def _run(self, tensor: np.ndarray) -> np.ndarray:
        outputs = self._session.run(None, {self._input_name: tensor})
        return np.asarray(outputs[0])


def _input_size(
    shape: Sequence[object],
    metadata: Mapping[str, str],
    requested: int | None,
    path: Path,
) -> tuple[int, int]:
    height, width = shape[2], shape[3]
    if isinstance(height, int) and isinstance(width, int):
        if requested is not None and (requested, requested) != (width, height):
            raise ValueError(
                f"{path} has a fixed input of {width}x{height}; input size "
                f"{requested} cannot be used (leave it unset, or export again)"
            )
        return width, height
    if requested is not None:
        size = requested
    elif "imgsz" in metadata:
        imgsz = ast.literal_eval(metadata["imgsz"])
        sizes = list(imgsz) if isinstance(imgsz, (list, tuple)) else [imgsz, imgsz]
        return int(sizes[1]), int(sizes[0])
    else:
        size = DEFAULT_INPUT_SIZE
    if size < 32 or size % 32 != 0:
        raise ValueError(
            f"input size {size} is not usable; YOLO needs a positive multiple of 32"
        )
    return size, size


def _labels(
    given: Sequence[str] | None,
    metadata: Mapping[str, str],
    output_shape: Sequence[object],
    path: Path,
) -> list[str]:
    if given is not None:
        return list(given)
    if "names" in metadata:
        return parse_names(metadata["names"])
    fixed = [d for d in output_shape[1:] if isinstance(d, int)]
    if not fixed or 4 + len(COCO_LABELS) in fixed:
        if not fixed:
            logger.warning(
                "%s has no 'names' metadata and a dynamic output; assuming the %s "
                "COCO classes",
                path,
                len(COCO_LABELS),
            )
        return list(COCO_LABELS)
    raise ValueError(
        f"{path} has no 'names' metadata and its output {list(output_shape)} does "
        f"not fit the {len(COCO_LABELS)} COCO classes; give the class names as "
        "labels"
    )
