"""The internal message bus: alerts, camera status and track events travel on it.

The embedded bus is in-process: publishers call :meth:`Bus.publish` from any
thread, and each subscriber gets every message on its own bounded queue, so a
slow subscriber (a stalled WebSocket, an unreachable webhook) never blocks the
pipeline; when its queue is full it loses its oldest messages, counted.

Topics:
    ``alert``: an alert was raised or changed (payload: the alert as the API
    shows it). ``camera``: a camera's status changed. ``event``: a track event
    was stored.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """One message on the bus.

    Attributes:
        topic: ``alert``, ``camera`` or ``event``.
        payload: JSON-ready data.
        published: ``time.time()`` when it was published, for latency.
    """

    topic: str
    payload: dict[str, Any]
    published: float = field(default_factory=time.time)


class Subscription:
    """A subscriber's queue of messages, in order."""

    def __init__(self, bus: Bus, topics: frozenset[str] | None, maxsize: int) -> None:
        self._bus = bus
        self.topics = topics
        self._queue: queue.Queue[Message | None] = queue.Queue(maxsize)
        self.dropped = 0

    def offer(self, message: Message) -> None:
        if self.topics is not None and message.topic not in self.topics:
            return
        while True:
            try:
                self._queue.put_nowait(message)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def get(self, timeout: float | None = None) -> Message | None:
        """The next message, or None after ``timeout`` or once closed."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def __iter__(self) -> Iterator[Message]:
        while (message := self._queue.get()) is not None:
            yield message

    def close(self) -> None:
        self._bus.unsubscribe(self)
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)


class Bus:
    """The in-process bus.

    Example:
        >>> bus = Bus()
        >>> alerts = bus.subscribe({"alert"})
        >>> bus.publish("alert", {"id": 1})
        >>> alerts.get(0).payload
        {'id': 1}
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: list[Subscription] = []

    def subscribe(
        self, topics: set[str] | frozenset[str] | None = None, maxsize: int = 1000
    ) -> Subscription:
        """A new subscription to ``topics`` (all when None)."""
        subscription = Subscription(
            self, frozenset(topics) if topics is not None else None, maxsize
        )
        with self._lock:
            self._subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

    @property
    def subscribers(self) -> int:
        """How many subscriptions are open."""
        with self._lock:
            return len(self._subscriptions)

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        """Hand a message to every subscriber of its topic; never blocks."""
        message = Message(topic, payload)
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.offer(message)
