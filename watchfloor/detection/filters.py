"""Per-camera detection filters: which classes, how confident, how large."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from watchfloor.detection.base import Detection


class DetectionFilter(BaseModel):
    """What one camera keeps of a shared detector's output.

    Sizes are relative to the frame, so one setting fits a camera's detection
    stream and main stream alike: the *size* of a box is its larger side as a
    fraction of the same side of the frame, ``max(width / frame width,
    height / frame height)``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    classes: frozenset[str] | None = Field(
        default=None,
        description="Class names to keep, such as ['person', 'car']; all when unset.",
    )
    min_score: float = Field(
        default=0.0, ge=0, le=1, description="Lowest detection score kept."
    )
    min_size: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description=(
            "Smallest box kept: its larger side as a fraction of the frame's "
            "same side. 0.05 drops boxes smaller than 1/20 of the frame."
        ),
    )
    max_size: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description=(
            "Largest box kept, measured as min_size. Below 1 it drops boxes that "
            "fill the frame, as an insect on the lens gives."
        ),
    )

    @model_validator(mode="after")
    def _check(self) -> DetectionFilter:
        if self.min_size > self.max_size:
            raise ValueError(
                f"min_size {self.min_size} is above max_size {self.max_size}; "
                "min_size must not exceed max_size"
            )
        return self

    def keeps(self, detection: Detection, frame_width: int, frame_height: int) -> bool:
        """Whether this filter keeps one detection of a frame of the given size."""
        if self.classes is not None and detection.label not in self.classes:
            return False
        if detection.score < self.min_score:
            return False
        x1, y1, x2, y2 = detection.box
        size = max((x2 - x1) / frame_width, (y2 - y1) / frame_height)
        return self.min_size <= size <= self.max_size


def filter_detections(
    detections: Iterable[Detection],
    frame_width: int,
    frame_height: int,
    settings: DetectionFilter,
) -> list[Detection]:
    """Keep the detections that a camera's filter accepts, in their order.

    Args:
        detections: Detections of one frame.
        frame_width: Width of that frame in pixels.
        frame_height: Height of that frame in pixels.
        settings: The camera's filter.

    Raises:
        ValueError: If the frame size is not positive.

    Example:
        >>> people = DetectionFilter(classes=frozenset({"person"}), min_score=0.4)
        >>> filter_detections(detections, 768, 576, people)  # doctest: +SKIP
    """
    if frame_width <= 0 or frame_height <= 0:
        raise ValueError(
            f"frame size {frame_width}x{frame_height} is not positive; give the "
            "size of the frame the detections were found in"
        )
    return [d for d in detections if settings.keeps(d, frame_width, frame_height)]
