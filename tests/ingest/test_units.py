"""Unit tests of the tricky small parts of ingest: backoff, sampling, queues."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import numpy as np
import pytest

from watchfloor.ingest.frames import Frame
from watchfloor.ingest.queues import FrameQueue
from watchfloor.ingest.sampling import FrameSampler
from watchfloor.ingest.worker import backoff_delays


def test_backoff_doubles_to_the_cap() -> None:
    waits = backoff_delays(1, 30, jitter=0)
    assert [next(waits) for _ in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_backoff_jitter_stays_within_bounds() -> None:
    waits = backoff_delays(1, 30, jitter=0.2, rng=random.Random(7))
    values = [next(waits) for _ in range(50)]
    assert 0.8 <= values[0] <= 1.2
    assert all(v <= 36 for v in values)
    assert len({round(v, 6) for v in values[10:]}) > 1


@pytest.mark.parametrize(
    ("source_fps", "target_fps", "expected_per_10s"),
    [(25, 5, 50), (25, None, 250), (10, 7, 70), (7, 10, 70), (30, 1, 10)],
)
def test_sampler_reaches_the_target_rate(
    source_fps: float, target_fps: float | None, expected_per_10s: int
) -> None:
    sampler = FrameSampler(target_fps)
    times = [i / source_fps for i in range(int(10 * source_fps))]
    kept = sum(sampler.due(t) for t in times)
    assert abs(kept - expected_per_10s) <= 1


def _frame(i: int) -> Frame:
    return Frame("cam", i, datetime.now(UTC), np.zeros((2, 2, 3), np.uint8))


def test_full_queue_drops_the_oldest_frame() -> None:
    drops: list[int] = []
    queue = FrameQueue(maxsize=3, on_drop=drops.append)
    for i in range(5):
        queue.put(_frame(i))
    assert queue.dropped == 2
    assert sum(drops) == 2
    got = [queue.get(0) for _ in range(3)]
    assert [f.index for f in got if f] == [2, 3, 4]
    assert queue.get(0.01) is None


def test_closed_queue_wakes_its_reader() -> None:
    queue = FrameQueue(maxsize=1)
    queue.close()
    assert queue.get(timeout=5) is None


def test_queue_needs_room() -> None:
    with pytest.raises(ValueError, match="at least 1 frame"):
        FrameQueue(maxsize=0)
