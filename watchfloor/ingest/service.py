"""Ingest for a whole site: a worker and recorder per camera, and the segment index."""

from __future__ import annotations

import logging
from collections.abc import Callable

from watchfloor.config import SiteConfig
from watchfloor.ingest.recorder import ClosedSegment, SegmentRecorder
from watchfloor.ingest.status import CameraStatus
from watchfloor.ingest.worker import CameraWorker
from watchfloor.models import Segment
from watchfloor.models.database import Database

log = logging.getLogger(__name__)


class SegmentIndex:
    """Writes each closed segment into the database."""

    def __init__(
        self,
        db: Database,
        site: SiteConfig,
        then: Callable[[ClosedSegment], None] | None = None,
    ) -> None:
        self.db = db
        self.media = site.media_dir
        self.then = then

    def __call__(self, closed: ClosedSegment) -> None:
        try:
            path = str(closed.path.relative_to(self.media))
        except ValueError:
            path = str(closed.path)
        with self.db.session() as session:
            session.add(
                Segment(
                    camera=closed.camera,
                    start=closed.start,
                    end=closed.end,
                    path=path,
                    bytes=closed.bytes,
                    sha256=closed.sha256,
                    codec=closed.codec,
                    frames=closed.frames,
                )
            )
        if self.then is not None:
            self.then(closed)


class IngestService:
    """Starts and stops the workers of every camera of a site.

    Args:
        site: The site configuration.
        db: The database, where closed segments are indexed.
        on_status: Called with a camera's status whenever it changes.
        on_segment: Called with each segment once it is closed and indexed.
    """

    def __init__(
        self,
        site: SiteConfig,
        db: Database,
        on_status: Callable[[CameraStatus], None] | None = None,
        on_segment: Callable[[ClosedSegment], None] | None = None,
    ) -> None:
        self.site = site
        index = SegmentIndex(db, site, on_segment)
        self.workers: dict[str, CameraWorker] = {}
        for camera in site.cameras:
            recorder = None
            if camera.record:
                recorder = SegmentRecorder(
                    camera.name,
                    site.media_dir / "recordings" / camera.name,
                    segment_s=site.recording.segment_s,
                    on_segment=index,
                    min_free_bytes=int(site.recording.min_free_gb * 1e9),
                )
            self.workers[camera.name] = CameraWorker(
                camera, site.ingest, recorder, on_status
            )

    def start(self) -> None:
        for name, worker in self.workers.items():
            log.info("camera %s: starting (%s)", name, worker.camera.safe_url)
            worker.start()

    def stop(self) -> None:
        for worker in self.workers.values():
            worker.stop()

    def statuses(self) -> list[CameraStatus]:
        return [worker.status() for worker in self.workers.values()]
