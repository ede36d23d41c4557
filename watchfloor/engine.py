"""The engine: ingest, recording, analysis, rules, alerts and retention of a site."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from watchfloor.bus import Bus
from watchfloor.config import SiteConfig
from watchfloor.identities import IdentityService
from watchfloor.ingest.recorder import ClosedSegment
from watchfloor.ingest.service import IngestService
from watchfloor.ingest.status import CameraStatus
from watchfloor.live_view import LiveViewKeeper
from watchfloor.media.retention import RetentionKeeper
from watchfloor.models import Event
from watchfloor.models.database import Database
from watchfloor.notify import Notifiers, start_notifiers
from watchfloor.pipeline import AnalysisService, FrameResult, TrackEventRecorder
from watchfloor.rules.alerts import AlertRecorder, ClipCutter
from watchfloor.rules.evaluator import RuleSet

log = logging.getLogger(__name__)


class Engine:
    """Every camera's worker and recorder, its analysis and rules, and retention.

    Camera status and alerts are published on ``bus`` (the API's WebSocket,
    webhooks and MQTT read them there).

    Args:
        site: The site.
        db: Its database.
        bus: The message bus; a new in-process one by default.
        rule_source: Gives the zones, lines and rules in force; called at start
            and by :meth:`reload_rules`. Default: the site file's.
        on_status: Called with a camera's status whenever it changes.
        on_segment: Called with each closed, indexed segment.
        on_event: Called with each track event once it is stored.
    """

    def __init__(
        self,
        site: SiteConfig,
        db: Database,
        bus: Bus | None = None,
        rule_source: Callable[[], RuleSet] | None = None,
        on_status: Callable[[CameraStatus], None] | None = None,
        on_segment: Callable[[ClosedSegment], None] | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.site = site
        self.db = db
        self.bus = bus or Bus()
        self._rule_source = rule_source or (lambda: RuleSet.from_site(site))
        self._on_status = on_status
        self.ingest = IngestService(site, db, self._status_changed, on_segment)
        self.clips = ClipCutter(db, site.media_dir, self.bus)

        rules = self._rule_source()
        analysed = [camera.name for camera in site.cameras if camera.analyse]
        queues = {name: self.ingest.workers[name].subscribe() for name in analysed}
        self.alerts: dict[str, AlertRecorder] = {}
        sinks: dict[str, list[Callable[[FrameResult], None]]] = {}
        self.identities = IdentityService(site, db)
        # Each camera's latest analysed frame, for the API's live view.
        self.live_view = LiveViewKeeper(rules)
        for name in analysed:
            events = TrackEventRecorder(
                db, site.media_dir, name, on_event, self.identities.track_finished
            )
            alerts = AlertRecorder(
                site, db, name, rules, self.clips, self.bus, events.row_id
            )
            self.alerts[name] = alerts
            sinks[name] = [events, alerts, self.live_view]
        self.analysis = AnalysisService(site, queues, sinks)
        self.retention = RetentionKeeper(db, site)
        self.notifiers: Notifiers | None = None

    def start(self) -> None:
        self.notifiers = start_notifiers(self.site.notifications, self.bus)
        self.clips.start()
        self.identities.start()
        self.analysis.start()
        self.ingest.start()
        self.retention.start()

    def stop(self) -> None:
        """Stop cameras (closing segments), then analysis, alerts and pushes."""
        self.ingest.stop()
        self.analysis.stop()
        self.identities.stop()
        now = datetime.now(UTC)
        for recorder in self.alerts.values():
            recorder.close(now)
        self.clips.stop()
        self.retention.stop()
        if self.notifiers is not None:
            self.notifiers.stop()

    def reload_rules(self) -> None:
        """Apply changed zones, lines and rules from each camera's next frame."""
        rules = self._rule_source()
        for recorder in self.alerts.values():
            recorder.set_rules(rules)
        self.live_view.set_rules(rules)
        log.info("rules reloaded: %s", rules)

    def statuses(self) -> list[CameraStatus]:
        return self.ingest.statuses()

    def _status_changed(self, status: CameraStatus) -> None:
        self.bus.publish("camera", status.to_dict())
        if self._on_status is not None:
            self._on_status(status)
