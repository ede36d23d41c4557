"""The FastAPI application: routes, error answers and what they work on."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from watchfloor import __version__
from watchfloor.api.deps import ApiContext
from watchfloor.api.errors import install_error_handlers
from watchfloor.api.routers import (
    alerts,
    cameras,
    console,
    definitions,
    events,
    evidence,
    health,
    identities,
    incidents,
    live,
)
from watchfloor.bus import Bus
from watchfloor.config import SiteConfig
from watchfloor.ingest.status import CameraStatus
from watchfloor.live_view import LiveFrame
from watchfloor.models.database import Database

DESCRIPTION = """\
Watchfloor's HTTP API: cameras and their live status; zones, lines and rules
(the site file's, read-only, and those made here); alerts with their snapshot
and clip, and their handling; incidents with their lifecycle, people, linked
alerts, clips and events, timeline and metrics. `WebSocket /api/live` pushes
camera status and alert changes as they happen. Every change is written to an
audit log as done by the body's `by`, else the `X-Watchfloor-Actor` header,
else `local`.

Every error answers `{"detail": "..."}` saying what was wrong and what would be
right. Times are ISO 8601 with a UTC offset; times without one are refused.
"""


def create_app(
    site: SiteConfig,
    db: Database,
    bus: Bus,
    statuses: Callable[[], list[CameraStatus]] | None = None,
    rules_changed: Callable[[], None] | None = None,
    live_frames: Callable[[str], LiveFrame | None] | None = None,
) -> FastAPI:
    """The API of one site.

    Args:
        site: The site; its cameras, zones, lines and rules.
        db: Its database (alerts, clips, and zones, lines and rules made here).
        bus: Where alert changes are published and live messages come from.
        statuses: Gives every camera's current status (the engine's
            ``statuses``); without it cameras show no status.
        rules_changed: Called after any change to zones, lines or rules, so
            running cameras can reload them with
            :func:`watchfloor.rules.store.current_rule_set`.
        live_frames: Gives a camera's latest analysed picture (the engine's
            ``live_view.latest``), for the console's live view; without it
            cameras have none.

    Example:
        >>> app = create_app(site, db, Bus(), engine.statuses)  # doctest: +SKIP
        >>> uvicorn.run(app, host="127.0.0.1", port=8080)  # doctest: +SKIP
    """
    app = FastAPI(
        title="Watchfloor",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
    )
    app.state.context = ApiContext(
        site=site,
        db=db,
        bus=bus,
        statuses=statuses or list,
        rules_changed=rules_changed or _nothing,
    )
    app.state.live_frames = live_frames
    install_error_handlers(app)
    for module in (
        health,
        cameras,
        definitions,
        alerts,
        incidents,
        live,
        evidence,
        identities,
        events,
        console,
    ):
        app.include_router(module.router)
    app.mount("/console", StaticFiles(directory=console.CONSOLE_DIR), name="console")
    return app


def _nothing() -> None:
    """Nobody asked to hear of rule changes."""
