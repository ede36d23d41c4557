"""``/api/cameras``: each camera's configuration and live status."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from watchfloor.api.deps import Context, status_dict
from watchfloor.api.errors import responses
from watchfloor.api.schemas import CameraOut, CameraStatusOut
from watchfloor.config import CameraConfig, redact
from watchfloor.ingest.status import CameraStatus

router = APIRouter(tags=["cameras"], responses=responses(422))


@router.get("/api/cameras", response_model=list[CameraOut])
def list_cameras(context: Context) -> list[CameraOut]:
    """Every camera of the site, in site-file order."""
    statuses = context.camera_statuses()
    return [_camera_out(camera, statuses) for camera in context.site.cameras]


@router.get("/api/cameras/{name}", response_model=CameraOut, responses=responses(404))
def get_camera(context: Context, name: str) -> CameraOut:
    """One camera by name."""
    for camera in context.site.cameras:
        if camera.name == name:
            return _camera_out(camera, context.camera_statuses())
    known = ", ".join(c.name for c in context.site.cameras) or "none"
    raise HTTPException(404, f"no camera named {name!r}; the site has: {known}")


def _camera_out(camera: CameraConfig, statuses: dict[str, CameraStatus]) -> CameraOut:
    status = statuses.get(camera.name)
    classes = camera.detect.classes
    return CameraOut(
        name=camera.name,
        url=redact(camera.url),
        record_url=redact(camera.record_url) if camera.record_url else None,
        fps=camera.fps,
        record=camera.record,
        analyse=camera.analyse,
        motion_gate=camera.motion_gate,
        detect_size=camera.detect_size,
        classes=sorted(classes) if classes is not None else None,
        min_score=camera.detect.min_score,
        retention_days=camera.retention_days,
        status=(
            CameraStatusOut.model_validate(status_dict(status)) if status else None
        ),
    )
