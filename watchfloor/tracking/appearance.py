"""What a track looks like: a colour descriptor and searchable attributes.

A track's appearance is made from several of its crops, not one: crops are
sampled along the track (at most one every :data:`SAMPLE_EVERY_S`), only where
the object is whole (not cut by the picture's edge) and alone (not overlapped
by another track), and the best-scoring :data:`MAX_CROPS` are kept.

The descriptor is made for people and works for vehicles too: for each of two
horizontal bands of the box (a person's upper and lower body; the head and the
feet are left out, and so are the box's side margins, which are mostly
background), a histogram of hue and saturation for the coloured pixels plus
four bins of brightness for the grey ones. Hue and saturation change little
with the light's strength, so the same clothes under another camera's
exposure keep most of their histogram. Two descriptors are compared with the
Hellinger distance, averaged over the bands: 0 for the same colours, 1 for
none in common.

Attributes are the dominant colour names of the bands and of the whole body
(from :data:`COLOURS`), the direction of travel on the picture and a size
class.

Limitations:
    Colour is not identity: two people dressed alike are alike here, and a
    learned re-identification model would tell them apart better. None whose
    weights can be had offline from a package registry was found, so the
    resolver leaves such look-alikes unjoined rather than guess (see
    :mod:`watchfloor.tracking.identities`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from watchfloor.detection.boxes import cut_by_border
from watchfloor.tracking.paths import FootPath, PathPoint

COLOURS = (
    "black",
    "white",
    "grey",
    "red",
    "orange",
    "yellow",
    "green",
    "blue",
    "purple",
    "pink",
    "brown",
)
"""The colour names an investigator can search by."""

DIRECTIONS = ("left", "right", "towards", "away", "stationary")
"""Directions of travel on the picture: ``towards`` is down the picture (most
cameras look down, so it is towards the camera), ``away`` is up it."""

SIZE_CLASSES = ("small", "medium", "large")
"""By the object's median height as a share of the picture's: under 15 %,
under 40 %, and above."""

MAX_CROPS = 8
SAMPLE_EVERY_S = 0.5
MIN_CROP_HEIGHT = 24
"""Crops smaller than this many pixels carry too little colour to describe."""
STORED_CROP_HEIGHT = 96
"""Kept crops are shrunk to at most this height: enough for the histograms."""

# Bands of a box, as (top, bottom) shares of its height, and the share of its
# width kept in the middle.
UPPER_BAND = (0.15, 0.5)
LOWER_BAND = (0.5, 0.9)
WHOLE_BAND = (0.1, 0.9)
KEEP_WIDTH = 0.6

_HUE_BINS = 12
_SAT_BINS = 2
_GREY_BINS = 4
_BAND_BINS = _HUE_BINS * _SAT_BINS + _GREY_BINS
DESCRIPTOR_SIZE = 2 * _BAND_BINS

# A pixel is coloured when saturated and bright enough for its hue to mean
# something (OpenCV's HSV: hue 0-179, saturation and value 0-255).
_MIN_SATURATION = 50
_MIN_VALUE = 50

Box = tuple[float, float, float, float]


def colour_indices(hsv: np.ndarray) -> np.ndarray:
    """The index in :data:`COLOURS` of each pixel of an HSV (OpenCV) array."""
    h = hsv[..., 0].astype(np.int32) * 2  # degrees
    s = hsv[..., 1].astype(np.int32)
    v = hsv[..., 2].astype(np.int32)
    out = np.full(h.shape, COLOURS.index("grey"), dtype=np.int8)

    grey = (s < _MIN_SATURATION) | (v < _MIN_VALUE)
    out[grey & (v >= 190) & (s < 40)] = COLOURS.index("white")
    out[grey & (v < 60)] = COLOURS.index("black")

    coloured = ~grey
    warm_dark = coloured & (v < 140)
    hue_names = [
        ((h < 12) | (h >= 340), "red"),
        ((h >= 12) & (h < 40), "orange"),
        ((h >= 40) & (h < 70), "yellow"),
        ((h >= 70) & (h < 170), "green"),
        ((h >= 170) & (h < 260), "blue"),
        ((h >= 260) & (h < 320), "purple"),
        ((h >= 320) & (h < 340), "pink"),
    ]
    for mask, name in hue_names:
        out[coloured & mask] = COLOURS.index(name)
    # Dark orange and dark yellow are what brown is.
    out[warm_dark & (h >= 12) & (h < 70)] = COLOURS.index("brown")
    # Pale red is pink.
    out[coloured & ((h < 12) | (h >= 340)) & (s < 120) & (v >= 170)] = COLOURS.index(
        "pink"
    )
    return out


def band(crop: np.ndarray, rows: tuple[float, float]) -> np.ndarray:
    """The middle part of a horizontal band of a crop (see the module's doc)."""
    height, width = crop.shape[:2]
    top, bottom = round(rows[0] * height), round(rows[1] * height)
    margin = round(width * (1 - KEEP_WIDTH) / 2)
    return crop[top:bottom, margin : width - margin]


def band_histogram(part: np.ndarray) -> np.ndarray:
    """The normalised hue-saturation and grey histogram of a BGR band."""
    counts = np.zeros(_BAND_BINS, dtype=np.float64)
    if part.size == 0:
        return counts
    hsv = cv2.cvtColor(part, cv2.COLOR_BGR2HSV).reshape(-1, 3).astype(np.int32)
    h, s, v = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    coloured = (s >= _MIN_SATURATION) & (v >= _MIN_VALUE)
    hue_bin = np.minimum(h[coloured] * _HUE_BINS // 180, _HUE_BINS - 1)
    sat_bin = np.minimum(
        (s[coloured] - _MIN_SATURATION) * _SAT_BINS // (256 - _MIN_SATURATION),
        _SAT_BINS - 1,
    )
    np.add.at(counts, hue_bin * _SAT_BINS + sat_bin, 1.0)
    grey_bin = np.minimum(v[~coloured] * _GREY_BINS // 256, _GREY_BINS - 1)
    np.add.at(counts, _HUE_BINS * _SAT_BINS + grey_bin, 1.0)
    total = counts.sum()
    return counts / total if total > 0 else counts


def dominant_colour(parts: Sequence[np.ndarray]) -> str | None:
    """The most common colour name over the pixels of several BGR images."""
    totals = np.zeros(len(COLOURS), dtype=np.int64)
    for part in parts:
        if part.size == 0:
            continue
        hsv = cv2.cvtColor(part, cv2.COLOR_BGR2HSV)
        totals += np.bincount(colour_indices(hsv).ravel(), minlength=len(COLOURS))
    if totals.sum() == 0:
        return None
    return COLOURS[int(np.argmax(totals))]


@dataclass(frozen=True)
class Appearance:
    """A track's descriptor and colour attributes.

    Attributes:
        descriptor: :data:`DESCRIPTOR_SIZE` float32 values: the upper band's
            histogram, then the lower band's.
        colour: Dominant colour of the whole body.
        upper_colour: Of the upper band (a person's top).
        lower_colour: Of the lower band (a person's trousers or skirt).
        crops: How many crops it was made from.
    """

    descriptor: np.ndarray
    colour: str | None
    upper_colour: str | None
    lower_colour: str | None
    crops: int

    def to_bytes(self) -> bytes:
        return self.descriptor.astype(np.float32).tobytes()


def descriptor_from_bytes(data: bytes) -> np.ndarray:
    """A descriptor stored with :meth:`Appearance.to_bytes`."""
    values = np.frombuffer(data, dtype=np.float32)
    if values.size != DESCRIPTOR_SIZE:
        raise ValueError(
            f"appearance descriptor has {values.size} values; expected "
            f"{DESCRIPTOR_SIZE}"
        )
    return values


def describe(crops: Sequence[np.ndarray]) -> Appearance | None:
    """The appearance of an object from its BGR crops; ``None`` without crops.

    Example:
        >>> red = np.zeros((80, 30, 3), np.uint8); red[:] = (0, 0, 200)
        >>> describe([red]).upper_colour
        'red'
    """
    usable = [c for c in crops if c.size > 0]
    if not usable:
        return None
    looks = [look for c in usable if (look := descriptor_of(c)) is not None]
    return Appearance(
        descriptor=np.mean(looks, axis=0).astype(np.float32),
        colour=dominant_colour([band(c, WHOLE_BAND) for c in usable]),
        upper_colour=dominant_colour([band(c, UPPER_BAND) for c in usable]),
        lower_colour=dominant_colour([band(c, LOWER_BAND) for c in usable]),
        crops=len(usable),
    )


def appearance_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Hellinger distance between two descriptors, averaged over their bands.

    0 means the same colours in the same shares, 1 no colour in common; a band
    empty in either (no pixels) is left out, and with none left it is 1.
    """
    return float(appearance_distances(a, b)[0, 0])


def appearance_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`appearance_distance` of every row of ``a`` to every row of ``b``.

    Args:
        a: ``(N, DESCRIPTOR_SIZE)`` descriptors, or one descriptor.
        b: ``(M, DESCRIPTOR_SIZE)`` descriptors, or one descriptor.

    Returns:
        ``(N, M)`` distances.
    """
    return hellinger_distances(a, b, parts=2)


def hellinger_distances(a: np.ndarray, b: np.ndarray, parts: int) -> np.ndarray:
    """Hellinger distances of every row of ``a`` to every row of ``b``, each
    row being ``parts`` normalised histograms of equal length, averaged over
    the parts; a part empty in either row is left out, with none left it is 1.
    """
    p = np.asarray(a, dtype=np.float64)
    q = np.asarray(b, dtype=np.float64)
    p = p.reshape(-1, parts, p.shape[-1] // parts)
    q = q.reshape(-1, parts, q.shape[-1] // parts)
    overlap = np.einsum("nbk,mbk->nmb", np.sqrt(p), np.sqrt(q))
    per_part = np.sqrt(np.clip(1.0 - overlap, 0.0, None))
    valid = (p.sum(axis=2) > 0)[:, None, :] & (q.sum(axis=2) > 0)[None, :, :]
    counted = valid.sum(axis=2)
    total = np.where(valid, per_part, 0.0).sum(axis=2)
    out: np.ndarray = np.where(counted > 0, total / np.maximum(counted, 1), 1.0)
    return out


def descriptor_of(crop: np.ndarray) -> np.ndarray | None:
    """The descriptor of one BGR crop alone, without its colour names (the
    tracker's per-frame use); ``None`` for an empty crop."""
    if crop.size == 0:
        return None
    upper = band_histogram(band(crop, UPPER_BAND))
    lower = band_histogram(band(crop, LOWER_BAND))
    return np.concatenate([upper, lower]).astype(np.float32)


def _overlap_share(box: Box, other: Box) -> float:
    """The share of ``box``'s area that ``other`` covers."""
    w = max(0.0, min(box[2], other[2]) - max(box[0], other[0]))
    h = max(0.0, min(box[3], other[3]) - max(box[1], other[1]))
    area = (box[2] - box[0]) * (box[3] - box[1])
    return w * h / area if area > 0 else 1.0


@dataclass
class CropSampler:
    """Keeps a track's best crops for its appearance (see the module's doc)."""

    crops: list[tuple[float, float, np.ndarray]] = field(default_factory=list)
    """(score, time in seconds, crop) of the kept crops."""
    last_sample_s: float | None = None

    def offer(
        self,
        time_s: float,
        box: Box,
        score: float,
        image: np.ndarray,
        others: Sequence[Box] = (),
    ) -> bool:
        """Consider the track's box on one frame; whether a crop was kept."""
        if self.last_sample_s is not None and time_s - self.last_sample_s < (
            SAMPLE_EVERY_S
        ):
            return False
        height, width = image.shape[:2]
        x1, y1, x2, y2 = box
        if (
            cut_by_border(box, width, height)
            or y2 - y1 < MIN_CROP_HEIGHT
            or x2 - x1 < 4
        ):
            return False
        if any(_overlap_share(box, other) > 0.1 for other in others):
            return False
        if len(self.crops) >= MAX_CROPS and score <= min(c[0] for c in self.crops):
            return False

        crop = image[round(y1) : round(y2), round(x1) : round(x2)]
        if crop.shape[0] > STORED_CROP_HEIGHT:
            scale = STORED_CROP_HEIGHT / crop.shape[0]
            size = (max(1, round(crop.shape[1] * scale)), STORED_CROP_HEIGHT)
            crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        else:
            crop = crop.copy()
        self.crops.append((score, time_s, crop))
        if len(self.crops) > MAX_CROPS:
            self.crops.remove(min(self.crops, key=lambda c: (c[0], c[1])))
        self.last_sample_s = time_s
        return True

    def describe(self) -> Appearance | None:
        return describe([crop for _, _, crop in self.crops])


@dataclass
class TrackMotion:
    """Where a track's feet went and how tall it was, for its attributes.

    Positions and heights are shares of the picture's width and height. The
    feet are a :class:`~watchfloor.tracking.paths.FootPath` (thinned, capped,
    with POSIX times), enough to map them onto another camera's floor; a
    height is kept with each kept point.
    """

    feet: FootPath = field(default_factory=FootPath)
    heights: list[float] = field(default_factory=list)

    def add(self, box: Box, width: int, height: int, time_s: float) -> None:
        if self.feet.add_box(time_s, box, (width, height)):
            self.heights.append((box[3] - box[1]) / height)

    @property
    def path(self) -> list[PathPoint]:
        """The feet's kept points, ``(POSIX seconds, x, y)``, in time order."""
        return self.feet.points()

    @property
    def first(self) -> tuple[float, float] | None:
        path = self.path
        return (path[0][1], path[0][2]) if path else None

    @property
    def last(self) -> tuple[float, float] | None:
        path = self.path
        return (path[-1][1], path[-1][2]) if path else None

    def direction(self, min_travel: float = 0.05) -> str | None:
        """The main direction of travel (:data:`DIRECTIONS`); ``None`` if unseen."""
        if self.first is None or self.last is None:
            return None
        dx = self.last[0] - self.first[0]
        dy = self.last[1] - self.first[1]
        if np.hypot(dx, dy) < min_travel:
            return "stationary"
        if abs(dx) >= abs(dy):
            return "right" if dx > 0 else "left"
        return "towards" if dy > 0 else "away"

    def size_class(self) -> str | None:
        """:data:`SIZE_CLASSES` by median height; ``None`` if unseen."""
        if not self.heights:
            return None
        median = float(np.median(self.heights))
        if median < 0.15:
            return "small"
        return "medium" if median < 0.4 else "large"
