"""An incident with real clips and snapshots, for evidence and report tests.

Rows are inserted directly with SQLAlchemy; clips are real H.264 MP4s made with
PyAV and snapshots real JPEGs made with OpenCV.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from tests.databases import database_url
from watchfloor.incidents import audit
from watchfloor.media.hashing import sha256_file
from watchfloor.models import (
    Alert,
    Clip,
    Event,
    ExternalReference,
    Incident,
    IncidentLink,
    IncidentNote,
    IncidentRole,
    TimelineEntry,
    Track,
)
from watchfloor.models.database import Database

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
SCRIPT = '<script>alert("x")</script>'
NOTE = f"Guard sent to the dock.\nGate locked behind him.\n\n{SCRIPT} **confirmed**"


def at(seconds: float) -> datetime:
    """``T0`` plus some seconds."""
    return T0 + timedelta(seconds=seconds)


def make_mp4(path: Path, frames: int = 10, fps: int = 10, shade: int = 0) -> Path:
    """A small real H.264 MP4 (160x120), made with PyAV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = 160, 120
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        for i in range(frames):
            picture = np.full((120, 160, 3), (shade + i * 20) % 256, dtype=np.uint8)
            picture[:, (i * 13) % 160] = 255
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def make_jpeg(path: Path, seed: int) -> Path:
    """A real JPEG (96x64) drawn with OpenCV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.random.default_rng(seed).integers(0, 255, (64, 96, 3), dtype=np.uint8)
    cv2.rectangle(image, (10, 10), (50, 50), (0, 0, 255), 2)
    ok, encoded = cv2.imencode(".jpg", image)
    assert ok
    path.write_bytes(encoded.tobytes())
    return path


@dataclass
class Scene:
    """One closed incident and everything it refers to."""

    db: Database
    media: Path
    incident_id: int
    alert_ids: list[int]
    clip_ids: list[int]
    event_id: int
    clip_files: dict[int, Path] = field(default_factory=dict)
    snapshot_files: dict[str, Path] = field(default_factory=dict)

    @property
    def snapshot_names(self) -> set[str]:
        return set(self.snapshot_files)

    def clip_name(self, clip_id: int) -> str:
        return f"clips/clip-{clip_id}.mp4"


def build_scene(db: Database, root: Path) -> Scene:
    """An incident on two alerts (with snapshots; one with a clip), a clip of its
    own stored by absolute path outside the media folder, and an event.

    Timeline: alert 1 starts at T0 and is acknowledged at +30 s; the incident is
    opened at +2 min, contained at +10 min, recovered at +40 min and closed at
    +60 min. Its title, notes and review hold HTML that must never run.
    """
    media = root / "media"
    outside = root / "elsewhere"
    media.mkdir(parents=True, exist_ok=True)
    clip_a = make_mp4(media / "clips" / "gate" / "20240501T120000Z.mp4", shade=10)
    clip_b = make_mp4(outside / "handed-over.mp4", frames=8, shade=90)
    snaps = {
        "a": make_jpeg(media / "snapshots" / "gate" / "a.jpg", 1),
        "a-crop": make_jpeg(media / "snapshots" / "gate" / "a-crop.jpg", 2),
        "b": make_jpeg(media / "snapshots" / "yard" / "b.jpg", 3),
        "event": make_jpeg(media / "snapshots" / "yard" / "track-1.jpg", 4),
    }

    with db.session() as session:
        clips = [
            Clip(
                camera="gate",
                start=at(-5),
                end=at(10),
                path="clips/gate/20240501T120000Z.mp4",
                bytes=clip_a.stat().st_size,
                sha256=sha256_file(clip_a),
                duration_s=1.0,
                created_at=at(25),
            ),
            Clip(
                camera="yard",
                start=at(50),
                end=at(70),
                path=str(clip_b.resolve()),
                bytes=clip_b.stat().st_size,
                sha256=sha256_file(clip_b),
                duration_s=0.8,
                created_at=at(90),
            ),
        ]
        session.add_all(clips)
        session.flush()
        alert_a = Alert(
            camera="gate",
            rule="dock-intrusion",
            kind="restricted_area",
            zone="dock",
            label="person",
            score=0.91,
            start=T0,
            end=at(12),
            status="escalated",
            status_by="ana",
            status_at=at(30),
            snapshot="snapshots/gate/a.jpg",
            snapshot_crop="snapshots/gate/a-crop.jpg",
            clip_state="ready",
            clip_id=clips[0].id,
        )
        alert_b = Alert(
            camera="yard",
            rule="fence-crossing",
            kind="line_crossing",
            line="fence",
            label="person",
            score=0.77,
            start=at(60),
            status="new",
            snapshot="snapshots/yard/b.jpg",
            clip_state="pending",
        )
        track = Track(
            camera="yard",
            tracker_id=4,
            label="person",
            first_seen=at(55),
            last_seen=at(80),
            best_score=0.8,
        )
        session.add_all([alert_a, alert_b, track])
        session.flush()
        event = Event(
            track_id=track.id,
            camera="yard",
            kind="appeared",
            time=at(55),
            label="person",
            score=0.8,
            x1=0.1,
            y1=0.2,
            x2=0.3,
            y2=0.6,
            snapshot="snapshots/yard/track-1.jpg",
        )
        incident = Incident(
            title=f"Intrusion at the dock {SCRIPT}",
            description="Someone climbed the **dock** gate.\nSecond line.",
            severity="high",
            location="Dock <b>north</b>",
            status="closed",
            created_by="ana",
            created_at=at(120),
            closed_at=at(3600),
            root_cause=f"The gate's latch was broken. {SCRIPT}",
            what_worked="- cameras saw it\n- the guard came in 3 minutes",
            what_did_not="<img src=x onerror=alert(1)> nobody watched the yard",
            actions="1. Fix the latch\n2. Add a yard rule",
        )
        session.add_all([event, incident])
        session.flush()

        session.add_all(
            [
                IncidentRole(
                    incident_id=incident.id,
                    role="commander",
                    person="ana",
                    assigned_by="ana",
                    assigned_at=at(125),
                ),
                IncidentRole(
                    incident_id=incident.id,
                    role="responder",
                    person="bo <i>",
                    assigned_by="ana",
                    assigned_at=at(130),
                ),
                IncidentLink(
                    incident_id=incident.id,
                    kind="alert",
                    target_id=alert_a.id,
                    linked_by="ana",
                    linked_at=at(120),
                ),
                IncidentLink(
                    incident_id=incident.id,
                    kind="alert",
                    target_id=alert_b.id,
                    linked_by="ana",
                    linked_at=at(140),
                ),
                IncidentLink(
                    incident_id=incident.id,
                    kind="clip",
                    target_id=clips[1].id,
                    linked_by="bo",
                    linked_at=at(150),
                ),
                IncidentLink(
                    incident_id=incident.id,
                    kind="event",
                    target_id=event.id,
                    linked_by="bo",
                    linked_at=at(160),
                ),
                IncidentNote(
                    incident_id=incident.id,
                    text=NOTE,
                    author="bo",
                    created_at=at(300),
                ),
                ExternalReference(
                    incident_id=incident.id,
                    system="ticketing",
                    key="SEC-1234",
                    url="https://tickets.example/SEC-1234",
                    created_by="ana",
                    created_at=at(200),
                ),
            ]
        )
        for seconds, kind, summary, data in (
            (0, "alert", "alert on camera gate: person in dock", {}),
            (120, "created", "incident opened", {"status": "triage"}),
            (600, "status", "contained", {"from": "triage", "to": "contained"}),
            (2400, "status", "recovered", {"from": "eradicated", "to": "recovered"}),
            (3600, "status", "closed", {"from": "recovered", "to": "closed"}),
        ):
            session.add(
                TimelineEntry(
                    incident_id=incident.id,
                    time=at(seconds),
                    kind=kind,
                    actor=None if kind == "alert" else "ana",
                    summary=summary,
                    data=json.dumps(data),
                )
            )
        session.flush()
        target = f"incident:{incident.id}"
        audit.append(session, "ana", "incident.create", target, None, {"t": 1})
        audit.append(
            session,
            "ana",
            "alert.escalate",
            f"alert:{alert_a.id}",
            {"status": "new"},
            {"status": "escalated"},
            time=at(30),
        )
        audit.append(session, "eve", "incident.create", f"{target}0", None, {"x": 2})
        scene = Scene(
            db=db,
            media=media,
            incident_id=incident.id,
            alert_ids=[alert_a.id, alert_b.id],
            clip_ids=[clips[0].id, clips[1].id],
            event_id=event.id,
        )

    scene.clip_files = {scene.clip_ids[0]: clip_a, scene.clip_ids[1]: clip_b}
    a, b = scene.alert_ids
    scene.snapshot_files = {
        f"snapshots/alert-{a}.jpg": snaps["a"],
        f"snapshots/alert-{a}-crop.jpg": snaps["a-crop"],
        f"snapshots/alert-{b}.jpg": snaps["b"],
        f"snapshots/event-{scene.event_id}.jpg": snaps["event"],
    }
    return scene


@contextmanager
def fresh_database(kind: str, tmp_path: Path) -> Iterator[Database]:
    """An empty, migrated database of ``kind`` (``sqlite`` or ``postgresql``)."""
    with database_url(kind, tmp_path) as url:
        database = Database.open(url)
        try:
            yield database
        finally:
            database.close()
