"""The engine: ingest, recording, analysis and retention of a whole site, together."""

from __future__ import annotations

import logging
from collections.abc import Callable

from watchfloor.config import SiteConfig
from watchfloor.ingest.recorder import ClosedSegment
from watchfloor.ingest.service import IngestService
from watchfloor.ingest.status import CameraStatus
from watchfloor.media.retention import RetentionKeeper
from watchfloor.models import Event
from watchfloor.models.database import Database
from watchfloor.pipeline import AnalysisService, FrameResult, TrackEventRecorder

log = logging.getLogger(__name__)


class Engine:
    """Every camera's worker and recorder, its analysis, and retention.

    Args:
        site: The site.
        db: Its database.
        on_status: Called with a camera's status whenever it changes.
        on_segment: Called with each closed, indexed segment.
        on_event: Called with each track event once it is stored.
    """

    def __init__(
        self,
        site: SiteConfig,
        db: Database,
        on_status: Callable[[CameraStatus], None] | None = None,
        on_segment: Callable[[ClosedSegment], None] | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.site = site
        self.ingest = IngestService(site, db, on_status, on_segment)
        analysed = [camera.name for camera in site.cameras if camera.analyse]
        queues = {name: self.ingest.workers[name].subscribe() for name in analysed}
        sinks: dict[str, list[Callable[[FrameResult], None]]] = {
            name: [TrackEventRecorder(db, site.media_dir, name, on_event)]
            for name in analysed
        }
        self.analysis = AnalysisService(site, queues, sinks)
        self.retention = RetentionKeeper(db, site)

    def start(self) -> None:
        self.analysis.start()
        self.ingest.start()
        self.retention.start()

    def stop(self) -> None:
        """Stop cameras first (closing segments), then analysis, then retention."""
        self.ingest.stop()
        self.analysis.stop()
        self.retention.stop()

    def statuses(self) -> list[CameraStatus]:
        return self.ingest.statuses()
