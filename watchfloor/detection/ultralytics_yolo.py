"""The optional Ultralytics backend: a YOLO ``.pt`` checkpoint run by its own package.

Ultralytics is AGPL-3.0, so Watchfloor never needs it: this backend is for a
user who has a ``.pt`` file and accepts that licence
(``pip install 'watchfloor[ultralytics]'``). Exporting the same model to ONNX
(``yolo export model=m.pt format=onnx``) and using the ``onnx`` backend gives
the same detections without it.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from watchfloor.detection.base import Detection

logger = logging.getLogger(__name__)

INSTALL_HINT = (
    "the 'ultralytics' backend needs the ultralytics package (AGPL-3.0), which "
    "Watchfloor does not install by default: pip install 'watchfloor[ultralytics]', "
    "or export the model to ONNX and use backend: onnx"
)


class UltralyticsDetector:
    """A YOLO checkpoint (``.pt``) loaded and run by the ``ultralytics`` package.

    Args:
        path: The ``.pt`` file.
        input_size: Square inference size in pixels; ``None``: the model's own.
        score_threshold: Lowest score returned.
        nms_iou: IoU of the model's class-wise NMS.

    Raises:
        ImportError: If ``ultralytics`` is not installed (the message says how
            to install it, or how to do without it).
    """

    def __init__(
        self,
        path: Path,
        input_size: int | None = None,
        score_threshold: float = 0.1,
        nms_iou: float = 0.45,
    ) -> None:
        try:
            package: Any = importlib.import_module("ultralytics")
        except ImportError as exc:
            raise ImportError(INSTALL_HINT) from exc
        self._model = package.YOLO(str(path))
        names = self._model.names
        if isinstance(names, dict):
            names = [names[i] for i in sorted(names)]
        self.labels: Sequence[str] = [str(n) for n in names]
        self.name = f"ultralytics:{path.name}"
        self._options: dict[str, Any] = {
            "conf": score_threshold,
            "iou": nms_iou,
            "verbose": False,
        }
        if input_size is not None:
            self._options["imgsz"] = input_size
        logger.info("ultralytics model %s loaded (%d classes)", path, len(self.labels))

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Detect objects in each BGR image (Ultralytics takes BGR arrays as is)."""
        if not images:
            return []
        results = self._model.predict(list(images), **self._options)
        return [self._detections(result) for result in results]

    def _detections(self, result: Any) -> list[Detection]:
        boxes = result.boxes
        corners = _array(boxes.xyxy).astype(np.float64).reshape(-1, 4)
        scores = _array(boxes.conf).astype(np.float64).reshape(-1)
        classes = _array(boxes.cls).astype(np.int64).reshape(-1)
        return [
            Detection(
                (float(x1), float(y1), float(x2), float(y2)),
                float(score),
                self.labels[int(cls)],
            )
            for (x1, y1, x2, y2), score, cls in zip(
                corners, scores, classes, strict=True
            )
        ]


def _array(values: Any) -> np.ndarray:
    """A NumPy array of a result field (a torch tensor, on any device, or not)."""
    if hasattr(values, "cpu"):
        values = values.cpu()
    if hasattr(values, "numpy"):
        values = values.numpy()
    return np.asarray(values)
