"""Wall-clock time for a stream's own time stamps."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

# When a packet arrives this much later than the stream's time stamps say it
# should, the stream's clock has jumped or drifted and the mapping is set anew.
MAX_SKEW_S = 2.0


class StreamClock:
    """Maps stream seconds to wall-clock UTC time, from packet arrivals.

    A packet cannot be captured after it arrives, so the mapping keeps the
    smallest ``arrival - stream time`` seen: network jitter and the burst a
    server sends on connect (its buffered recent frames) do not push times
    into the future, and late packets do not stretch them. A stream whose time
    stamps fall behind the wall clock by more than :data:`MAX_SKEW_S` (a camera
    that restarted, or drift) is mapped anew.

    Example:
        >>> clock = StreamClock()
        >>> first = clock.observe(0.0)
        >>> (clock.wall(1.5) - first).total_seconds()
        1.5
    """

    def __init__(self) -> None:
        self._offset: float | None = None
        self._pace_anchor: tuple[float, float] | None = None

    def observe(self, stream_s: float, now: float | None = None) -> datetime:
        """Note a packet that arrived now; returns its wall-clock time."""
        now = time.time() if now is None else now
        candidate = now - stream_s
        if (
            self._offset is None
            or candidate < self._offset
            or candidate - self._offset > MAX_SKEW_S
        ):
            self._offset = candidate
        return self.wall(stream_s)

    def wall(self, stream_s: float) -> datetime:
        """Wall-clock time of ``stream_s`` by the current mapping."""
        offset = self._offset if self._offset is not None else time.time() - stream_s
        return datetime.fromtimestamp(stream_s + offset, UTC)

    def wait_until(self, stream_s: float, stop: threading.Event) -> None:
        """Sleep until ``stream_s`` is due in real time (to play a file live)."""
        if self._pace_anchor is None:
            self._pace_anchor = (time.monotonic(), stream_s)
        start_mono, start_s = self._pace_anchor
        delay = start_mono + (stream_s - start_s) - time.monotonic()
        if delay > 0:
            stop.wait(delay)
