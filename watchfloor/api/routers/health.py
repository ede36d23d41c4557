"""``/api/health``: whether the service, its database and its cameras are up."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from watchfloor import __version__
from watchfloor.api.deps import Context
from watchfloor.api.schemas import CameraCounts, DatabaseHealth, HealthOut
from watchfloor.config import redact
from watchfloor.ingest.status import CameraState

router = APIRouter(tags=["health"])


@router.get(
    "/api/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "The database is down"}},
)
def health(context: Context, response: Response) -> HealthOut:
    """Whether the database answers, and how many cameras are online.

    Answers 503, with the same body, while the database cannot be reached.
    """
    database = DatabaseHealth(reachable=True, error=None)
    try:
        with context.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        database = DatabaseHealth(
            reachable=False, error=redact(reason[0] if reason else repr(exc))
        )
        response.status_code = 503

    statuses = context.camera_statuses()
    online = sum(
        1
        for camera in context.site.cameras
        if camera.name in statuses and statuses[camera.name].state == CameraState.ONLINE
    )
    return HealthOut(
        ok=database.reachable,
        version=__version__,
        timezone=context.site.timezone,
        database=database,
        cameras=CameraCounts(total=len(context.site.cameras), online=online),
    )
