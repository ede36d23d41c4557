"""Appearance descriptors and attributes on made crops of known colours."""

from __future__ import annotations

import numpy as np
import pytest

from tests.tracking.scenes import BGR
from watchfloor.tracking.appearance import (
    MAX_CROPS,
    CropSampler,
    TrackMotion,
    appearance_distance,
    describe,
    descriptor_from_bytes,
)


def person(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> np.ndarray:
    """A 90x36 crop: a head, a top, trousers and a background at the sides."""
    crop = np.full((90, 36, 3), (90, 140, 90), np.uint8)  # grass
    crop[0:12, 12:24] = (120, 150, 200)  # face
    crop[12:45, 6:30] = top
    crop[45:85, 8:28] = bottom
    return crop


@pytest.mark.parametrize("name", sorted(BGR))
def test_each_colour_is_named(name: str) -> None:
    shown = describe([person(BGR[name], BGR[name])])
    assert shown is not None
    assert (shown.upper_colour, shown.lower_colour) == (name, name)


def test_upper_and_lower_body_apart() -> None:
    shown = describe([person(BGR["red"], BGR["blue"])])
    assert shown is not None
    assert (shown.upper_colour, shown.lower_colour) == ("red", "blue")


def test_the_same_clothes_in_darker_light_stay_close() -> None:
    bright = describe([person(BGR["red"], BGR["blue"])])
    dim_top = tuple(int(v * 0.7) for v in BGR["red"])
    dim_bottom = tuple(int(v * 0.7) for v in BGR["blue"])
    dim = describe([person(dim_top, dim_bottom)])  # type: ignore[arg-type]
    other = describe([person(BGR["green"], BGR["white"])])
    assert bright and dim and other
    near = appearance_distance(bright.descriptor, dim.descriptor)
    far = appearance_distance(bright.descriptor, other.descriptor)
    assert near < 0.2 < 0.8 < far


def test_the_descriptor_survives_storage() -> None:
    shown = describe([person(BGR["red"], BGR["blue"])])
    assert shown is not None
    again = descriptor_from_bytes(shown.to_bytes())
    assert appearance_distance(shown.descriptor, again) == pytest.approx(0, abs=1e-6)
    with pytest.raises(ValueError, match="expected"):
        descriptor_from_bytes(b"\0" * 12)


def test_no_crops_no_appearance() -> None:
    assert describe([]) is None


def frame_with(box: tuple[int, int, int, int]) -> np.ndarray:
    image = np.zeros((480, 640, 3), np.uint8)
    x1, y1, x2, y2 = box
    image[y1:y2, x1:x2] = BGR["red"]
    return image


BOX = (100.0, 100.0, 140.0, 200.0)


@pytest.mark.parametrize(
    ("box", "others", "kept"),
    [
        pytest.param(BOX, [], True, id="whole-and-alone"),
        pytest.param((0.0, 100.0, 40.0, 200.0), [], False, id="cut-by-the-edge"),
        pytest.param(BOX, [(120.0, 150.0, 160.0, 250.0)], False, id="overlapped"),
        pytest.param((100.0, 100.0, 110.0, 115.0), [], False, id="too-small"),
    ],
)
def test_crops_are_kept_only_whole_and_alone(
    box: tuple[float, float, float, float],
    others: list[tuple[float, float, float, float]],
    kept: bool,
) -> None:
    sampler = CropSampler()
    image = frame_with(tuple(int(v) for v in box))  # type: ignore[arg-type]
    assert sampler.offer(0.0, box, 0.9, image, others) is kept


def test_the_best_crops_are_kept_at_most_every_half_second() -> None:
    sampler = CropSampler()
    image = frame_with((100, 100, 140, 200))
    offered = [sampler.offer(i * 0.1, BOX, 0.5, image) for i in range(10)]
    assert offered == [True, False, False, False, False, True] + [False] * 4
    for i in range(MAX_CROPS + 5):
        sampler.offer(10.0 + i, BOX, 0.1 + i / 100, image)
    assert len(sampler.crops) == MAX_CROPS
    assert min(score for score, _, _ in sampler.crops) > 0.1
    shown = sampler.describe()
    assert shown is not None and shown.crops == MAX_CROPS
    assert shown.colour == "red"


@pytest.mark.parametrize(
    ("path", "direction"),
    [
        pytest.param([(0.1, 0.5), (0.5, 0.55)], "right", id="right"),
        pytest.param([(0.8, 0.5), (0.3, 0.4)], "left", id="left"),
        pytest.param([(0.5, 0.3), (0.52, 0.9)], "towards", id="down-the-picture"),
        pytest.param([(0.5, 0.9), (0.45, 0.4)], "away", id="up-the-picture"),
        pytest.param([(0.5, 0.5), (0.52, 0.51)], "stationary", id="standing"),
    ],
)
def test_direction_of_travel(path: list[tuple[float, float]], direction: str) -> None:
    motion = TrackMotion()
    for t, (x, y) in enumerate(path):
        box = (x * 640 - 10, y * 480 - 60, x * 640 + 10, y * 480)
        motion.add(box, 640, 480, float(t))
    assert motion.direction() == direction


@pytest.mark.parametrize(
    ("height", "size"), [(40, "small"), (120, "medium"), (300, "large")]
)
def test_size_class(height: int, size: str) -> None:
    motion = TrackMotion()
    motion.add((10, 10, 50, 10 + height), 640, 480, 0.0)
    assert motion.size_class() == size
    assert TrackMotion().size_class() is None and TrackMotion().direction() is None
