"""Small ONNX graphs shaped like YOLOv8 exports, built for the detection tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build_yolo_graph(
    path: Path,
    candidates: np.ndarray,
    *,
    input_hw: tuple[int | str, int | str] = (640, 640),
    batch: int | str = "batch",
    names: str | None = None,
    transposed: bool = False,
) -> Path:
    """Write an ONNX model shaped like a YOLOv8 export with a fixed prediction.

    The output is ``candidates`` (``[4 + classes, N]``: cx, cy, w, h in input
    pixels, then class scores) for every image of the batch. The input does
    take part (times zero), so the batch size and input shape are real.
    """
    rows, count = candidates.shape
    constant = candidates[None].astype(np.float32)
    out_shape: list[int | str] = [batch, rows, count]
    if transposed:
        constant = constant.transpose(0, 2, 1).copy()
        out_shape = [batch, count, rows]
    nodes = [
        helper.make_node(
            "Constant",
            [],
            ["axes"],
            value=numpy_helper.from_array(np.array([1, 2, 3], np.int64)),
        ),
        helper.make_node("ReduceMean", ["images", "axes"], ["mean"], keepdims=1),
        helper.make_node(
            "Constant",
            [],
            ["zero"],
            value=numpy_helper.from_array(np.array(0.0, np.float32)),
        ),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node(
            "Constant",
            [],
            ["shape"],
            value=numpy_helper.from_array(np.array([-1, 1, 1], np.int64)),
        ),
        helper.make_node("Reshape", ["nothing", "shape"], ["per_image"]),
        helper.make_node(
            "Constant", [], ["prediction"], value=numpy_helper.from_array(constant)
        ),
        helper.make_node("Add", ["per_image", "prediction"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "yolo-like",
        [
            helper.make_tensor_value_info(
                "images", TensorProto.FLOAT, [batch, 3, *input_hw]
            )
        ],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, out_shape)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    if names is not None:
        entry = model.metadata_props.add()
        entry.key, entry.value = "names", names
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def candidates_of(
    boxes: Sequence[tuple[float, float, float, float, int, float]], classes: int
) -> np.ndarray:
    """Columns ``cx, cy, w, h`` plus a one-hot score row for each box."""
    table = np.zeros((4 + classes, len(boxes)), dtype=np.float32)
    for column, (cx, cy, w, h, class_id, score) in enumerate(boxes):
        table[:4, column] = (cx, cy, w, h)
        table[4 + class_id, column] = score
    return table


THREE = "{0: 'person', 1: 'car', 2: 'dog'}"
