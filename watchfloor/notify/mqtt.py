"""MQTT: alerts and camera status published to a broker, for PSIM and automation.

Topics, under the configured prefix (``watchfloor`` by default):

- ``<prefix>/alerts``: every alert change (raised, ended, clip ready, ...),
  the JSON of the alert as the API shows it, QoS 1, not retained.
- ``<prefix>/cameras/<camera>/status``: a camera's status, JSON, QoS 1,
  retained, so a client that subscribes later gets each camera's last status.
- ``<prefix>/availability``: ``online`` while Watchfloor is connected,
  ``offline`` after it stops or (through the broker's last will) dies;
  retained, QoS 1.

The client (paho-mqtt 2) runs its own network thread and reconnects by
itself with backoff; messages published while the broker is away wait in the
client's memory and go out on reconnection. Publishing happens on a thread of
this notifier, fed by its own bus subscription, so the pipeline never waits
for the broker.

Limitations:
    Plain TCP only (no TLS), MQTT 3.1.1. Queued messages live in memory: up
    to ``queue_size`` wait for the broker, further ones are refused (counted
    as failed), and those still waiting when the process stops are lost. A
    camera's retained status stays on the broker after the camera is removed
    from the site, until someone clears it (an empty retained message).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt

from watchfloor.bus import Bus, Message, Subscription
from watchfloor.config import MqttConfig
from watchfloor.notify.payloads import to_json

try:
    from paho.mqtt.enums import CallbackAPIVersion
except ImportError as exc:  # paho-mqtt 1.x has no callback API versions
    raise ImportError(
        "watchfloor.notify.mqtt needs paho-mqtt 2.0 or later (with "
        "CallbackAPIVersion); install 'paho-mqtt>=2'"
    ) from exc

log = logging.getLogger(__name__)

_QOS = 1
_KEEPALIVE_S = 30
_POLL_S = 1.0
# Characters MQTT gives a meaning in topics: they cannot be in a camera's part.
_TOPIC_SPECIAL = frozenset("/+#\x00")


@dataclass
class MqttStats:
    """What the MQTT notifier did since it started.

    Attributes:
        queued: Messages handed to the client (sent or waiting for the broker).
        published: Messages the broker acknowledged (QoS 1 PUBACK).
        failed: Messages refused: the client's queue was full, or the
            message could not be made into a topic and payload.
        dropped: Bus messages lost because this notifier's queue was full.
    """

    queued: int = 0
    published: int = 0
    failed: int = 0
    dropped: int = 0


class MqttNotifier:
    """Publishes alerts and camera status from the bus to an MQTT broker.

    Args:
        config: The broker and topic prefix.
        bus: Where alerts (topic ``alert``) and camera status (``camera``)
            come from.
        queue_size: Messages that may wait for the broker while it is away.
        reconnect_max_s: Longest wait between two connection attempts.
        connect_timeout_s: Seconds one connection attempt may take.

    Example:
        >>> notifier = MqttNotifier(MqttConfig(host="127.0.0.1"), Bus())
        >>> notifier.camera_topic("gate")
        'watchfloor/cameras/gate/status'
    """

    def __init__(
        self,
        config: MqttConfig,
        bus: Bus,
        *,
        queue_size: int = 1000,
        reconnect_max_s: int = 30,
        connect_timeout_s: float = 5.0,
    ) -> None:
        prefix = config.topic_prefix.strip("/")
        if not prefix or _TOPIC_SPECIAL & set(prefix.replace("/", "")):
            raise ValueError(
                f"MQTT topic prefix {config.topic_prefix!r} is not usable; it must "
                "be non-empty and contain no '+', '#' or NUL (e.g. 'watchfloor' or "
                "'site1/watchfloor')"
            )
        self.config = config
        self.prefix = prefix
        self.broker = f"{config.host}:{config.port}"
        self._bus = bus
        self._queue_size = queue_size
        self._reconnect_max_s = max(1, reconnect_max_s)
        self._connect_timeout_s = connect_timeout_s
        self._stats = MqttStats()
        self._stats_lock = threading.Lock()
        # Message ids handed to the client and not yet acknowledged, each with
        # whether it counts in the stats (availability messages do not), and
        # ids whose acknowledgement came before publish() had returned.
        self._unacked: dict[int, bool] = {}
        self._acked_early: set[int] = set()
        self._subscription: Subscription | None = None
        self._thread: threading.Thread | None = None
        self._client: mqtt.Client | None = None
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._outage_logged = False
        self._queue_full_logged = False

    @property
    def alerts_topic(self) -> str:
        """Where alerts go."""
        return f"{self.prefix}/alerts"

    @property
    def availability_topic(self) -> str:
        """Where ``online`` / ``offline`` goes."""
        return f"{self.prefix}/availability"

    def camera_topic(self, camera: str) -> str:
        """Where ``camera``'s status goes."""
        return f"{self.prefix}/cameras/{camera}/status"

    @property
    def connected(self) -> bool:
        """Whether the client is connected to the broker now."""
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a connection; True once connected."""
        return self._connected.wait(timeout)

    @property
    def stats(self) -> MqttStats:
        """A copy of the counters."""
        with self._stats_lock:
            stats = MqttStats(**vars(self._stats))
        if self._subscription is not None:
            stats.dropped += self._subscription.dropped
        return stats

    def start(self) -> None:
        """Connect in the background and start publishing.

        Returns at once: an unreachable broker is logged and retried, and
        messages wait for it meanwhile.

        Raises:
            RuntimeError: The notifier is already running.
        """
        if self._thread is not None:
            raise RuntimeError(f"MQTT notifier for {self.broker} is already running")
        self._stopping.clear()
        self._outage_logged = False
        with self._stats_lock:
            self._unacked.clear()
            self._acked_early.clear()
        self._client = self._make_client()
        self._client.connect_async(
            self.config.host, self.config.port, keepalive=_KEEPALIVE_S
        )
        self._client.loop_start()
        self._subscription = self._bus.subscribe(
            {"alert", "camera"}, maxsize=self._queue_size
        )
        self._thread = threading.Thread(
            target=self._run,
            args=(self._subscription,),
            name=f"mqtt {self.broker}",
            daemon=True,
        )
        self._thread.start()
        log.info(
            "publishing alerts and camera status to MQTT broker %s under '%s/'",
            self.broker,
            self.prefix,
        )

    def stop(self, timeout: float = 5.0) -> None:
        """Stop publishing, send what is waiting (up to ``timeout`` s), disconnect.

        Args:
            timeout: Most seconds to wait for the broker to acknowledge the
                messages already handed to the client.
        """
        self._stopping.set()
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            subscription.close()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if subscription is not None:
            with self._stats_lock:
                self._stats.dropped += subscription.dropped

        client, self._client = self._client, None
        if client is None:
            return
        if self._connected.is_set():
            self._send(client, self.availability_topic, "offline", counted=False)
            deadline = time.monotonic() + timeout
            while self._pending() > 0 and time.monotonic() < deadline:
                time.sleep(0.02)
        waiting = self._pending()
        if waiting > 0:
            log.warning(
                "MQTT broker %s: %d message(s) not acknowledged at stop; they "
                "may be lost",
                self.broker,
                waiting,
            )
        client.disconnect()
        client.loop_stop()
        self._connected.clear()

    def publish(self, message: Message) -> bool:
        """Hand one bus message to the client; True when it was accepted.

        Never waits for the broker. Messages of other topics are ignored.
        """
        client = self._client
        if client is None:
            raise RuntimeError(f"MQTT notifier for {self.broker} is not started")
        target = self._target(message)
        if target is None:
            return False
        topic, retain = target
        payload = to_json(message.payload)
        info = self._send(client, topic, payload, retain=retain)
        if info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            self._queue_full_logged = False
            return True
        with self._stats_lock:
            self._stats.failed += 1
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            if not self._queue_full_logged:
                log.warning(
                    "MQTT broker %s: %d messages already wait for it; further "
                    "alerts and camera status are dropped until it is back",
                    self.broker,
                    self._queue_size,
                )
                self._queue_full_logged = True
        else:
            log.warning(
                "MQTT broker %s: publishing to %s failed: %s",
                self.broker,
                topic,
                mqtt.error_string(info.rc),
            )
        return False

    def _target(self, message: Message) -> tuple[str, bool] | None:
        if message.topic == "alert":
            return self.alerts_topic, False
        if message.topic == "camera":
            camera = message.payload.get("camera")
            if (
                not isinstance(camera, str)
                or not camera
                or _TOPIC_SPECIAL & set(camera)
            ):
                log.warning(
                    "camera status with camera %r not published to MQTT: a camera "
                    "name must be non-empty without '/', '+' or '#'",
                    camera,
                )
                with self._stats_lock:
                    self._stats.failed += 1
                return None
            return self.camera_topic(camera), True
        return None

    def _send(
        self,
        client: mqtt.Client,
        topic: str,
        payload: str,
        *,
        retain: bool = True,
        counted: bool = True,
    ) -> mqtt.MQTTMessageInfo:
        info = client.publish(topic, payload, qos=_QOS, retain=retain)
        # With QoS 1, NO_CONN still keeps the message for the reconnection.
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            return info
        with self._stats_lock:
            if counted:
                self._stats.queued += 1
            if info.mid in self._acked_early:
                self._acked_early.discard(info.mid)
                if counted:
                    self._stats.published += 1
            else:
                self._unacked[info.mid] = counted
        return info

    def _pending(self) -> int:
        with self._stats_lock:
            return len(self._unacked)

    def _run(self, subscription: Subscription) -> None:
        while not self._stopping.is_set():
            message = subscription.get(timeout=_POLL_S)
            if message is None:
                continue
            try:
                self.publish(message)
            except Exception:  # the publisher must outlive any one message
                log.exception(
                    "MQTT broker %s: publishing a %s message failed unexpectedly",
                    self.broker,
                    message.topic,
                )
                with self._stats_lock:
                    self._stats.failed += 1

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"watchfloor-{uuid.uuid4().hex[:12]}",
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        if self.config.username is not None:
            client.username_pw_set(self.config.username, self.config.password)
        client.reconnect_delay_set(1, self._reconnect_max_s)
        client.max_queued_messages_set(self._queue_size)
        client.connect_timeout = self._connect_timeout_s
        client.will_set(self.availability_topic, "offline", qos=_QOS, retain=True)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        return client

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason_code: Any,
        properties: Any,
    ) -> None:
        if reason_code.is_failure:
            if not self._outage_logged:
                log.error(
                    "MQTT broker %s refused the connection: %s (check the "
                    "username and password); retrying in the background",
                    self.broker,
                    reason_code,
                )
                self._outage_logged = True
            return
        log.info("connected to MQTT broker %s", self.broker)
        self._outage_logged = False
        self._connected.set()
        self._send(client, self.availability_topic, "online", counted=False)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        if self._outage_logged:
            log.debug("MQTT broker %s still unreachable", self.broker)
            return
        log.warning(
            "MQTT broker %s is unreachable; retrying in the background (every %d s "
            "at most), up to %d messages wait for it meanwhile",
            self.broker,
            self._reconnect_max_s,
            self._queue_size,
        )
        self._outage_logged = True

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason_code: Any,
        properties: Any,
    ) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        if was_connected and not self._stopping.is_set():
            log.warning(
                "lost the connection to MQTT broker %s (%s); reconnecting",
                self.broker,
                reason_code,
            )

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_code: Any,
        properties: Any,
    ) -> None:
        with self._stats_lock:
            counted = self._unacked.pop(mid, None)
            if counted is None:
                self._acked_early.add(mid)
            elif counted:
                self._stats.published += 1
