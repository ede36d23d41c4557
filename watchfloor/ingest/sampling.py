"""Choosing which frames go to analysis, to reach a camera's frame rate."""

from __future__ import annotations


class FrameSampler:
    """Keeps frames at a target rate from a stream of any rate.

    Example:
        >>> sampler = FrameSampler(5)
        >>> sum(sampler.due(i / 25) for i in range(250))  # 10 s of 25 fps
        50
    """

    def __init__(self, fps: float | None) -> None:
        self.period = 1.0 / fps if fps else 0.0
        self.next_due: float | None = None

    def due(self, stream_s: float) -> bool:
        """Whether the frame at ``stream_s`` (seconds) is to be analysed."""
        if not self.period:
            return True
        # A little slack keeps 25 -> 5 fps from drifting to every 6th frame
        # through rounding of the time stamps.
        if self.next_due is None or stream_s >= self.next_due - 0.02:
            following = (self.next_due or stream_s) + self.period
            self.next_due = (
                following if following > stream_s else stream_s + self.period
            )
            return True
        return False
