"""The motion gate: a cheap test of whether anything moves, to skip still frames."""

from __future__ import annotations

import logging

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

logger = logging.getLogger(__name__)


class MotionSettings(BaseModel):
    """How the motion gate of one camera decides that something moves."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    width: int = Field(
        default=256,
        ge=64,
        le=1280,
        description=(
            "Width in pixels that frames are scaled down to before comparing "
            "(the height follows the aspect ratio). Smaller is cheaper and "
            "ignores more noise, but misses smaller objects."
        ),
    )
    blur: int = Field(
        default=5,
        ge=1,
        le=31,
        description="Side of the Gaussian blur applied to the small grey frame (odd).",
    )
    pixel_threshold: float = Field(
        default=20.0,
        gt=0,
        le=255,
        description=(
            "Grey-level difference from the background model above which a "
            "pixel counts as changed."
        ),
    )
    min_area_fraction: float = Field(
        default=0.001,
        gt=0,
        le=1,
        description=(
            "Fraction of the frame that must change for motion to be reported. "
            "0.001 is about a 16x5 pixel patch at 256x192, or a person 1/8 of "
            "the frame high."
        ),
    )
    scene_change_fraction: float = Field(
        default=0.6,
        gt=0,
        le=1,
        description=(
            "Fraction of changed pixels above which the whole scene is taken to "
            "have changed (camera moved, lights switched): motion is reported "
            "and the background model starts again from this frame."
        ),
    )
    learning_rate: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="How fast still pixels update the background model, per frame.",
    )
    moving_learning_rate: float = Field(
        default=0.005,
        ge=0,
        le=1,
        description=(
            "How fast changed pixels update the background model, per frame; "
            "above 0 so that an object that stops for good becomes background."
        ),
    )
    warmup_frames: int = Field(
        default=3,
        ge=1,
        description=(
            "Frames after a (re)start during which motion is always reported, "
            "while the background model is young."
        ),
    )
    compensate_brightness: bool = Field(
        default=True,
        description=(
            "Scale each frame so that its median brightness matches the "
            "background's, so that auto-exposure and passing clouds are not "
            "taken for motion."
        ),
    )


class MotionGate:
    """Tells, frame by frame, whether anything moves in one camera's view.

    Each frame is scaled down to ``settings.width``, turned grey and blurred,
    and compared with a running-average background model; pixels that differ
    by more than ``pixel_threshold`` (after brightness compensation and a small
    opening that removes speckle) are changed, and motion is reported when they
    cover at least ``min_area_fraction`` of the frame. The caller runs the
    detector when :meth:`update` says ``True`` or when the camera still has a
    track, and skips the frame otherwise.

    One gate serves one camera; it is not safe to share between threads.

    Args:
        settings: Gate parameters; the defaults if ``None``.

    Example:
        >>> gate = MotionGate()
        >>> for frame in frames:  # doctest: +SKIP
        ...     if gate.update(frame.image) or tracker.has_tracks:
        ...         detections = detector.detect([frame.image])[0]

    Limitations:
        Swaying trees, rain and water move: in such views the gate reports
        motion often and saves little. An object that stops for good stays
        "moving" until the background absorbs it, about ``1 /
        moving_learning_rate`` frames.
    """

    def __init__(self, settings: MotionSettings | None = None) -> None:
        self.settings = settings or MotionSettings()
        if self.settings.blur % 2 == 0:
            raise ValueError(
                f"motion blur {self.settings.blur} is even; the blur side must be odd"
            )
        self._background: np.ndarray | None = None
        self._frames_seen = 0
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self.changed_fraction = 0.0
        """Fraction of pixels found changed in the last frame."""
        self.mask: np.ndarray | None = None
        """The last frame's changed pixels (small frame size), 255 where changed."""

    def reset(self) -> None:
        """Forget the background model, as after a reconnect."""
        self._background = None
        self._frames_seen = 0
        self.changed_fraction = 0.0
        self.mask = None

    def update(self, image: np.ndarray) -> bool:
        """Feed one frame; say whether something moves in it.

        Args:
            image: A BGR (or grey) ``uint8`` frame of any size.

        Returns:
            ``True`` if motion is present (or the gate is still warming up).
        """
        small = self._prepare(image)
        background = self._background
        if background is None or background.shape != small.shape:
            self._background = small.copy()
            self._frames_seen = 1
            self.changed_fraction = 1.0
            self.mask = np.full(small.shape, 255, dtype=np.uint8)
            return True
        self._frames_seen += 1

        compared = small
        if self.settings.compensate_brightness:
            compared = small * _gain(small, background)

        difference = cv2.absdiff(compared, background)
        changed = np.where(difference > self.settings.pixel_threshold, 255, 0)
        mask = cv2.morphologyEx(changed.astype(np.uint8), cv2.MORPH_OPEN, self._kernel)
        fraction = float(cv2.countNonZero(mask)) / mask.size
        self.changed_fraction = fraction
        self.mask = mask

        if fraction >= self.settings.scene_change_fraction:
            logger.debug(
                "scene changed (%.0f%% of pixels); background model restarted",
                fraction * 100,
            )
            self._background = small.copy()
            self._frames_seen = 1
            return True

        # Follow the raw frame, not the compensated one, so that a lasting
        # change of light ends in a background of the new brightness.
        still = cv2.bitwise_not(mask)
        cv2.accumulateWeighted(small, background, self.settings.learning_rate, still)
        if self.settings.moving_learning_rate > 0:
            cv2.accumulateWeighted(
                small, background, self.settings.moving_learning_rate, mask
            )

        if self._frames_seen <= self.settings.warmup_frames:
            return True
        return fraction >= self.settings.min_area_fraction

    def _prepare(self, image: np.ndarray) -> np.ndarray:
        height, width = int(image.shape[0]), int(image.shape[1])
        if width == 0 or height == 0:
            raise ValueError(
                f"frame has size {width}x{height}; the motion gate needs a "
                "non-empty frame"
            )
        target_width = min(self.settings.width, width)
        target_height = max(1, round(height * target_width / width))
        small = cv2.resize(
            image, (target_width, target_height), interpolation=cv2.INTER_AREA
        )
        if small.ndim == 3 and small.shape[2] == 3:
            small = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        elif small.ndim == 3:
            small = small[:, :, 0]
        blur = self.settings.blur
        if blur > 1:
            small = cv2.GaussianBlur(small, (blur, blur), 0)
        return small.astype(np.float32)


def _gain(frame: np.ndarray, background: np.ndarray) -> float:
    # Medians are used so that an object covering less than half the frame
    # does not move the estimate much.
    frame_level = float(np.median(frame))
    background_level = float(np.median(background))
    if frame_level < 1.0 or background_level < 1.0:
        return 1.0
    return float(np.clip(background_level / frame_level, 0.25, 4.0))
