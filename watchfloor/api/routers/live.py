"""``WebSocket /api/live``: camera status and alerts pushed as they happen.

On connect the server sends ``{"type": "hello", "version": ..., "cameras":
[status, ...]}``; then every message of the bus topics ``alert`` and
``camera`` as ``{"type": "alert" | "camera", ...payload}``. An alert's
payload is the alert as ``GET /api/alerts/{id}`` shows it, plus ``change``
(``raised``, ``updated``, ``ended``, ``clip``). Anything the client sends is
ignored.

Each connection has its own bus subscription, drained by a thread that hands
messages to the event loop as they arrive, so a message reaches the client
within milliseconds of publication. A client that reads too slowly loses its
oldest messages, not the server's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from watchfloor import __version__
from watchfloor.api.deps import ApiContext, status_dict
from watchfloor.bus import Message, Subscription
from watchfloor.config import redact

log = logging.getLogger(__name__)

router = APIRouter()

TOPICS = frozenset({"alert", "camera"})
# Messages waiting for a slow client beyond this are dropped, oldest first.
BACKLOG = 1000


@router.websocket("/api/live")
async def live(websocket: WebSocket) -> None:
    """Push camera status changes and alert changes to one client."""
    context: ApiContext = websocket.app.state.context
    # Subscribe before the hello, so nothing published in between is missed.
    feed = _Feed(context.bus.subscribe(TOPICS), asyncio.get_running_loop())
    tasks: list[asyncio.Task[None]] = []
    try:
        await websocket.accept()
        feed.start()
        statuses = context.camera_statuses().values()
        cameras = [status_dict(status) for status in statuses]
        await websocket.send_json(
            {"type": "hello", "version": __version__, "cameras": cameras}
        )
        tasks = [
            asyncio.create_task(_send(websocket, feed.backlog)),
            asyncio.create_task(_drain(websocket)),
        ]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            error = None if task.cancelled() else task.exception()
            if error is not None and not isinstance(
                error, WebSocketDisconnect | RuntimeError
            ):
                log.warning("live WebSocket ended on an error: %s", error)
    except WebSocketDisconnect:
        pass
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await feed.close()


class _Feed:
    """One connection's bus subscription, handed to its event loop by a thread."""

    def __init__(
        self, subscription: Subscription, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.subscription = subscription
        self.loop = loop
        self.backlog: asyncio.Queue[Message] = asyncio.Queue(BACKLOG)
        self.dropped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._pump, name="live-websocket", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    async def close(self) -> None:
        """Unsubscribe and let the thread end."""
        self._stop.set()
        self.subscription.close()
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join, 2.0)
        lost = self.dropped + self.subscription.dropped
        if lost:
            log.warning("live WebSocket lost %d messages to a slow client", lost)

    def _offer(self, message: Message) -> None:
        """Runs on the event loop: queue a message, dropping the oldest if full."""
        if self.backlog.full():
            self.backlog.get_nowait()
            self.dropped += 1
        self.backlog.put_nowait(message)

    def _pump(self) -> None:
        while not self._stop.is_set():
            # The timeout only bounds how long a stop could go unnoticed;
            # closing the subscription wakes this at once.
            message = self.subscription.get(timeout=1.0)
            if message is None:
                continue
            try:
                self.loop.call_soon_threadsafe(self._offer, message)
            except RuntimeError:
                return  # the event loop is closed: the connection is gone


async def _send(websocket: WebSocket, backlog: asyncio.Queue[Message]) -> None:
    while True:
        message = await backlog.get()
        payload = {k: v for k, v in message.payload.items() if k != "type"}
        await websocket.send_json({"type": message.topic, **_redacted(payload)})


async def _drain(websocket: WebSocket) -> None:
    """Read and ignore what the client sends, until it goes away."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


def _redacted(value: Any) -> Any:
    """The value with any password inside URLs in its strings hidden."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    return value
