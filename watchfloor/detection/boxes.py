"""Box geometry shared by the detector backends: input resizing, IoU and NMS."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from watchfloor.detection.base import Detection

ResizeMode = Literal["letterbox", "stretch"]
"""How a frame is fitted to a network input.

``"letterbox"`` keeps the aspect ratio and pads the rest with grey;
``"stretch"`` resizes each side on its own, distorting the picture.
"""

PAD_VALUE = 114
"""Grey level of letterbox padding (the value YOLO exports are trained with)."""

EDGE_PX = 2
"""Pixels from the picture's border within which a box counts as cut off by it."""


def cut_by_side(box: tuple[float, float, float, float], width: int) -> int:
    """-1 when ``box`` (pixels) is cut off by the left side of a picture
    ``width`` pixels wide, 1 by the right side, 0 by neither."""
    if round(box[0]) <= EDGE_PX:
        return -1
    if round(box[2]) >= width - EDGE_PX:
        return 1
    return 0


def cut_by_border(
    box: tuple[float, float, float, float], width: int, height: int
) -> bool:
    """Whether ``box`` (pixels) is cut off by any side of a ``width`` x
    ``height`` picture: part of the object is out of view.

    Example:
        >>> cut_by_border((0.0, 10.0, 20.0, 60.0), 100, 100)
        True
        >>> cut_by_border((10.0, 10.0, 20.0, 60.0), 100, 100)
        False
    """
    return bool(
        cut_by_side(box, width)
        or round(box[1]) <= EDGE_PX
        or round(box[3]) >= height - EDGE_PX
    )


@dataclass(frozen=True, slots=True)
class InputTransform:
    """How a frame was mapped onto the network input, to map boxes back.

    A point ``(x, y)`` of the frame lands at ``(x * scale_x + pad_x,
    y * scale_y + pad_y)`` in the network input.

    Attributes:
        scale_x: Input pixels per frame pixel, horizontally.
        scale_y: Input pixels per frame pixel, vertically.
        pad_x: Padding left of the picture in the input, in input pixels.
        pad_y: Padding above the picture in the input, in input pixels.
        frame_width: Width of the original frame in pixels.
        frame_height: Height of the original frame in pixels.
    """

    scale_x: float
    scale_y: float
    pad_x: float
    pad_y: float
    frame_width: int
    frame_height: int

    def to_frame(self, boxes: np.ndarray) -> np.ndarray:
        """Map ``(N, 4)`` boxes ``x1, y1, x2, y2`` from input to frame pixels.

        Boxes are clipped to the frame.
        """
        out = np.empty_like(boxes, dtype=np.float64)
        out[:, 0] = (boxes[:, 0] - self.pad_x) / self.scale_x
        out[:, 2] = (boxes[:, 2] - self.pad_x) / self.scale_x
        out[:, 1] = (boxes[:, 1] - self.pad_y) / self.scale_y
        out[:, 3] = (boxes[:, 3] - self.pad_y) / self.scale_y
        np.clip(out[:, 0::2], 0.0, float(self.frame_width), out=out[:, 0::2])
        np.clip(out[:, 1::2], 0.0, float(self.frame_height), out=out[:, 1::2])
        return out


def fit_to_input(
    image: np.ndarray, width: int, height: int, mode: ResizeMode = "letterbox"
) -> tuple[np.ndarray, InputTransform]:
    """Resize a frame to a network input of ``width`` x ``height`` pixels.

    Args:
        image: The frame, ``(h, w, channels)``.
        width: Width of the network input in pixels.
        height: Height of the network input in pixels.
        mode: ``"letterbox"`` (keep the aspect ratio, pad with grey) or
            ``"stretch"`` (resize each side on its own).

    Returns:
        The resized picture, same channel order and dtype as ``image``, and the
        transform that maps boxes in it back to the frame.

    Raises:
        ValueError: If the mode is unknown or the image is empty.
    """
    frame_height, frame_width = int(image.shape[0]), int(image.shape[1])
    if frame_width == 0 or frame_height == 0:
        raise ValueError(
            f"image has size {frame_width}x{frame_height}; a frame needs at "
            "least one pixel on each side"
        )

    if mode == "stretch":
        resized = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
        transform = InputTransform(
            scale_x=width / frame_width,
            scale_y=height / frame_height,
            pad_x=0.0,
            pad_y=0.0,
            frame_width=frame_width,
            frame_height=frame_height,
        )
        return resized, transform

    if mode != "letterbox":
        raise ValueError(
            f"resize mode {mode!r} is unknown; use 'letterbox' or 'stretch'"
        )

    ratio = min(width / frame_width, height / frame_height)
    inner_width = max(1, min(width, round(frame_width * ratio)))
    inner_height = max(1, min(height, round(frame_height * ratio)))
    left = (width - inner_width) // 2
    top = (height - inner_height) // 2

    if (inner_width, inner_height) == (frame_width, frame_height):
        inner = image
    else:
        inner = cv2.resize(
            image, (inner_width, inner_height), interpolation=cv2.INTER_LINEAR
        )
    shape = (height, width, *image.shape[2:])
    canvas = np.full(shape, PAD_VALUE, dtype=image.dtype)
    canvas[top : top + inner_height, left : left + inner_width] = inner

    transform = InputTransform(
        scale_x=inner_width / frame_width,
        scale_y=inner_height / frame_height,
        pad_x=float(left),
        pad_y=float(top),
        frame_width=frame_width,
        frame_height=frame_height,
    )
    return canvas, transform


def centre_to_corners(boxes: np.ndarray) -> np.ndarray:
    """Turn ``(N, 4)`` boxes ``cx, cy, w, h`` into ``x1, y1, x2, y2``."""
    out = np.empty_like(boxes, dtype=np.float64)
    half_w = boxes[:, 2] / 2.0
    half_h = boxes[:, 3] / 2.0
    out[:, 0] = boxes[:, 0] - half_w
    out[:, 1] = boxes[:, 1] - half_h
    out[:, 2] = boxes[:, 0] + half_w
    out[:, 3] = boxes[:, 1] + half_h
    return out


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box of ``a`` with every box of ``b``.

    Args:
        a: ``(N, 4)`` boxes ``x1, y1, x2, y2``.
        b: ``(M, 4)`` boxes ``x1, y1, x2, y2``.

    Returns:
        An ``(N, M)`` array; pairs whose union is empty have IoU 0.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix2 - ix1, 0.0, None) * np.clip(iy2 - iy1, 0.0, None)
    area_a = np.clip(a[:, 2] - a[:, 0], 0.0, None) * np.clip(
        a[:, 3] - a[:, 1], 0.0, None
    )
    area_b = np.clip(b[:, 2] - b[:, 0], 0.0, None) * np.clip(
        b[:, 3] - b[:, 1], 0.0, None
    )
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0.0, inter / union, 0.0)
    return iou


def class_wise_nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    class_ids: np.ndarray,
    iou_threshold: float,
    max_detections: int = 300,
) -> np.ndarray:
    """Greedy non-maximum suppression done separately for each class.

    A box is dropped when a higher-scoring box of the same class overlaps it
    with IoU above ``iou_threshold``; boxes of different classes never
    suppress each other.

    Args:
        boxes: ``(N, 4)`` boxes ``x1, y1, x2, y2``.
        scores: ``(N,)`` scores.
        class_ids: ``(N,)`` integer class ids.
        iou_threshold: Overlap above which the lower-scoring box is dropped.
        max_detections: Most boxes kept.

    Returns:
        Indices of the kept boxes, highest score first.
    """
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    boxes = np.asarray(boxes, dtype=np.float64)

    # Shifting each class to its own region of the plane lets one pass of
    # ordinary NMS act per class: boxes of different classes cannot overlap.
    span = float(np.max(boxes) - np.min(boxes)) + 1.0
    shifted = boxes + (np.asarray(class_ids, dtype=np.float64) * 2.0 * span)[:, None]

    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    areas = (shifted[:, 2] - shifted[:, 0]).clip(0.0) * (
        shifted[:, 3] - shifted[:, 1]
    ).clip(0.0)
    keep: list[int] = []
    while order.size > 0 and len(keep) < max_detections:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        ix1 = np.maximum(shifted[best, 0], shifted[rest, 0])
        iy1 = np.maximum(shifted[best, 1], shifted[rest, 1])
        ix2 = np.minimum(shifted[best, 2], shifted[rest, 2])
        iy2 = np.minimum(shifted[best, 3], shifted[rest, 3])
        inter = (ix2 - ix1).clip(0.0) * (iy2 - iy1).clip(0.0)
        union = areas[best] + areas[rest] - inter
        with np.errstate(divide="ignore", invalid="ignore"):
            overlap = np.where(union > 0.0, inter / union, 0.0)
        order = rest[overlap <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def select_detections(
    boxes: np.ndarray,
    scores: np.ndarray,
    labels: Sequence[str],
    transform: InputTransform,
    score_threshold: float,
    nms_iou: float,
    max_detections: int = 300,
) -> list[Detection]:
    """Turn raw network candidates into detections in frame pixels.

    Every (box, class) pair whose score reaches ``score_threshold`` is a
    candidate; candidates go through :func:`class_wise_nms` and are mapped back
    through ``transform``.

    Args:
        boxes: ``(N, 4)`` candidate boxes ``x1, y1, x2, y2`` in input pixels.
        scores: ``(N, C)`` score of each candidate for each class.
        labels: ``C`` class names.
        transform: How the frame was fitted to the input.
        score_threshold: Lowest score kept.
        nms_iou: IoU above which a lower-scoring box of the same class goes.
        max_detections: Most detections returned.

    Returns:
        Detections, highest score first.
    """
    row_ids, class_ids = np.nonzero(scores >= score_threshold)
    if row_ids.size == 0:
        return []
    picked_scores = scores[row_ids, class_ids]
    picked_boxes = boxes[row_ids]
    keep = class_wise_nms(
        picked_boxes, picked_scores, class_ids, nms_iou, max_detections
    )
    frame_boxes = transform.to_frame(picked_boxes[keep])
    return [
        Detection(
            box=(float(b[0]), float(b[1]), float(b[2]), float(b[3])),
            score=float(picked_scores[k]),
            label=labels[int(class_ids[k])],
        )
        for b, k in zip(frame_boxes, keep, strict=True)
    ]
