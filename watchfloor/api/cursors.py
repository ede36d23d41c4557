"""Page cursors of the time-ordered lists: an opaque ``(time, id)`` position."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from fastapi import HTTPException


def encode_cursor(time: datetime, row_id: int) -> str:
    """The cursor of the page that follows the row at ``(time, row_id)``."""
    raw = f"{time.astimezone(UTC).isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, first: str) -> tuple[datetime, int]:
    """The ``(time, id)`` a cursor of :func:`encode_cursor` stands for.

    Args:
        cursor: The query parameter as given.
        first: What a list without a cursor starts from, for the error
            ("the newest alert").

    Raises:
        HTTPException: 422 naming the parameter, when it is not such a cursor.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        time_text, id_text = raw.split("|")
        time = datetime.fromisoformat(time_text)
        if time.tzinfo is None:
            raise ValueError("no offset")
        return time, int(id_text)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise HTTPException(
            422,
            f"query parameter 'cursor': {cursor!r} is not a cursor this API gave; "
            f"leave it out to start from {first}",
        ) from exc
