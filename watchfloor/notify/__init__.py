"""Pushing alerts and camera status to other systems: webhooks and MQTT.

Every notifier reads the bus through its own subscription, on its own
threads, so a slow or unreachable receiver never delays the pipeline.

Example:
    >>> from watchfloor.bus import Bus
    >>> from watchfloor.config import NotificationSettings
    >>> notifiers = start_notifiers(NotificationSettings(), Bus())
    >>> len(notifiers)
    0
    >>> notifiers.stop()
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Protocol

from watchfloor.bus import Bus
from watchfloor.config import NotificationSettings
from watchfloor.notify.webhooks import (
    DeliveryStats,
    WebhookNotifier,
    WebhookSender,
    sign,
    verify_signature,
)

log = logging.getLogger(__name__)

__all__ = [
    "DeliveryStats",
    "Notifier",
    "Notifiers",
    "WebhookNotifier",
    "WebhookSender",
    "sign",
    "start_notifiers",
    "verify_signature",
]


class Notifier(Protocol):
    """What every notifier offers."""

    def start(self) -> None:
        """Start pushing, in the background."""

    def stop(self) -> None:
        """Stop pushing and release the connection."""


class Notifiers(list[Notifier]):
    """The running notifiers of a site; :meth:`stop` stops them all.

    Also a context manager that stops them on exit.
    """

    def stop(self) -> None:
        """Stop every notifier, the last started first; errors are logged."""
        for notifier in reversed(self):
            try:
                notifier.stop()
            except Exception:  # one failing stop must not keep others running
                log.exception("stopping %s failed", type(notifier).__name__)
        self.clear()

    def __enter__(self) -> Notifiers:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_notifiers(
    settings: NotificationSettings, bus: Bus, *, backoff_base_s: float = 1.0
) -> Notifiers:
    """Start the webhook and MQTT notifiers that ``settings`` asks for.

    Args:
        settings: The site's ``notifications`` section.
        bus: Where alerts and camera status come from.
        backoff_base_s: First wait before a webhook delivery is retried.

    Returns:
        The started notifiers (none when nothing is configured); call
        ``stop()`` on it at shutdown.
    """
    notifiers = Notifiers()
    try:
        if settings.webhooks:
            webhooks = WebhookNotifier(
                settings.webhooks, bus, backoff_base_s=backoff_base_s
            )
            webhooks.start()
            notifiers.append(webhooks)
        if settings.mqtt is not None:
            # Imported here so that a site without MQTT does not need paho-mqtt.
            from watchfloor.notify.mqtt import MqttNotifier

            mqtt = MqttNotifier(settings.mqtt, bus)
            mqtt.start()
            notifiers.append(mqtt)
    except BaseException:
        notifiers.stop()
        raise
    return notifiers
