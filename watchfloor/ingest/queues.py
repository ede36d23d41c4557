"""Bounded frame queues that drop the oldest frame when their consumer lags."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from watchfloor.ingest.frames import Frame


class FrameQueue:
    """A bounded queue of frames between a camera worker and one consumer.

    ``put`` never blocks: when the queue is full, the oldest frame is dropped
    (and counted) so that the stream keeps flowing and the consumer always
    sees the newest picture.
    """

    def __init__(
        self, maxsize: int = 8, on_drop: Callable[[int], None] | None = None
    ) -> None:
        if maxsize < 1:
            raise ValueError(f"a frame queue holds at least 1 frame, not {maxsize}")
        self._frames: deque[Frame] = deque()
        self._maxsize = maxsize
        self._ready = threading.Condition()
        self._closed = False
        self.dropped = 0
        self._on_drop = on_drop

    def put(self, frame: Frame) -> None:
        dropped = 0
        with self._ready:
            if self._closed:
                return
            while len(self._frames) >= self._maxsize:
                self._frames.popleft()
                dropped += 1
            self._frames.append(frame)
            self.dropped += dropped
            self._ready.notify()
        if dropped and self._on_drop is not None:
            self._on_drop(dropped)

    def get(self, timeout: float | None = None) -> Frame | None:
        """The oldest frame waiting, or None after ``timeout`` or once closed."""
        with self._ready:
            if not self._frames and not self._closed:
                self._ready.wait(timeout)
            return self._frames.popleft() if self._frames else None

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self._frames)
