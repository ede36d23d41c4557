"""`watchfloor demo` as the README's first command runs it, on a piece of PETS 2009.

The piece (video frames 400 to 525) has one person walk onto the demo site's
lawn; the simulator loops it, so the person walks on again every 12.6 s. The
demo must print the camera coming online once, the alert with its snapshot's
URL, its clip once cut, and an operator's acknowledgement made over the API,
then stop cleanly at the end of ``--for``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.e2e_helpers import make_video_piece

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

RUN_S = 75


def test_demo_prints_alerts_clips_and_changes(
    pets09_video: Path, tmp_path: Path
) -> None:
    piece = make_video_piece(pets09_video, tmp_path / "piece.mp4", 400, 525)
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "watchfloor",
        "demo",
        "--directory",
        str(tmp_path / "demo"),
        "--video",
        str(piece),
        "--rtsp-port",
        str(free_port()),
        "--port",
        str(port),
        "--for",
        str(RUN_S),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    acknowledged = None
    try:
        deadline = time.monotonic() + RUN_S
        while acknowledged is None and time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                alerts = httpx.get(
                    f"http://127.0.0.1:{port}/api/alerts", timeout=2
                ).json()["items"]
            except (httpx.HTTPError, KeyError, ValueError):
                continue
            if alerts:
                acknowledged = alerts[-1]["id"]
                answer = httpx.post(
                    f"http://127.0.0.1:{port}/api/alerts/{acknowledged}/acknowledge",
                    json={"by": "tester"},
                    timeout=5,
                )
                assert answer.status_code == 200, answer.text
        stdout, stderr = process.communicate(timeout=RUN_S + 60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr[-3000:]
    lines = stdout.splitlines()
    listing = "\n".join(lines)
    assert acknowledged is not None, f"no alert within {RUN_S} s:\n{listing}"

    assert sum(line.endswith("camera plaza: online") for line in lines) == 1, listing
    base = f"http://127.0.0.1:{port}/api/alerts/1"
    raised = [line for line in lines if " alert 1 (keep-off-the-grass, lawn): " in line]
    assert raised, listing
    assert raised[0].endswith(f"on camera plaza; snapshot {base}/snapshot"), listing
    assert any(line.endswith(f"clip ready at {base}/clip") for line in raised), listing
    assert any(
        line.endswith(
            f"alert {acknowledged} (keep-off-the-grass, lawn): acknowledged by tester"
        )
        for line in lines
    ), listing
    assert lines[-1].startswith("plaza: "), "the recordings are summed up at the end"
    site = tmp_path / "demo" / "site.yaml"
    assert site.is_file()
    assert list((tmp_path / "demo" / "media" / "clips").rglob("*.mp4"))
