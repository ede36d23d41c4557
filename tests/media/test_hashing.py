"""SHA-256 of files read in chunks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from watchfloor.media.hashing import sha256_file

CHUNK = 64


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 10 * CHUNK + 7])
def test_sha256_file_matches_hashlib_at_chunk_edges(tmp_path: Path, size: int) -> None:
    data = bytes(range(256)) * (size // 256 + 1)
    path = tmp_path / "data.bin"
    path.write_bytes(data[:size])
    assert (
        sha256_file(path, chunk_bytes=CHUNK) == hashlib.sha256(data[:size]).hexdigest()
    )
    assert sha256_file(str(path)) == hashlib.sha256(data[:size]).hexdigest()


def test_sha256_file_of_a_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        sha256_file(tmp_path / "nothing.mp4")


def test_sha256_file_refuses_a_zero_chunk(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match="positive"):
        sha256_file(path, chunk_bytes=0)
