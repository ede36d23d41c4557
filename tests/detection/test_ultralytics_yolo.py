"""The optional Ultralytics backend: refused clearly without the package, and
its results read into detections (the package itself is AGPL and never
installed here, so a stand-in module plays it)."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from watchfloor.detection.base import Detection
from watchfloor.detection.catalogue import WeightsError
from watchfloor.detection.factory import DetectorSpec, forget_detectors, load_detector
from watchfloor.detection.ultralytics_yolo import UltralyticsDetector


@pytest.fixture(autouse=True)
def _fresh_detectors() -> Any:
    forget_detectors()
    yield
    forget_detectors()


class _Boxes:
    def __init__(self, rows: list[tuple[float, ...]]) -> None:
        table = np.array(rows, dtype=np.float32).reshape(-1, 6)
        self.xyxy, self.conf, self.cls = table[:, :4], table[:, 4], table[:, 5]


class _Model:
    """What ``ultralytics.YOLO(path)`` gives: names, and ``predict``."""

    calls: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, path: str) -> None:
        self.path = path
        self.names = {0: "person", 1: "car"}

    def predict(self, images: list[np.ndarray], **options: Any) -> list[Any]:
        self.calls.append({"images": len(images), **options})
        rows = [(10, 20, 50, 120, 0.9, 0), (100, 100, 300, 200, 0.6, 1)]
        return [types.SimpleNamespace(boxes=_Boxes(rows)) for _ in images]


@pytest.fixture
def ultralytics_package(monkeypatch: pytest.MonkeyPatch) -> type[_Model]:
    module = types.ModuleType("ultralytics")
    module.YOLO = _Model  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ultralytics", module)
    _Model.calls = []
    return _Model


def test_without_the_package_the_error_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoint = tmp_path / "yolo11n.pt"
    checkpoint.write_bytes(b"not read")
    monkeypatch.setitem(sys.modules, "ultralytics", None)
    with pytest.raises(ImportError, match=r"watchfloor\[ultralytics\].*backend: onnx"):
        load_detector(DetectorSpec(backend="ultralytics", model=str(checkpoint)))


def test_a_missing_checkpoint_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "none.pt"
    with pytest.raises(WeightsError, match=r"none\.pt does not exist"):
        load_detector(DetectorSpec(backend="ultralytics", model=str(missing)))


def test_results_become_detections(
    tmp_path: Path, ultralytics_package: type[_Model]
) -> None:
    checkpoint = tmp_path / "yolo11n.pt"
    checkpoint.write_bytes(b"not read")
    spec = DetectorSpec(
        backend="ultralytics", model=str(checkpoint), input_size=640, nms_iou=0.5
    )
    detector = load_detector(spec)
    assert isinstance(detector, UltralyticsDetector)
    assert list(detector.labels) == ["person", "car"]

    frames = [np.zeros((240, 320, 3), np.uint8)] * 2
    found = detector.detect(frames)

    assert (
        found
        == [
            [
                Detection((10.0, 20.0, 50.0, 120.0), pytest.approx(0.9), "person"),
                Detection((100.0, 100.0, 300.0, 200.0), pytest.approx(0.6), "car"),
            ]
        ]
        * 2
    )
    assert ultralytics_package.calls == [
        {"images": 2, "conf": 0.1, "iou": 0.5, "verbose": False, "imgsz": 640}
    ]
    assert detector.detect([]) == []
