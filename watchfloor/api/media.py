"""Serving media files: paths kept inside the media directory, and byte ranges.

A browser's ``<video>`` asks for byte ranges to start playing and to seek;
one range per request is answered with ``206 Partial Content``. Several
ranges in one request, or a unit other than bytes, are answered with the whole
file, as HTTP allows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import BinaryIO

from fastapi import Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

CHUNK = 256 * 1024


class MediaPathError(ValueError):
    """A stored media path may not be served; the message says why."""


class RangeNotSatisfiable(ValueError):
    """A Range header asks for bytes the file does not have, or is malformed."""


def resolve_media(media_dir: Path, stored: str, *, allow_outside: bool) -> Path:
    """The file a stored media path names, refused if it leaves the media directory.

    Args:
        media_dir: The media directory, absolute and resolved.
        stored: The path as the database keeps it: relative to ``media_dir``,
            or absolute.
        allow_outside: Whether an absolute path may lie outside ``media_dir``
            (only for clips, whose absolute paths were recorded when cut).

    Raises:
        MediaPathError: The path leaves the media directory (through ``..`` or
            a link) where that is not allowed.
    """
    path = Path(stored)
    if path.is_absolute():
        resolved = path.resolve()
        if allow_outside:
            return resolved
    else:
        resolved = (media_dir / path).resolve()
    if not resolved.is_relative_to(media_dir):
        raise MediaPathError(
            f"{stored!r} lies outside the media directory and is not served"
        )
    return resolved


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The first and last byte a ``Range`` header asks for, or None for all.

    Raises:
        RangeNotSatisfiable: The range is malformed or starts past the end.

    Example:
        >>> parse_range("bytes=0-99", 1000), parse_range("bytes=-100", 1000)
        ((0, 99), (900, 999))
    """
    unit, equals, spec = header.partition("=")
    if not equals or unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = (part.strip() for part in spec.strip().partition("-"))
    right = f"ask for bytes=START-END with START <= END < {size}, or bytes=-COUNT"
    numbers = all(p == "" or (p.isascii() and p.isdigit()) for p in (first, last))
    if not dash or not (first or last) or not numbers:
        raise RangeNotSatisfiable(f"Range {header!r} is malformed; {right}")
    if not first:
        count = int(last)
        if count == 0 or size == 0:
            raise RangeNotSatisfiable(f"Range {header!r} asks for no bytes; {right}")
        return max(size - count, 0), size - 1
    start = int(first)
    if last and int(last) < start:
        raise RangeNotSatisfiable(f"Range {header!r} ends before it starts; {right}")
    if start >= size:
        raise RangeNotSatisfiable(
            f"Range {header!r} starts past the end of the file ({size} bytes); {right}"
        )
    end = int(last) if last else size - 1
    return start, min(end, size - 1)


def file_response(request: Request, path: Path, media_type: str) -> Response:
    """The file, whole or the one byte range the request asks for.

    Answers ``200`` with ``Accept-Ranges: bytes``, ``206`` with
    ``Content-Range`` for a satisfiable range, and ``416`` with
    ``Content-Range: bytes */SIZE`` and a JSON detail for a bad one.
    """
    handle = path.open("rb")
    stat = os.fstat(handle.fileno())
    size = stat.st_size
    etag = f'"{size:x}-{stat.st_mtime_ns:x}"'
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Last-Modified": formatdate(stat.st_mtime, usegmt=True),
    }

    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range not in (etag, headers["Last-Modified"]):
        wanted = None  # the file changed since the client's copy: send it all
    span = None
    if wanted is not None:
        try:
            span = parse_range(wanted, size)
        except RangeNotSatisfiable as exc:
            handle.close()
            return JSONResponse(
                {"detail": str(exc)},
                status_code=416,
                headers={**headers, "Content-Range": f"bytes */{size}"},
            )

    if span is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(
            _chunks(handle, 0, size), media_type=media_type, headers=headers
        )
    start, end = span
    headers["Content-Length"] = str(end - start + 1)
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return StreamingResponse(
        _chunks(handle, start, end - start + 1),
        status_code=206,
        media_type=media_type,
        headers=headers,
    )


def _chunks(handle: BinaryIO, start: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(start)
        while length > 0:
            data = handle.read(min(CHUNK, length))
            if not data:
                break
            length -= len(data)
            yield data
    finally:
        handle.close()
