"""``WebSocket /api/live``: hello, then bus messages within a second, then cleanup."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from websockets.sync.client import connect

from tests.api.conftest import PASSWORD, Api
from tests.conftest import free_port
from watchfloor.bus import Bus


def live_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "live-websocket"]


def wait_until_unsubscribed(bus: Bus, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # The bus keeps no public count of subscribers; its list is read here.
        if not bus.subscribers and not live_threads():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.timeout(30)
def test_hello_then_alerts_and_camera_changes_as_they_are_published(
    api: Api,
) -> None:
    with api.client.websocket_connect("/api/live") as socket:
        hello = socket.receive_json()
        assert hello["type"] == "hello"
        cameras = {c["camera"]: c for c in hello["cameras"]}
        assert cameras["gate"]["state"] == "online"
        assert cameras["yard"]["last_error"] == (
            "cannot open rtsp://viewer:***@10.0.0.6/main: refused"
        )

        alert_id = api.add_alert()
        started = time.monotonic()
        acknowledged = api.client.post(
            f"/api/alerts/{alert_id}/acknowledge", json={"by": "sam"}
        )
        message = socket.receive_json()
        latency = time.monotonic() - started

        assert acknowledged.status_code == 200
        assert message == {"type": "alert", **acknowledged.json(), "change": "updated"}
        assert latency < 1.0

        api.bus.publish("event", {"kind": "appeared"})  # not a live topic
        started = time.monotonic()
        api.bus.publish(
            "camera",
            {
                "camera": "gate",
                "state": "reconnecting",
                "last_error": f"rtsp://admin:{PASSWORD}@10.0.0.5/live timed out",
            },
        )
        message = socket.receive_json()
        assert time.monotonic() - started < 1.0
        assert message["type"] == "camera"
        assert message["last_error"] == "rtsp://admin:***@10.0.0.5/live timed out"
        assert PASSWORD not in json.dumps(message)

    assert wait_until_unsubscribed(api.bus), "the WebSocket left its subscription"


@pytest.fixture
def server(api: Api) -> Iterator[str]:
    """The same application served by uvicorn on a free port."""
    port = free_port()
    config = uvicorn.Config(
        api.client.app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="websockets-sansio",
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not instance.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(10)


@pytest.mark.timeout(30)
def test_a_real_server_pushes_alerts_to_a_real_websocket_client(
    api: Api, server: str
) -> None:
    alert_id = api.add_alert()
    with connect(f"ws://{server}/api/live", open_timeout=5) as socket:
        assert json.loads(socket.recv(timeout=5))["type"] == "hello"

        response = httpx.post(
            f"http://{server}/api/alerts/{alert_id}/resolve",
            json={"by": "sam", "note": "gate closed"},
            timeout=5,
        )
        # The change is published before the answer is sent, so it must be
        # on the socket within 1 s of the answer, whatever the request cost.
        message = json.loads(socket.recv(timeout=1))

        assert response.status_code == 200
        assert message["type"] == "alert"
        assert message["id"] == alert_id
        assert message["status"] == "resolved"
        assert message["status_note"] == "gate closed"

    assert wait_until_unsubscribed(api.bus)
