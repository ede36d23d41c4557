"""Tests of the ONNX YOLO backend on small graphs that the tests build."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.detection.onnx_graphs import THREE, build_yolo_graph, candidates_of
from watchfloor.detection.base import Detection
from watchfloor.detection.coco import COCO_LABELS
from watchfloor.detection.onnx_yolo import OnnxYoloDetector, parse_names


def frame(width: int, height: int) -> np.ndarray:
    return np.zeros((height, width, 3), dtype=np.uint8)


def boxes_of(detections: list[Detection]) -> list[tuple[str, tuple[float, ...], float]]:
    return [
        (d.label, tuple(round(v, 3) for v in d.box), round(d.score, 3))
        for d in detections
    ]


def test_boxes_are_mapped_back_through_the_letterbox(tmp_path: Path) -> None:
    # A 1280x720 frame in a 640x640 input: scale 0.5, 140 px bands above and below.
    table = candidates_of([(320, 240, 100, 50, 0, 0.9)], classes=3)
    model = build_yolo_graph(tmp_path / "m.onnx", table, names=THREE)
    detector = OnnxYoloDetector(model)

    [found] = detector.detect([frame(1280, 720)])
    assert boxes_of(found) == [("person", (540.0, 150.0, 740.0, 250.0), 0.9)]


def test_nms_is_per_class(tmp_path: Path) -> None:
    table = candidates_of(
        [
            (100, 100, 40, 80, 0, 0.90),  # person
            (102, 101, 40, 80, 0, 0.80),  # same person again: suppressed
            (101, 100, 40, 80, 1, 0.70),  # a car in the same place: kept
            (400, 400, 40, 80, 0, 0.60),  # another person: kept
            (400, 400, 40, 80, 2, 0.10),  # below the score threshold
        ],
        classes=3,
    )
    model = build_yolo_graph(tmp_path / "m.onnx", table, names=THREE)
    detector = OnnxYoloDetector(model, score_threshold=0.25, nms_iou=0.45)

    [found] = detector.detect([frame(640, 640)])
    assert boxes_of(found) == [
        ("person", (80.0, 60.0, 120.0, 140.0), 0.9),
        ("car", (81.0, 60.0, 121.0, 140.0), 0.7),
        ("person", (380.0, 360.0, 420.0, 440.0), 0.6),
    ]


def test_each_frame_of_a_batch_uses_its_own_letterbox(tmp_path: Path) -> None:
    table = candidates_of([(320, 320, 64, 64, 1, 0.5)], classes=3)
    model = build_yolo_graph(tmp_path / "m.onnx", table, names=THREE)
    detector = OnnxYoloDetector(model)

    wide, tall = detector.detect([frame(1280, 640), frame(320, 640)])
    # Wide: scale 0.5, 160 px bands above and below.
    # Tall: scale 1, 160 px bands left and right.
    assert boxes_of(wide) == [("car", (576.0, 256.0, 704.0, 384.0), 0.5)]
    assert boxes_of(tall) == [("car", (128.0, 288.0, 192.0, 352.0), 0.5)]


def test_fixed_batch_models_are_run_frame_by_frame(tmp_path: Path) -> None:
    table = candidates_of([(320, 320, 64, 64, 2, 0.5)], classes=3)
    model = build_yolo_graph(tmp_path / "m.onnx", table, batch=1, names=THREE)
    found = OnnxYoloDetector(model).detect([frame(640, 640)] * 3)
    assert [boxes_of(f) for f in found] == [
        [("dog", (288.0, 288.0, 352.0, 352.0), 0.5)]
    ] * 3


def test_transposed_output_is_accepted(tmp_path: Path) -> None:
    table = candidates_of([(320, 240, 100, 50, 0, 0.9)], classes=3)
    model = build_yolo_graph(tmp_path / "m.onnx", table, names=THREE, transposed=True)
    [found] = OnnxYoloDetector(model).detect([frame(1280, 720)])
    assert boxes_of(found) == [("person", (540.0, 150.0, 740.0, 250.0), 0.9)]


def test_stretch_maps_each_side_on_its_own(tmp_path: Path) -> None:
    table = candidates_of([(320, 320, 64, 64, 0, 0.9)], classes=3)
    model = build_yolo_graph(tmp_path / "m.onnx", table, names=THREE)
    [found] = OnnxYoloDetector(model, resize="stretch").detect([frame(1280, 320)])
    assert boxes_of(found) == [("person", (576.0, 144.0, 704.0, 176.0), 0.9)]


def test_labels_come_from_metadata_else_coco_else_given(tmp_path: Path) -> None:
    three = candidates_of([(320, 320, 64, 64, 2, 0.9)], classes=3)
    coco = candidates_of([(320, 320, 64, 64, 2, 0.9)], classes=80)

    named = OnnxYoloDetector(build_yolo_graph(tmp_path / "a.onnx", three, names=THREE))
    assert list(named.labels) == ["person", "car", "dog"]

    plain = OnnxYoloDetector(build_yolo_graph(tmp_path / "b.onnx", coco))
    assert tuple(plain.labels) == COCO_LABELS
    assert plain.detect([frame(640, 640)])[0][0].label == "car"

    given = OnnxYoloDetector(tmp_path / "a.onnx", labels=["a", "b", "c"])
    assert given.detect([frame(640, 640)])[0][0].label == "c"

    with pytest.raises(ValueError, match="give the class names as labels"):
        OnnxYoloDetector(build_yolo_graph(tmp_path / "c.onnx", three))


def test_wrong_number_of_labels_is_refused_when_detecting(tmp_path: Path) -> None:
    table = candidates_of([(320, 320, 64, 64, 0, 0.9)], classes=3)
    model = build_yolo_graph(tmp_path / "m.onnx", table, names=THREE)
    detector = OnnxYoloDetector(model, labels=["person", "car"])
    with pytest.raises(
        ValueError, match=r"expected \[batch, 6, candidates\] for 2 classes"
    ):
        detector.detect([frame(640, 640)])


def test_input_size_of_a_dynamic_model_is_chosen(tmp_path: Path) -> None:
    table = candidates_of([(160, 160, 32, 32, 0, 0.9)], classes=3)
    model = build_yolo_graph(
        tmp_path / "m.onnx", table, input_hw=("h", "w"), names=THREE
    )
    detector = OnnxYoloDetector(model, input_size=320)
    assert (detector.input_width, detector.input_height) == (320, 320)
    [found] = detector.detect([frame(640, 640)])
    assert boxes_of(found) == [("person", (288.0, 288.0, 352.0, 352.0), 0.9)]


def test_fixed_model_refuses_another_input_size(tmp_path: Path) -> None:
    table = candidates_of([(320, 320, 64, 64, 0, 0.9)], classes=3)
    model = build_yolo_graph(tmp_path / "m.onnx", table, names=THREE)
    with pytest.raises(ValueError, match="fixed input of 640x640"):
        OnnxYoloDetector(model, input_size=320)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{0: 'person', 1: 'car'}", ["person", "car"]),
        ('{"1": "car", "0": "person"}', ["person", "car"]),
        ("['a', 'b']", ["a", "b"]),
    ],
)
def test_parse_names(text: str, expected: list[str]) -> None:
    assert parse_names(text) == expected


@pytest.mark.parametrize("text", ["person, car", "{0: 'a', 2: 'b'}", "42"])
def test_parse_names_refuses_other_text(text: str) -> None:
    with pytest.raises(ValueError, match="names metadata"):
        parse_names(text)
