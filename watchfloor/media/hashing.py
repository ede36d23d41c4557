"""SHA-256 digests of recorded files, read in chunks so memory stays flat."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK_BYTES = 1 << 20


def sha256_file(path: Path | str, chunk_bytes: int = CHUNK_BYTES) -> str:
    """The SHA-256 of a file's content, as 64 lowercase hex digits.

    Args:
        path: The file to read.
        chunk_bytes: How many bytes to read at a time.

    Raises:
        OSError: The file cannot be read (missing, no permission).
        ValueError: ``chunk_bytes`` is not positive.

    Example:
        >>> import tempfile, os
        >>> with tempfile.NamedTemporaryFile(delete=False) as f:
        ...     _ = f.write(b"abc")
        >>> sha256_file(f.name)[:16]
        'ba7816bf8f01cfea'
        >>> os.unlink(f.name)
    """
    if chunk_bytes <= 0:
        raise ValueError(f"chunk_bytes is {chunk_bytes}; it must be a positive size")
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()
