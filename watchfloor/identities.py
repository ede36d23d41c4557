"""Live identities: finished tracks of all cameras joined into identities, stored.

Each camera's :class:`~watchfloor.pipeline.TrackEventRecorder` hands every
finished track here (with its stored row id); the :class:`IdentityService`
writes the track's appearance and attributes, copies them onto the track's
events, and every ``identities.resolve_every_s`` seconds resolves the tracks
that finished since into identities (one resolver for the whole site, as
:mod:`watchfloor.tracking.identities` describes), storing each identity and
naming it on its tracks and their events.

Limitations:
    The resolver's memory of recent identities is the process's: after a
    restart, tracks that finish join only identities made since.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import update
from sqlalchemy.orm import Session

from watchfloor.config import SiteConfig
from watchfloor.models import Event, Identity, Track
from watchfloor.models.database import Database
from watchfloor.pipeline import FinishedTrack
from watchfloor.tracking.identities import Assignment, IdentityResolver, TrackSummary

log = logging.getLogger(__name__)


class IdentityService:
    """Stores finished tracks' appearance and resolves them into identities.

    Args:
        site: The site: its topology and identity settings.
        db: Where tracks, events and identities are.
        on_identity: Called with each identity's id after a track joined or
            started it.
    """

    def __init__(
        self,
        site: SiteConfig,
        db: Database,
        on_identity: Callable[[int], None] | None = None,
    ) -> None:
        self.settings = site.identities
        self.db = db
        self.on_identity = on_identity
        self.resolver = IdentityResolver(site.topology, site.identities, self._new)
        self._pending: list[TrackSummary] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._session: Session | None = None

    def track_finished(self, row_id: int, track: FinishedTrack) -> None:
        """Store a finished track's attributes; queue it for the next batch."""
        appearance = track.appearance
        attributes = {
            "colour": appearance.colour if appearance else None,
            "upper_colour": appearance.upper_colour if appearance else None,
            "lower_colour": appearance.lower_colour if appearance else None,
            "direction": track.direction,
        }
        with self.db.session() as session:
            session.execute(
                update(Track)
                .where(Track.id == row_id)
                .values(
                    appearance=appearance.to_bytes() if appearance else None,
                    size_class=track.size_class,
                    **attributes,
                )
            )
            session.execute(
                update(Event).where(Event.track_id == row_id).values(**attributes)
            )
        if not self.settings.enabled:
            return
        with self._lock:
            self._pending.append(track.summary(row_id))

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="identities", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the batches, after resolving what is still pending."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.flush()

    def flush(self) -> list[Assignment]:
        """Resolve the pending tracks now and store their identities."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return []
        with self.db.session() as session:
            self._session = session
            try:
                assignments = self.resolver.resolve(batch)
                for assignment in assignments:
                    self._store(session, assignment)
            finally:
                self._session = None
        for assignment in assignments:
            if assignment.joined:
                log.info(
                    "track %d (%s) joined identity %d (appearance distance %.2f)",
                    assignment.summary.key,
                    assignment.summary.camera,
                    assignment.identity,
                    assignment.distance or 0.0,
                )
            if self.on_identity is not None:
                self.on_identity(assignment.identity)
        return assignments

    def _run(self) -> None:
        while not self._stop.wait(self.settings.resolve_every_s):
            try:
                self.flush()
            except Exception:
                log.exception("resolving identities failed; the batch is lost")

    def _new(self, summary: TrackSummary) -> int:
        """A stored identity for a summary that starts one."""
        if self._session is None:
            raise RuntimeError("identities are allocated only while resolving")
        identity = Identity(
            label=summary.label,
            first_seen=summary.start,
            last_seen=summary.end,
            tracks=0,
            cameras="",
            best_track_id=summary.key,
        )
        self._session.add(identity)
        self._session.flush()
        return identity.id

    def _store(self, session: Session, assignment: Assignment) -> None:
        summary = assignment.summary
        identity = session.get(Identity, assignment.identity)
        if identity is None:
            return
        identity.first_seen = min(identity.first_seen, summary.start)
        identity.last_seen = max(identity.last_seen, summary.end)
        identity.tracks += 1
        cameras = [c for c in identity.cameras.split(",") if c]
        if summary.camera not in cameras:
            cameras.append(summary.camera)
            identity.cameras = ",".join(cameras)
        track = session.get(Track, summary.key)
        best = session.get(Track, identity.best_track_id or -1)
        if track is not None and (best is None or track.best_score > best.best_score):
            identity.best_track_id = track.id
        session.execute(
            update(Track)
            .where(Track.id == summary.key)
            .values(identity_id=assignment.identity)
        )
        session.execute(
            update(Event)
            .where(Event.track_id == summary.key)
            .values(identity_id=assignment.identity)
        )
