"""The operator console's page and each camera's live view (MJPEG and JPEG).

The console itself is static files (``watchfloor/api/console/``) that use the
public API only; ``GET /`` serves its page and ``/console/`` the rest.

The live view shows the detect stream as analysis saw it, with tracked boxes,
zones and lines drawn, at a few pictures a second: ``GET
/api/cameras/{name}/live.mjpeg`` is a ``multipart/x-mixed-replace`` stream that
an ``<img>`` plays without plugins, and ``GET /api/cameras/{name}/frame.jpg``
is the latest picture alone.

Limitations:
    Only analysed cameras have a live view, and it runs at the analysis rate
    (the camera's ``fps``) at most; the view of a camera that stops sending
    holds its last picture.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from watchfloor.api.deps import Context
from watchfloor.api.errors import responses
from watchfloor.live_view import LiveFrame

CONSOLE_DIR = Path(__file__).resolve().parent.parent / "console"
BOUNDARY = "watchfloor-live-frame"
# How often a stream looks for a newer picture; the keeper limits the rate.
POLL_S = 0.1

LiveFrames = Callable[[str], LiveFrame | None]

router = APIRouter(responses=responses(422))


@router.get("/", include_in_schema=False)
def console_page() -> FileResponse:
    """The operator console."""
    return FileResponse(CONSOLE_DIR / "index.html", media_type="text/html")


@router.get(
    "/api/cameras/{name}/live.mjpeg",
    tags=["cameras"],
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {f"multipart/x-mixed-replace; boundary={BOUNDARY}": {}},
            "description": "Each new picture as a JPEG part, until disconnected.",
        },
        **responses(404),
    },
)
async def live_stream(context: Context, request: Request, name: str) -> Response:
    """The camera's live view: analysed pictures with boxes and zones, as MJPEG."""
    frames = _live_frames(context, request, name)

    async def parts() -> AsyncIterator[bytes]:
        shown = 0
        while not await request.is_disconnected():
            frame = await asyncio.to_thread(frames, name)
            if frame is not None and frame.sequence != shown:
                shown = frame.sequence
                yield (
                    (
                        f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                        f"Content-Length: {len(frame.jpeg)}\r\n"
                        f"X-Frame-Time: {frame.time.isoformat()}\r\n\r\n"
                    ).encode()
                    + frame.jpeg
                    + b"\r\n"
                )
            await asyncio.sleep(POLL_S)

    return StreamingResponse(
        parts(),
        media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/api/cameras/{name}/frame.jpg",
    tags=["cameras"],
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "The latest picture."},
        **responses(404, 503),
    },
)
def live_frame(context: Context, request: Request, name: str) -> Response:
    """The camera's latest analysed picture, with boxes and zones drawn (JPEG)."""
    frame = _live_frames(context, request, name)(name)
    if frame is None:
        raise HTTPException(
            503, f"camera {name!r} has no analysed frame yet; try again shortly"
        )
    return Response(
        frame.jpeg,
        media_type="image/jpeg",
        headers={"Cache-Control": "no-store", "X-Frame-Time": frame.time.isoformat()},
    )


def _live_frames(context: Context, request: Request, name: str) -> LiveFrames:
    """The live view's source for an analysed camera, or a 404 saying why not."""
    camera = next((c for c in context.site.cameras if c.name == name), None)
    if camera is None:
        known = ", ".join(c.name for c in context.site.cameras) or "none"
        raise HTTPException(404, f"no camera named {name!r}; the site has: {known}")
    frames: LiveFrames | None = getattr(request.app.state, "live_frames", None)
    if frames is None:
        raise HTTPException(
            404, "this server has no live view; 'watchfloor run' serves one"
        )
    if not camera.analyse:
        raise HTTPException(
            404, f"camera {name!r} is not analysed (analyse: false): no live view"
        )
    return frames
