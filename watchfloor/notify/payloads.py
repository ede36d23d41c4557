"""The JSON text that notifiers send: compact, UTF-8, times as ISO 8601."""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from typing import Any


def to_json(document: dict[str, Any]) -> str:
    """``document`` as compact JSON text.

    Bus payloads are JSON-ready already; a ``datetime`` or an enum that slipped
    in is written as its ISO 8601 text or its value rather than failing, and
    anything else unknown as its ``str``.

    Example:
        >>> from datetime import UTC, datetime
        >>> to_json({"id": 1, "start": datetime(2024, 5, 1, 12, tzinfo=UTC)})
        '{"id":1,"start":"2024-05-01T12:00:00+00:00"}'
    """
    return json.dumps(
        document, separators=(",", ":"), ensure_ascii=False, default=_fallback
    )


def _fallback(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return str(value)
