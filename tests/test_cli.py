"""The command line, run as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import av
import pytest
from typer.testing import CliRunner

from watchfloor import __version__
from watchfloor.cli import app

runner = CliRunner()


def watchfloor(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed command line in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "watchfloor", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


@pytest.mark.parametrize(
    "command",
    [[], ["record"], ["clip"], ["db", "upgrade"], ["camera", "simulate"], ["demo"]],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_bad_site_file_names_the_line(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("cameras:\n  - name: gate\n    url: x\n    fps: 0\n")
    result = runner.invoke(app, ["db", "upgrade", str(site)])
    assert result.exit_code == 2
    assert "line 4: cameras['gate'].fps" in result.output


def test_record_then_cut_a_clip(tmp_path: Path, test_data: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(
        f"""
storage: {{media: media}}
recording: {{segment_s: 2}}
cameras:
  - name: campus
    url: {test_data / "TUD-Campus" / "video.mp4"}
"""
    )
    recorded = watchfloor("record", str(site), "--for", "7")
    assert recorded.returncode == 0, recorded.stderr
    assert "campus: online" in recorded.stdout
    summary = [line for line in recorded.stdout.splitlines() if "segments" in line]
    assert summary and summary[0].startswith("campus: ")
    first, last = summary[0].split(", ")[-1].split(" to ")
    start, end = datetime.fromisoformat(first), datetime.fromisoformat(last)
    assert (end - start).total_seconds() >= 4

    out = tmp_path / "clip.mp4"
    clip_start = (start + timedelta(seconds=1)).isoformat()
    clip_end = (start + timedelta(seconds=4)).isoformat()
    cut = watchfloor(
        "clip",
        str(site),
        "campus",
        "--start",
        clip_start,
        "--end",
        clip_end,
        "--out",
        str(out),
        "--by",
        "investigator",
    )
    assert cut.returncode == 0, cut.stderr
    assert "sha256" in cut.stdout
    audited = watchfloor("audit", "verify", str(site))
    assert audited.returncode == 0, audited.stderr
    assert "1 entries checked" in audited.stdout
    with av.open(str(out)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames >= 3 * 25

    upgraded = watchfloor("db", "upgrade", str(site))
    assert upgraded.returncode == 0
    assert "revision" in upgraded.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["campus", "--start", "yesterday", "--end", "2026-01-01T00:00:00Z"],
            "not an ISO 8601 time",
        ),
        (
            [
                "campus",
                "--start",
                "2026-01-01T00:00:00",
                "--end",
                "2026-01-01T00:01:00Z",
            ],
            "has no time zone",
        ),
        (
            [
                "nope",
                "--start",
                "2026-01-01T00:00:00Z",
                "--end",
                "2026-01-01T00:01:00Z",
            ],
            "no camera named 'nope'",
        ),
        (
            [
                "campus",
                "--start",
                "2026-01-01T00:00:00Z",
                "--end",
                "2026-01-01T00:01:00Z",
            ],
            "has no recordings",
        ),
    ],
)
def test_clip_refuses_bad_requests(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(
        "storage: {media: media}\ncameras:\n  - {name: campus, url: x.mp4}\n"
    )
    result = runner.invoke(app, ["clip", str(site), *args])
    assert result.exit_code != 0
    assert expected in result.output


def test_empty_site_records_nothing(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("storage: {media: media}\n")
    result = runner.invoke(app, ["record", str(site), "--for", "1"])
    assert result.exit_code == 0
    assert "no cameras" in result.output
