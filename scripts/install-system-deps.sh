#!/usr/bin/env bash
# Install the Debian packages Watchfloor needs (GStreamer RTSP server for the
# camera simulator, build dependencies of PyGObject). Idempotent: runs
# `apt-get update` and `apt-get install` only when a package is missing.
# Add a package by appending it to PACKAGES, one per line.
set -euo pipefail

PACKAGES=(
  # Camera simulator: GStreamer RTSP server driven from Python.
  gstreamer1.0-rtsp
  gir1.2-gst-rtsp-server-1.0
  gir1.2-gstreamer-1.0
  gir1.2-gst-plugins-base-1.0
  gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly
  gstreamer1.0-tools
  # Building PyGObject (pip install "pygobject<3.51").
  build-essential
  pkg-config
  python3-dev
  libgirepository1.0-dev
  libcairo2-dev
  # Browser tests of the operator console (Playwright drives it).
  chromium
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

echo "Installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
