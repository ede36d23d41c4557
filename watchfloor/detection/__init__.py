"""The detector interface and backends, the motion gate and the weights catalogue."""

from watchfloor.detection.base import Detection, Detector
from watchfloor.detection.catalogue import WeightsError, pull
from watchfloor.detection.factory import DetectorSpec, forget_detectors, load_detector
from watchfloor.detection.filters import DetectionFilter, filter_detections
from watchfloor.detection.motion import MotionGate, MotionSettings

__all__ = [
    "Detection",
    "DetectionFilter",
    "Detector",
    "DetectorSpec",
    "MotionGate",
    "MotionSettings",
    "WeightsError",
    "filter_detections",
    "forget_detectors",
    "load_detector",
    "pull",
]
