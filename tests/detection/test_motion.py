"""Tests of the motion gate on made frames: still scenes, moving objects, light."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from watchfloor.detection.motion import MotionGate, MotionSettings

WIDTH, HEIGHT = 640, 480


def scene(seed: int = 1) -> np.ndarray:
    """A textured still scene: smooth random shapes, grey levels 40 to 180."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(40, 180, size=(24, 32, 3)).astype(np.float32)
    return cv2.resize(coarse, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC).clip(
        40, 180
    )


class Camera:
    """Makes noisy frames of a scene, as a real sensor would."""

    def __init__(self, background: np.ndarray, noise: float = 3.0) -> None:
        self.background = background
        rng = np.random.default_rng(7)
        self.noise = [
            rng.normal(0, noise, background.shape).astype(np.float32) for _ in range(6)
        ]
        self.count = 0

    def frame(
        self,
        square: tuple[int, int, int] | None = None,
        gain: float = 1.0,
    ) -> np.ndarray:
        picture = self.background.copy()
        if square is not None:
            x, y, side = square
            picture[y : y + side, x : x + side] = 240
        self.count += 1
        picture = picture * gain + self.noise[self.count % len(self.noise)]
        return picture.clip(0, 255).astype(np.uint8)

    def still(self, count: int, gain: float = 1.0) -> Iterator[np.ndarray]:
        for _ in range(count):
            yield self.frame(gain=gain)


def warm(gate: MotionGate, camera: Camera, frames: int = 10) -> None:
    for image in camera.still(frames):
        gate.update(image)


def test_still_scene_has_no_motion_after_warm_up() -> None:
    gate = MotionGate()
    camera = Camera(scene())
    results = [gate.update(image) for image in camera.still(40)]
    warmup = gate.settings.warmup_frames
    assert results[:warmup] == [True] * warmup
    assert results[warmup:] == [False] * (40 - warmup)
    assert gate.changed_fraction < gate.settings.min_area_fraction


def test_moving_square_is_motion_and_its_leaving_ends_it() -> None:
    gate = MotionGate()
    camera = Camera(scene())
    warm(gate, camera)

    # A 40 px square (about 1/12 of the frame height) crossing the view.
    moving = [
        gate.update(camera.frame(square=(20 + 15 * i, 200, 40))) for i in range(30)
    ]
    assert all(moving)
    assert gate.mask is not None and gate.mask.shape == (192, 256)

    after = [gate.update(image) for image in camera.still(10)]
    assert after[-5:] == [False] * 5


def test_small_person_far_away_is_motion() -> None:
    # 12 x 30 px: a person about 1/16 of the frame high.
    gate = MotionGate()
    camera = Camera(scene())
    warm(gate, camera)
    results = []
    for i in range(10):
        image = camera.frame()
        image[300:330, 100 + 6 * i : 112 + 6 * i] = 10
        results.append(gate.update(image))
    assert all(results)


def test_speck_below_the_area_threshold_is_not_motion() -> None:
    gate = MotionGate()
    camera = Camera(scene())
    warm(gate, camera)
    results = []
    for i in range(10):
        image = camera.frame()
        image[100:103, 100 + 3 * i : 103 + 3 * i] = 255
        results.append(gate.update(image))
    assert results == [False] * 10


@pytest.mark.parametrize("gain", [1.3, 0.7])
def test_global_brightness_change_is_not_motion(gain: float) -> None:
    gate = MotionGate()
    camera = Camera(scene())
    warm(gate, camera)
    results = [gate.update(image) for image in camera.still(20, gain=gain)]
    assert results == [False] * 20


def test_brightness_change_is_motion_without_compensation() -> None:
    gate = MotionGate(MotionSettings(compensate_brightness=False))
    camera = Camera(scene())
    warm(gate, camera)
    assert gate.update(camera.frame(gain=1.3)) is True


def test_moving_square_is_found_while_the_light_changes() -> None:
    gate = MotionGate()
    camera = Camera(scene())
    warm(gate, camera)
    results = [
        gate.update(camera.frame(square=(20 + 15 * i, 200, 40), gain=1.25))
        for i in range(10)
    ]
    assert all(results)


def test_scene_change_restarts_the_background() -> None:
    gate = MotionGate()
    camera = Camera(scene())
    warm(gate, camera)

    # The camera was turned: almost every pixel differs.
    camera.background = 220.0 - camera.background
    results = [gate.update(image) for image in camera.still(10)]
    warmup = gate.settings.warmup_frames
    assert results[0] is True
    assert results[warmup + 1 :] == [False] * (10 - warmup - 1)


def test_new_frame_size_restarts_the_gate() -> None:
    gate = MotionGate()
    camera = Camera(scene())
    warm(gate, camera)
    smaller = cv2.resize(camera.frame(), (320, 180))
    assert gate.update(smaller) is True


def test_grey_frames_are_accepted() -> None:
    gate = MotionGate()
    camera = Camera(scene())
    results = [
        gate.update(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
        for image in camera.still(10)
    ]
    assert results[-1] is False


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="must be odd"):
        MotionGate(MotionSettings(blur=4))
    with pytest.raises(ValidationError):
        MotionSettings(width=10)
    with pytest.raises(ValidationError):
        MotionSettings(min_area_fraction=0)
