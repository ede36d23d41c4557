"""Tests of the box geometry shared by the backends: fitting, IoU and NMS."""

from __future__ import annotations

import numpy as np
import pytest

from watchfloor.detection.boxes import (
    PAD_VALUE,
    centre_to_corners,
    class_wise_nms,
    fit_to_input,
    iou_matrix,
)


@pytest.mark.parametrize(
    ("frame_w", "frame_h", "in_w", "in_h", "inner", "pad"),
    [
        (1280, 720, 640, 640, (640, 360), (0, 140)),  # wide frame: bands above, below
        (480, 640, 416, 416, (312, 416), (52, 0)),  # tall frame: bands left, right
        (416, 416, 416, 416, (416, 416), (0, 0)),  # already the input size
        (100, 50, 64, 64, (64, 32), (0, 16)),  # upscaled
    ],
)
def test_letterbox_places_the_picture_and_maps_boxes_back(
    frame_w: int,
    frame_h: int,
    in_w: int,
    in_h: int,
    inner: tuple[int, int],
    pad: tuple[int, int],
) -> None:
    image = np.full((frame_h, frame_w, 3), 200, dtype=np.uint8)
    fitted, transform = fit_to_input(image, in_w, in_h, "letterbox")

    assert fitted.shape == (in_h, in_w, 3)
    assert (transform.pad_x, transform.pad_y) == pad
    content = fitted[pad[1] : pad[1] + inner[1], pad[0] : pad[0] + inner[0]]
    assert (content == 200).all()
    assert (fitted == PAD_VALUE).sum() == 3 * (in_w * in_h - inner[0] * inner[1])

    frame_box = np.array([[10.0, 20.0, frame_w / 2, frame_h - 1.0]])
    input_box = np.array(
        [
            [
                frame_box[0, 0] * transform.scale_x + pad[0],
                frame_box[0, 1] * transform.scale_y + pad[1],
                frame_box[0, 2] * transform.scale_x + pad[0],
                frame_box[0, 3] * transform.scale_y + pad[1],
            ]
        ]
    )
    np.testing.assert_allclose(transform.to_frame(input_box), frame_box, atol=1e-9)


def test_stretch_scales_each_side_and_maps_back() -> None:
    image = np.zeros((576, 768, 3), dtype=np.uint8)
    fitted, transform = fit_to_input(image, 416, 416, "stretch")
    assert fitted.shape == (416, 416, 3)
    assert transform.scale_x == pytest.approx(416 / 768)
    assert transform.scale_y == pytest.approx(416 / 576)
    back = transform.to_frame(np.array([[0.0, 0.0, 208.0, 416.0]]))
    np.testing.assert_allclose(back, [[0.0, 0.0, 384.0, 576.0]])


def test_boxes_mapped_back_are_clipped_to_the_frame() -> None:
    _, transform = fit_to_input(np.zeros((360, 640, 3), np.uint8), 320, 320)
    back = transform.to_frame(np.array([[-50.0, 0.0, 400.0, 320.0]]))
    np.testing.assert_allclose(back, [[0.0, 0.0, 640.0, 360.0]])


def test_unknown_resize_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="'letterbox' or 'stretch'"):
        fit_to_input(np.zeros((10, 10, 3), np.uint8), 32, 32, "crop")  # type: ignore[arg-type]


def test_centre_to_corners() -> None:
    np.testing.assert_allclose(
        centre_to_corners(np.array([[50.0, 40.0, 20.0, 10.0]])), [[40, 35, 60, 45]]
    )


def test_iou_matrix_values() -> None:
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 0]], dtype=float)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], dtype=float)
    np.testing.assert_allclose(
        iou_matrix(a, b), [[1.0, 50 / 150, 0.0], [0.0, 0.0, 0.0]], atol=1e-12
    )
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 3)


def test_nms_suppresses_within_a_class_but_not_across() -> None:
    boxes = np.array(
        [
            [0, 0, 10, 10],  # class 0, best
            [1, 0, 11, 10],  # class 0, overlaps the best: dropped
            [1, 0, 11, 10],  # class 1, same place: kept
            [50, 50, 60, 60],  # class 0, elsewhere: kept
            [0, 0, 10, 19],  # class 0, IoU 10/19 < 0.6: kept
        ],
        dtype=float,
    )
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    classes = np.array([0, 0, 1, 0, 0])
    keep = class_wise_nms(boxes, scores, classes, iou_threshold=0.6)
    assert keep.tolist() == [0, 2, 3, 4]
    assert class_wise_nms(boxes, scores, classes, 0.6, max_detections=2).tolist() == [
        0,
        2,
    ]
    assert class_wise_nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0), 0.5).size == 0
