"""What every route needs: the site, the database, the bus and the live status."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import HTTPConnection

from watchfloor.bus import Bus
from watchfloor.config import SiteConfig, redact
from watchfloor.ingest.status import CameraStatus
from watchfloor.models.database import Database
from watchfloor.rules.store import DefinitionStore

log = logging.getLogger(__name__)


@dataclass
class ApiContext:
    """The application's collaborators, kept on ``app.state.context``.

    Attributes:
        site: The site.
        db: Its database.
        bus: Where alert changes are published and live messages come from.
        statuses: Gives every camera's current status.
        rules_changed: Told after any change to zones, lines or rules.
        media_dir: The media directory, absolute.
        definitions: The site's zones, lines and rules.
    """

    site: SiteConfig
    db: Database
    bus: Bus
    statuses: Callable[[], list[CameraStatus]]
    rules_changed: Callable[[], None]
    media_dir: Path = field(init=False)
    definitions: DefinitionStore = field(init=False)

    def __post_init__(self) -> None:
        self.media_dir = self.site.media_dir.resolve()
        self.definitions = DefinitionStore(self.site, self.db)

    def camera_statuses(self) -> dict[str, CameraStatus]:
        """Each camera's status by name; empty when the statuses cannot be read."""
        try:
            return {status.camera: status for status in self.statuses()}
        except Exception:
            log.exception("cannot read the cameras' statuses")
            return {}

    def notify_rules_changed(self) -> None:
        """Tell the engine; a failure there is logged, the change stays made."""
        try:
            self.rules_changed()
        except Exception:
            log.exception("the rules-changed callback failed")


def status_dict(status: CameraStatus) -> dict[str, Any]:
    """A camera status as JSON-ready data, with any password in errors hidden."""
    data = status.to_dict()
    for key in ("last_error", "recording_error"):
        if isinstance(data.get(key), str):
            data[key] = redact(data[key])
    return data


def get_context(connection: HTTPConnection) -> ApiContext:
    """The application's :class:`ApiContext`."""
    context: ApiContext = connection.app.state.context
    return context


Context = Annotated[ApiContext, Depends(get_context)]
