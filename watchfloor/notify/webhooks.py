"""Webhooks: alerts POSTed as HMAC-signed JSON to HTTP endpoints, with retries.

Each webhook gets its own bus subscription, its own thread and its own HTTP
client, so an endpoint that is slow or down delays nobody but itself.

The request body is the JSON of ``{"type": "alert", "alert": <the alert as the
API shows it>}``, UTF-8. Headers:

- ``X-Watchfloor-Event``: ``alert.<change>``, e.g. ``alert.raised``,
  ``alert.ended`` or ``alert.clip``.
- ``X-Watchfloor-Delivery``: an id for this delivery, the same on every retry
  of it, so a receiver can drop a duplicate.
- ``X-Watchfloor-Attempt``: 1 on the first try, 2 on the first retry, ...
- ``X-Watchfloor-Signature``: ``sha256=<hex HMAC-SHA256 of the body bytes>``
  keyed with the webhook's secret, when it has one; check it with
  :func:`verify_signature` (or the same three lines in any language).

A delivery is retried, with exponential backoff, after a connection failure, a
time-out, an HTTP 5xx or an HTTP 429 (waiting at least its ``Retry-After``, in
seconds, within the backoff cap); any other answer that is not 2xx (a 4xx says
the request itself is wrong, a 3xx is not followed) fails the delivery at once.

Limitations:
    Deliveries live in memory: alerts waiting for a webhook when the process
    stops, or beyond a webhook's queue (``queue_size``; the oldest go first
    and are counted as dropped), are not delivered later. The signature covers
    the body only, not a time stamp, so it does not by itself stop a replayed
    request; the delivery id lets a receiver refuse repeats. ``timeout_s``
    bounds each network step (connect, send, each read), not a whole attempt.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from watchfloor import __version__
from watchfloor.bus import Bus, Subscription
from watchfloor.config import WebhookConfig, redact
from watchfloor.notify.payloads import to_json

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Watchfloor-Signature"
EVENT_HEADER = "X-Watchfloor-Event"
DELIVERY_HEADER = "X-Watchfloor-Delivery"
ATTEMPT_HEADER = "X-Watchfloor-Attempt"
_SIGNATURE_SCHEME = "sha256="
# How often an idle sender looks whether it was asked to stop.
_POLL_S = 1.0


def sign(body: bytes, secret: str) -> str:
    """The ``X-Watchfloor-Signature`` header value for ``body``.

    Example:
        >>> sign(b'{"type":"alert"}', "s3cret")[:7]
        'sha256='
    """
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return _SIGNATURE_SCHEME + digest


def verify_signature(body: bytes, header: str | None, secret: str) -> bool:
    """Whether ``header`` is the right signature of ``body`` for ``secret``.

    For receivers of Watchfloor webhooks. ``body`` must be the request body
    exactly as received (before any JSON parsing). The comparison takes the
    same time wherever the first wrong character is.

    Args:
        body: The raw request body.
        header: The ``X-Watchfloor-Signature`` header, or None when absent.
        secret: The webhook's shared secret.

    Returns:
        True when the header is ``sha256=`` followed by the hex HMAC-SHA256 of
        ``body`` keyed with ``secret`` (hex in either case).

    Example:
        >>> body = b'{"type":"alert","alert":{"id":1}}'
        >>> verify_signature(body, sign(body, "s3cret"), "s3cret")
        True
        >>> verify_signature(body, sign(body, "other"), "s3cret")
        False
    """
    if not header:
        return False
    expected = sign(body, secret).encode("ascii")
    given = header.strip().lower().encode("utf-8", errors="replace")
    return hmac.compare_digest(expected, given)


def encode_body(alert: dict[str, Any]) -> bytes:
    """The request body for one alert: compact JSON, UTF-8."""
    return to_json({"type": "alert", "alert": alert}).encode("utf-8")


def safe_url(url: str) -> str:
    """``url`` fit for a log: no password, no query string (tokens hide there).

    Example:
        >>> safe_url("https://bot:pw@hooks.example.com/in?token=abc")
        'https://bot:***@hooks.example.com/in?***'
    """
    parts = urlsplit(redact(url))
    query = "***" if parts.query else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def backoff_delay(attempt: int, base_s: float, max_s: float) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, ...).

    Example:
        >>> [backoff_delay(n, 1.0, 5.0) for n in range(1, 6)]
        [1.0, 2.0, 4.0, 5.0, 5.0]
    """
    # The exponent is capped so that a large attempt count cannot overflow.
    return float(min(base_s * 2 ** min(attempt - 1, 32), max_s))


@dataclass
class DeliveryStats:
    """What a webhook sender (or all of them) did since it started.

    Attributes:
        delivered: Alerts the endpoint accepted (HTTP 2xx).
        failed: Alerts given up on: refused with a 4xx/3xx, or still failing
            after the last attempt, or cut short by stop.
        retried: Attempts that were repeated after a retriable failure.
        dropped: Alerts lost because the sender's queue was full.
        unsent: Alerts still queued when the sender stopped.
    """

    delivered: int = 0
    failed: int = 0
    retried: int = 0
    dropped: int = 0
    unsent: int = 0

    def __add__(self, other: DeliveryStats) -> DeliveryStats:
        return DeliveryStats(
            self.delivered + other.delivered,
            self.failed + other.failed,
            self.retried + other.retried,
            self.dropped + other.dropped,
            self.unsent + other.unsent,
        )


@dataclass(frozen=True)
class _Outcome:
    delivered: bool
    retriable: bool
    reason: str
    retry_after_s: float | None = None


class WebhookSender:
    """Delivers alerts from one bus subscription to one webhook, on its thread.

    Args:
        config: The webhook.
        bus: Where the alerts come from.
        backoff_base_s: Wait after the first failed attempt; doubles after each.
        backoff_max_s: Longest wait between two attempts.
        queue_size: Alerts that may wait for this webhook; beyond it the oldest
            are dropped (counted in ``stats.dropped``).

    Raises:
        ValueError: The URL is not an absolute http:// or https:// URL.
    """

    def __init__(
        self,
        config: WebhookConfig,
        bus: Bus,
        *,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 60.0,
        queue_size: int = 1000,
    ) -> None:
        parts = urlsplit(config.url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"webhook URL {safe_url(config.url)!r} is not usable; it must be an "
                "absolute http:// or https:// URL with a host"
            )
        if backoff_base_s <= 0 or backoff_max_s < backoff_base_s:
            raise ValueError(
                f"webhook backoff of {backoff_base_s} s up to {backoff_max_s} s is "
                "not usable; the base must be positive and at most the maximum"
            )
        self.config = config
        self.url = safe_url(config.url)
        self._bus = bus
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._queue_size = queue_size
        self._stats = DeliveryStats()
        self._subscription: Subscription | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._failing = False

    @property
    def stats(self) -> DeliveryStats:
        """A copy of this sender's counters."""
        stats = self._stats
        dropped = stats.dropped
        if self._subscription is not None:
            dropped += self._subscription.dropped
        return DeliveryStats(
            stats.delivered, stats.failed, stats.retried, dropped, stats.unsent
        )

    @property
    def running(self) -> bool:
        """Whether the sender's thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Subscribe to alerts and start delivering them.

        Raises:
            RuntimeError: The sender is already running.
        """
        if self.running:
            raise RuntimeError(f"webhook sender for {self.url} is already running")
        # A new event per run: a thread left over from a stop that timed out
        # keeps its own, set, event and ends.
        self._stopping = threading.Event()
        self._subscription = self._bus.subscribe({"alert"}, maxsize=self._queue_size)
        self._thread = threading.Thread(
            target=self._run,
            args=(self._subscription, self._stopping),
            name=f"webhook {self.url}",
            daemon=True,
        )
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the thread to stop, without waiting; :meth:`stop` waits."""
        self._stopping.set()

    def stop(self, timeout: float | None = None) -> None:
        """Stop taking alerts; wait for the attempt in flight, skip retries.

        Args:
            timeout: Most seconds to wait for the thread. Default: three
                times the webhook's ``timeout_s`` (connect, send, read) and
                one second more.
        """
        self._stopping.set()
        subscription = self._subscription
        if subscription is not None:
            subscription.close()
        if self._thread is not None:
            wait = self.config.timeout_s * 3 + 1 if timeout is None else timeout
            self._thread.join(wait)
            if self._thread.is_alive():
                log.warning(
                    "webhook %s: an attempt still runs after stop; it ends on its "
                    "own within its time-out",
                    self.url,
                )
            self._thread = None
        if subscription is not None:
            self._subscription = None
            self._stats.dropped += subscription.dropped
            unsent = _drain(subscription)
            self._stats.unsent += unsent
            if unsent:
                log.warning(
                    "webhook %s: %d alert(s) were still queued at stop and will "
                    "not be delivered",
                    self.url,
                    unsent,
                )

    def _run(self, subscription: Subscription, stopping: threading.Event) -> None:
        with httpx.Client(
            timeout=httpx.Timeout(self.config.timeout_s),
            headers={"User-Agent": f"watchfloor/{__version__}"},
            follow_redirects=False,
        ) as client:
            while not stopping.is_set():
                message = subscription.get(timeout=_POLL_S)
                if message is None or stopping.is_set():
                    # An alert taken after stop was asked is counted as unsent.
                    if message is not None:
                        self._stats.unsent += 1
                    continue
                try:
                    self.deliver(client, message.payload)
                except Exception:  # the sender must outlive any one alert
                    log.exception(
                        "webhook %s: delivering alert %s failed unexpectedly",
                        self.url,
                        message.payload.get("id"),
                    )
                    self._stats.failed += 1

    def deliver(self, client: httpx.Client, alert: dict[str, Any]) -> bool:
        """POST one alert, retrying as configured.

        Args:
            client: The HTTP client to send with.
            alert: The alert as the API shows it (a bus ``alert`` payload).

        Returns:
            True when the endpoint accepted the alert.
        """
        body = encode_body(alert)
        change = alert.get("change")
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: f"alert.{change}" if change else "alert",
            DELIVERY_HEADER: uuid.uuid4().hex,
        }
        if self.config.secret:
            headers[SIGNATURE_HEADER] = sign(body, self.config.secret)
        alert_id = alert.get("id")
        attempts = self.config.max_attempts

        for attempt in range(1, attempts + 1):
            headers[ATTEMPT_HEADER] = str(attempt)
            outcome = self._attempt(client, body, headers)
            if outcome.delivered:
                self._stats.delivered += 1
                if self._failing:
                    log.info("webhook %s accepts alerts again", self.url)
                    self._failing = False
                return True

            if not outcome.retriable:
                log.warning(
                    "webhook %s refused alert %s (%s); not retried, as only "
                    "connection failures, 5xx and 429 answers are",
                    self.url,
                    alert_id,
                    outcome.reason,
                )
                self._stats.failed += 1
                return False
            if attempt == attempts:
                break

            delay = backoff_delay(attempt, self._backoff_base_s, self._backoff_max_s)
            if outcome.retry_after_s is not None:
                delay = max(delay, min(outcome.retry_after_s, self._backoff_max_s))
            if not self._failing:
                log.warning(
                    "webhook %s failed for alert %s (%s); retrying with backoff, "
                    "up to %d attempts per alert",
                    self.url,
                    alert_id,
                    outcome.reason,
                    attempts,
                )
                self._failing = True
            else:
                log.debug(
                    "webhook %s: attempt %d of %d for alert %s failed (%s); next "
                    "in %.1f s",
                    self.url,
                    attempt,
                    attempts,
                    alert_id,
                    outcome.reason,
                    delay,
                )
            self._stats.retried += 1
            if self._stopping.wait(delay):
                log.warning(
                    "webhook %s: stopped while retrying alert %s; it is not delivered",
                    self.url,
                    alert_id,
                )
                self._stats.failed += 1
                return False

        self._failing = True
        log.warning(
            "webhook %s: gave up on alert %s after %d attempt(s); last failure: %s",
            self.url,
            alert_id,
            attempts,
            outcome.reason,
        )
        self._stats.failed += 1
        return False

    def _attempt(
        self, client: httpx.Client, body: bytes, headers: dict[str, str]
    ) -> _Outcome:
        try:
            response = client.post(self.config.url, content=body, headers=headers)
        except httpx.TransportError as exc:
            reason = redact(f"{type(exc).__name__}: {exc}".rstrip(": "))
            return _Outcome(delivered=False, retriable=True, reason=reason)
        status = response.status_code
        reason = f"HTTP {status} {response.reason_phrase}".rstrip()
        if 200 <= status < 300:
            return _Outcome(delivered=True, retriable=False, reason=reason)
        if status == 429 or status >= 500:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            return _Outcome(False, True, reason, retry_after)
        return _Outcome(delivered=False, retriable=False, reason=reason)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header; the HTTP-date form is ignored."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _drain(subscription: Subscription) -> int:
    count = 0
    while subscription.get(timeout=0) is not None:
        count += 1
    return count


class WebhookNotifier:
    """Pushes every alert on the bus to each configured webhook.

    Each webhook has its own :class:`WebhookSender` (subscription, thread,
    retries), so a dead endpoint does not delay the others.

    Args:
        configs: The webhooks; may be empty.
        bus: Where the alerts come from (topic ``alert``).
        backoff_base_s: Wait after a first failed attempt; doubles after each.
        backoff_max_s: Longest wait between two attempts.
        queue_size: Alerts that may wait per webhook before the oldest drop.

    Example:
        >>> notifier = WebhookNotifier([], Bus())
        >>> notifier.start()
        >>> notifier.stop()
        >>> notifier.stats.delivered
        0
    """

    def __init__(
        self,
        configs: list[WebhookConfig],
        bus: Bus,
        *,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 60.0,
        queue_size: int = 1000,
    ) -> None:
        self.senders = [
            WebhookSender(
                config,
                bus,
                backoff_base_s=backoff_base_s,
                backoff_max_s=backoff_max_s,
                queue_size=queue_size,
            )
            for config in configs
        ]

    @property
    def stats(self) -> DeliveryStats:
        """All webhooks' counters added up; each sender has its own ``stats``."""
        total = DeliveryStats()
        for sender in self.senders:
            total = total + sender.stats
        return total

    def start(self) -> None:
        """Start one sender thread per webhook."""
        for sender in self.senders:
            sender.start()
        if self.senders:
            log.info(
                "pushing alerts to %d webhook(s): %s",
                len(self.senders),
                ", ".join(sender.url for sender in self.senders),
            )

    def stop(self, timeout: float | None = None) -> None:
        """Stop every sender (all at once, then wait for each)."""
        for sender in self.senders:
            sender.request_stop()
        for sender in self.senders:
            sender.stop(timeout)
