"""`watchfloor run` as an operator starts it: cameras, API, and a clean Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.slow


def test_run_serves_the_api_and_stops_cleanly(tmp_path: Path, test_data: Path) -> None:
    video = test_data / "TUD-Campus" / "video.mp4"
    site = tmp_path / "site.yaml"
    site.write_text(
        f"""
storage: {{media: media}}
recording: {{segment_s: 2}}
cameras:
  - name: campus
    url: "rtsp://admin:hunter2@127.0.0.1:9/nothing"
  - name: street
    url: {video}
    fps: 2
    detect: {{classes: [person]}}
zones:
  - {{name: pavement, camera: street, polygon: [[0, 0.6], [1, 0.6], [1, 1], [0, 1]]}}
rules:
  - {{name: no-loitering, kind: loitering, zone: pavement, limit_s: 600}}
"""
    )
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "watchfloor", "run", str(site), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 60
        cameras: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            try:
                cameras = httpx.get(f"{base}/cameras", timeout=2).json()
                states = {c["name"]: c["status"]["state"] for c in cameras}  # type: ignore[index]
                if states.get("street") == "online":
                    break
            except (httpx.HTTPError, KeyError, TypeError):
                pass
            time.sleep(0.5)
        else:
            pytest.fail(f"the API did not show camera 'street' online: {cameras}")

        health = httpx.get(f"{base}/health", timeout=5).json()
        assert health["ok"] is True
        assert "hunter2" not in str(cameras)
        rules = httpx.get(f"{base}/rules", timeout=5).json()
        assert [r["name"] for r in rules] == ["no-loitering"]
        time.sleep(4)  # long enough to close a segment or two
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)

    assert process.returncode == 0, output
    assert "stopping" in output
    assert "hunter2" not in output
    assert "street:" in output and "segments" in output
    assert not list((tmp_path / "media").rglob("*.part"))
