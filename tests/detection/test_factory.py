"""Tests of detector loading (one model per spec per process) and camera filters."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from tests.detection.onnx_graphs import THREE, build_yolo_graph, candidates_of
from watchfloor.detection import (
    Detection,
    DetectionFilter,
    DetectorSpec,
    WeightsError,
    filter_detections,
    forget_detectors,
    load_detector,
)
from watchfloor.detection.catalogue import ModelFiles
from watchfloor.detection.darknet import DarknetDetector
from watchfloor.detection.factory import loaded_detectors
from watchfloor.detection.onnx_yolo import OnnxYoloDetector


@pytest.fixture(autouse=True)
def fresh_detectors() -> Iterator[None]:
    forget_detectors()
    yield
    forget_detectors()


@pytest.fixture
def onnx_model(tmp_path: Path) -> Path:
    table = candidates_of([(320, 320, 64, 64, 0, 0.9)], classes=3)
    return build_yolo_graph(tmp_path / "people.onnx", table, names=THREE)


def test_same_spec_gives_the_same_detector(onnx_model: Path) -> None:
    spec = DetectorSpec(backend="onnx", model=str(onnx_model))
    first = load_detector(spec)
    again = load_detector(DetectorSpec(backend="onnx", model=str(onnx_model)))
    other = load_detector(
        DetectorSpec(backend="onnx", model=str(onnx_model), nms_iou=0.6)
    )

    assert isinstance(first, OnnxYoloDetector)
    assert again is first
    assert other is not first
    assert len(loaded_detectors()) == 2
    assert first.detect([np.zeros((640, 640, 3), np.uint8)])[0][0].label == "person"


def test_cameras_asking_at_once_share_one_load(onnx_model: Path) -> None:
    spec = DetectorSpec(backend="onnx", model=str(onnx_model))
    got: list[object] = []
    threads = [
        threading.Thread(target=lambda: got.append(load_detector(spec)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 4 and all(d is got[0] for d in got)


def test_default_spec_is_yolov3_tiny_at_608(yolov3_tiny: ModelFiles) -> None:
    detector = load_detector()
    assert isinstance(detector, DarknetDetector)
    assert detector.name == "yolov3-tiny"
    assert detector.input_size == 608
    assert load_detector(DetectorSpec()) is detector


def test_darknet_model_from_a_folder(yolov3_tiny: ModelFiles, tmp_path: Path) -> None:
    folder = tmp_path / "my-tiny"
    folder.mkdir()
    for path in yolov3_tiny.paths.values():
        shutil.copy(path, folder / path.name)
    detector = load_detector(DetectorSpec(model=str(folder), input_size=320))
    assert isinstance(detector, DarknetDetector)
    assert detector.name == "my-tiny" and detector.input_size == 320


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            DetectorSpec(backend="onnx", model="/nonexistent/model.onnx"),
            "does not exist",
        ),
        (DetectorSpec(model="no-such-model"), "neither a catalogue name"),
    ],
)
def test_missing_models_are_named(spec: DetectorSpec, message: str) -> None:
    with pytest.raises(WeightsError, match=message):
        load_detector(spec)
    assert loaded_detectors() == {}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"input_size": 400}, "not a multiple of 32"),
        ({"labels": ("a",)}, "only for the 'onnx' backend"),
        ({"backend": "tensorrt"}, "backend"),
        ({"score_threshold": 0}, "score_threshold"),
        ({"resize": "crop"}, "resize"),
    ],
)
def test_bad_specs_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DetectorSpec.model_validate(fields)


FRAME_W, FRAME_H = 800, 600
DETECTIONS = [
    Detection((0, 0, 40, 120), 0.9, "person"),  # 1/5 of the frame high
    Detection((0, 0, 8, 12), 0.8, "person"),  # 1/50 of the frame high
    Detection((0, 0, 800, 500), 0.7, "car"),  # as wide as the frame
    Detection((0, 0, 200, 60), 0.3, "car"),  # 1/4 of the frame wide
]


@pytest.mark.parametrize(
    ("settings", "kept"),
    [
        (DetectionFilter(), [0, 1, 2, 3]),
        (DetectionFilter(classes=frozenset({"person"})), [0, 1]),
        (DetectionFilter(min_score=0.75), [0, 1]),
        (DetectionFilter(min_size=0.05), [0, 2, 3]),
        (DetectionFilter(max_size=0.9), [0, 1, 3]),
        (DetectionFilter(classes=frozenset({"car"}), min_size=0.1, max_size=0.5), [3]),
    ],
)
def test_camera_filter(settings: DetectionFilter, kept: list[int]) -> None:
    result = filter_detections(DETECTIONS, FRAME_W, FRAME_H, settings)
    assert result == [DETECTIONS[i] for i in kept]


def test_camera_filter_from_site_settings() -> None:
    settings = DetectionFilter.model_validate({"classes": ["person"], "min_size": 0.1})
    assert filter_detections(DETECTIONS, FRAME_W, FRAME_H, settings) == [DETECTIONS[0]]
    with pytest.raises(ValidationError, match=r"min_size 0\.5 is above max_size 0\.2"):
        DetectionFilter(min_size=0.5, max_size=0.2)
    with pytest.raises(ValueError, match="frame size 0x600"):
        filter_detections(DETECTIONS, 0, FRAME_H, settings)
