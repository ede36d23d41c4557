"""Alerts as JSON-ready dicts: the one shape the bus, the API and pushes share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from watchfloor.models.alerts import Alert, ClipState
from watchfloor.rules.paths import path_rows

ALERTS_PATH = "/api/alerts"


def alert_payload(alert: Alert) -> dict[str, Any]:
    """An alert as JSON-ready data, as the API shows it and the bus carries it.

    Times are ISO 8601 with a UTC offset. ``snapshot_url``, ``snapshot_crop_url``
    and ``clip_url`` are paths on the API (``/api/alerts/{id}/...``), set only
    when there is something to fetch: a clip's URL appears once its state is
    ``ready``. Media paths inside the media directory are not shown. ``path``
    is where the track's feet went, ``[seconds from start, x, y]`` points in
    time order (see :mod:`watchfloor.rules.paths`); empty without a track.

    Example:
        >>> from watchfloor.models import Alert
        >>> alert = Alert(id=7, camera="gate", rule="dock", kind="restricted_area",
        ...               label="person", score=0.9, status="new",
        ...               clip_state="pending",
        ...               start=datetime(2024, 5, 1, 12, 0, tzinfo=UTC))
        >>> alert_payload(alert)["start"]
        '2024-05-01T12:00:00+00:00'
    """
    url = f"{ALERTS_PATH}/{alert.id}"
    clip_ready = alert.clip_state == ClipState.READY.value and alert.clip_id is not None
    return {
        "id": alert.id,
        "camera": alert.camera,
        "rule": alert.rule,
        "kind": alert.kind,
        "zone": alert.zone,
        "line": alert.line,
        "label": alert.label,
        "score": alert.score,
        "track_id": alert.track_id,
        "tracker_id": alert.tracker_id,
        "start": _iso(alert.start),
        "end": _iso(alert.end),
        "status": alert.status,
        "status_by": alert.status_by,
        "status_at": _iso(alert.status_at),
        "status_note": alert.status_note,
        "snapshot_url": f"{url}/snapshot" if alert.snapshot else None,
        "path": path_rows(alert.path),
        "snapshot_crop_url": (
            f"{url}/snapshot?crop=true" if alert.snapshot_crop else None
        ),
        "clip_state": alert.clip_state,
        "clip_error": alert.clip_error,
        "clip_url": f"{url}/clip" if clip_ready else None,
        "created_at": _iso(alert.created_at),
    }


def _iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with its offset; a naive time is taken to be UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()
