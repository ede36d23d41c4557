"""MQTT notifier against real Mosquitto brokers: topics, payloads, retained status."""

from __future__ import annotations

import json
import logging
import queue
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import free_port
from watchfloor.bus import Bus
from watchfloor.config import MqttConfig, NotificationSettings
from watchfloor.notify import start_notifiers
from watchfloor.notify.mqtt import MqttNotifier

BROKER_HOST = "127.0.0.1"
BROKER_PORT = 1883


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def broker() -> tuple[str, int]:
    """The machine's Mosquitto; skips when nothing listens on its port."""
    if not port_open(BROKER_HOST, BROKER_PORT):
        pytest.skip(f"no MQTT broker on {BROKER_HOST}:{BROKER_PORT} (start Mosquitto)")
    return BROKER_HOST, BROKER_PORT


@dataclass(frozen=True)
class Got:
    topic: str
    payload: bytes
    retain: bool


class Listener:
    """A plain paho subscriber that collects what arrives on a topic filter."""

    def __init__(self, host: str, port: int, topic: str) -> None:
        self.messages: queue.Queue[Got] = queue.Queue()
        self._subscribed = queue.Queue[bool]()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.put(True)
        self.client.on_message = lambda _c, _u, m: self.messages.put(
            Got(m.topic, bytes(m.payload), bool(m.retain))
        )
        self.client.connect(host, port)
        self.client.loop_start()
        self._subscribed.get(timeout=5)

    def next(self, timeout: float = 5.0) -> Got:
        return self.messages.get(timeout=timeout)

    def until(self, topic: str, timeout: float = 5.0) -> Got:
        """The next message on ``topic``, skipping others."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.messages.get(timeout=max(0.01, deadline - time.monotonic()))
            if got.topic == topic:
                return got

    def all_until_quiet(self, quiet_s: float = 0.5) -> dict[str, Got]:
        """The last message of each topic, once none came for ``quiet_s``."""
        got: dict[str, Got] = {}
        while True:
            try:
                message = self.messages.get(timeout=quiet_s)
            except queue.Empty:
                return got
            got[message.topic] = message

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def clear_retained(host: str, port: int, prefix: str) -> None:
    """Remove what a test left retained under ``prefix`` on the broker."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.connect(host, port)
    client.loop_start()
    for topic in (f"{prefix}/availability", f"{prefix}/cameras/gate/status"):
        client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


@pytest.fixture
def prefix(broker: tuple[str, int]) -> Iterator[str]:
    """A topic prefix no other test run uses; its retained topics are cleared."""
    name = f"wftest-{uuid.uuid4().hex[:10]}"
    yield name
    clear_retained(*broker, name)


def alert() -> dict[str, Any]:
    return {
        "id": 3,
        "camera": "gate",
        "rule": "yard",
        "status": "open",
        "start": "2024-05-01T22:14:03+00:00",
        "change": "raised",
    }


def camera_status(state: str = "online") -> dict[str, Any]:
    return {
        "camera": "gate",
        "state": state,
        "since": "2024-05-01T22:10:00+00:00",
        "attempts": 0,
        "last_error": None,
        "fps_in": 9.8,
        "frames_in": 1200,
        "frames_dropped": 0,
        "recording": "recording",
        "recording_error": None,
    }


def test_alert_and_camera_status_reach_their_topics(
    broker: tuple[str, int], prefix: str
) -> None:
    host, port = broker
    bus = Bus()
    listener = Listener(host, port, f"{prefix}/#")
    notifier = MqttNotifier(MqttConfig(host=host, port=port, topic_prefix=prefix), bus)
    notifier.start()
    try:
        assert notifier.wait_connected(5), "the notifier did not connect"
        online = listener.until(f"{prefix}/availability")
        assert online.payload == b"online"

        bus.publish("alert", alert())
        bus.publish("camera", camera_status())
        bus.publish("event", {"kind": "appeared"})
        got_alert = listener.until(f"{prefix}/alerts")
        got_status = listener.until(f"{prefix}/cameras/gate/status")
    finally:
        notifier.stop()
        listener.close()

    assert json.loads(got_alert.payload) == alert()
    assert json.loads(got_status.payload) == camera_status()
    stats = notifier.stats
    assert (stats.queued, stats.published, stats.failed) == (2, 2, 0)

    # A client that comes later still gets the camera's last status, retained.
    late = Listener(host, port, f"{prefix}/#")
    try:
        retained = late.all_until_quiet()
    finally:
        late.close()
    status = retained[f"{prefix}/cameras/gate/status"]
    assert status.retain
    assert json.loads(status.payload) == camera_status()
    assert retained[f"{prefix}/availability"].payload == b"offline"
    assert f"{prefix}/alerts" not in retained


def test_later_status_replaces_the_retained_one(
    broker: tuple[str, int], prefix: str
) -> None:
    host, port = broker
    bus = Bus()
    settings = NotificationSettings(
        mqtt=MqttConfig(host=host, port=port, topic_prefix=prefix)
    )
    with start_notifiers(settings, bus) as notifiers:
        (notifier,) = notifiers
        assert isinstance(notifier, MqttNotifier)
        assert notifier.wait_connected(5)
        bus.publish("camera", camera_status("online"))
        bus.publish("camera", camera_status("reconnecting"))
        deadline = time.monotonic() + 5
        while notifier.stats.published < 2 and time.monotonic() < deadline:
            time.sleep(0.02)

    late = Listener(host, port, f"{prefix}/cameras/+/status")
    try:
        got = late.next()
    finally:
        late.close()
    assert got.retain
    assert json.loads(got.payload)["state"] == "reconnecting"


@pytest.fixture
def own_broker_port() -> Iterator[tuple[int, list[subprocess.Popen[bytes]]]]:
    """A free port for a Mosquitto this test starts itself (killed at the end)."""
    if shutil.which("mosquitto") is None:
        pytest.skip("the mosquitto program is not installed")
    processes: list[subprocess.Popen[bytes]] = []
    yield free_port(), processes
    for process in processes:
        process.terminate()
        process.wait(5)


def test_unreachable_broker_is_logged_and_reached_once_it_starts(
    own_broker_port: tuple[int, list[subprocess.Popen[bytes]]],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    port, processes = own_broker_port
    bus = Bus()
    notifier = MqttNotifier(
        MqttConfig(host="127.0.0.1", port=port, topic_prefix="wf"),
        bus,
        reconnect_max_s=1,
    )
    with caplog.at_level(logging.INFO, logger="watchfloor.notify.mqtt"):
        began = time.monotonic()
        notifier.start()
        assert time.monotonic() - began < 1.0
        deadline = time.monotonic() + 5
        while "unreachable" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)
        assert f"MQTT broker 127.0.0.1:{port} is unreachable" in caplog.text

        # Published while the broker is away: kept and sent on reconnection.
        began = time.monotonic()
        bus.publish("alert", alert())
        deadline = time.monotonic() + 5
        while notifier.stats.queued < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert notifier.stats.queued == 1
        assert time.monotonic() - began < 1.0
        assert caplog.text.count("is unreachable") == 1

        config = tmp_path / "mosquitto.conf"
        config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
        processes.append(
            subprocess.Popen(
                ["mosquitto", "-c", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        try:
            assert notifier.wait_connected(5), "no reconnection to the new broker"
            deadline = time.monotonic() + 5
            while notifier.stats.published < 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert notifier.stats.published == 1
        finally:
            notifier.stop()
    assert f"connected to MQTT broker 127.0.0.1:{port}" in caplog.text


def test_stop_without_a_broker_is_quick() -> None:
    notifier = MqttNotifier(
        MqttConfig(host="127.0.0.1", port=free_port()), Bus(), reconnect_max_s=1
    )
    notifier.start()
    time.sleep(0.2)
    began = time.monotonic()
    notifier.stop()
    assert time.monotonic() - began < 2.0
    assert not notifier.connected


@pytest.mark.parametrize("prefix", ["", "a/#", "+"])
def test_unusable_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="topic prefix"):
        MqttNotifier(MqttConfig(host="127.0.0.1", topic_prefix=prefix), Bus())
