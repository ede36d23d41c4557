"""Webhooks against a real local HTTP server: signing, retries, isolation."""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import free_port
from tests.notify.conftest import Receiver
from watchfloor.bus import Bus
from watchfloor.config import NotificationSettings, WebhookConfig
from watchfloor.notify import start_notifiers
from watchfloor.notify.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    WebhookNotifier,
    backoff_delay,
    encode_body,
    safe_url,
    sign,
    verify_signature,
)

BASE_S = 0.05


def alert(alert_id: int = 7, change: str = "raised") -> dict[str, Any]:
    return {
        "id": alert_id,
        "camera": "gate",
        "rule": "dock-after-hours",
        "status": "open",
        "start": "2024-05-01T22:14:03.120000+00:00",
        "label": "person",
        "change": change,
    }


@pytest.fixture
def bus() -> Bus:
    return Bus()


@pytest.fixture
def notifiers() -> Iterator[list[WebhookNotifier]]:
    """Notifiers made by a test; stopped at its end whatever happened."""
    made: list[WebhookNotifier] = []
    yield made
    for notifier in made:
        notifier.stop(timeout=5)


def start(
    made: list[WebhookNotifier], bus: Bus, *configs: WebhookConfig
) -> WebhookNotifier:
    notifier = WebhookNotifier(
        list(configs), bus, backoff_base_s=BASE_S, backoff_max_s=1.0
    )
    notifier.start()
    made.append(notifier)
    return notifier


def wait_until(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return bool(condition())


# Signing, as a receiver checks it.


@pytest.mark.parametrize(
    ("body", "header", "secret", "valid"),
    [
        (b'{"a":1}', sign(b'{"a":1}', "k"), "k", True),
        (
            b'{"a":1}',
            sign(b'{"a":1}', "k").upper().replace("SHA256", "sha256"),
            "k",
            True,
        ),
        (b'{"a":1}', " " + sign(b'{"a":1}', "k") + " ", "k", True),
        (b'{"a":1}', sign(b'{"a":1}', "k"), "other", False),
        (b'{"a":2}', sign(b'{"a":1}', "k"), "k", False),
        (b'{"a":1} ', sign(b'{"a":1}', "k"), "k", False),
        (b'{"a":1}', sign(b'{"a":1}', "k").removeprefix("sha256="), "k", False),
        (b'{"a":1}', "sha1=" + sign(b'{"a":1}', "k")[7:], "k", False),
        (b'{"a":1}', "", "k", False),
        (b'{"a":1}', None, "k", False),
        (b'{"a":1}', "sha256=\u00e9", "k", False),
    ],
)
def test_verify_signature(
    body: bytes, header: str | None, secret: str, valid: bool
) -> None:
    assert verify_signature(body, header, secret) is valid


def test_signature_is_the_known_hmac_sha256() -> None:
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert sign(b"what do ya want for nothing?", "Jefe") == "sha256=" + expected


@pytest.mark.parametrize(
    ("attempt", "delay"), [(1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (60, 3.0)]
)
def test_backoff_doubles_up_to_its_cap(attempt: int, delay: float) -> None:
    assert backoff_delay(attempt, 0.5, 3.0) == delay


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example.com/in", "https://hooks.example.com/in"),
        ("https://u:pw@hooks.example.com/in", "https://u:***@hooks.example.com/in"),
        ("https://hooks.example.com/in?token=abc", "https://hooks.example.com/in?***"),
    ],
)
def test_safe_url_hides_passwords_and_tokens(url: str, shown: str) -> None:
    assert safe_url(url) == shown


@pytest.mark.parametrize("url", ["ftp://example.com/x", "/hook", "http:///x"])
def test_unusable_url_is_refused_with_a_reason(url: str, bus: Bus) -> None:
    with pytest.raises(ValueError, match="absolute http:// or https:// URL"):
        WebhookNotifier([WebhookConfig(url=url)], bus)


# Delivery against a real HTTP server.


def test_alert_is_delivered_signed(
    receiver: Receiver, bus: Bus, notifiers: list[WebhookNotifier]
) -> None:
    notifier = start(notifiers, bus, WebhookConfig(url=receiver.url, secret="s3cret"))

    bus.publish("alert", alert())
    (got,) = receiver.wait_for(1, timeout=5)

    assert got.path == "/hook"
    assert json.loads(got.body) == {"type": "alert", "alert": alert()}
    assert got.body == encode_body(alert())
    assert verify_signature(got.body, got.headers[SIGNATURE_HEADER], "s3cret")
    assert not verify_signature(got.body, got.headers[SIGNATURE_HEADER], "guess")
    assert got.headers[EVENT_HEADER] == "alert.raised"
    assert len(got.headers[DELIVERY_HEADER]) == 32
    assert got.headers["Content-Type"] == "application/json"
    assert wait_until(lambda: notifier.stats.delivered == 1, 2)
    assert notifier.stats.failed == 0


def test_alert_without_secret_is_unsigned(
    receiver: Receiver, bus: Bus, notifiers: list[WebhookNotifier]
) -> None:
    start(notifiers, bus, WebhookConfig(url=receiver.url))
    bus.publish("alert", alert(change="ended"))
    (got,) = receiver.wait_for(1, timeout=5)
    assert SIGNATURE_HEADER not in got.headers
    assert got.headers[EVENT_HEADER] == "alert.ended"


def test_only_alerts_are_sent_in_order(
    receiver: Receiver, bus: Bus, notifiers: list[WebhookNotifier]
) -> None:
    start(notifiers, bus, WebhookConfig(url=receiver.url))
    bus.publish("camera", {"camera": "gate", "state": "online"})
    for alert_id in range(1, 6):
        bus.publish("alert", alert(alert_id))
    got = receiver.wait_for(5, timeout=5)
    time.sleep(0.1)
    assert len(receiver.requests) == 5
    assert [json.loads(r.body)["alert"]["id"] for r in got] == [1, 2, 3, 4, 5]
    assert len({r.headers[DELIVERY_HEADER] for r in got}) == 5


@pytest.mark.parametrize("status", [500, 503, 429])
def test_retriable_answer_is_retried_then_delivered(
    status: int, receiver: Receiver, bus: Bus, notifiers: list[WebhookNotifier]
) -> None:
    receiver.answers = [status]
    notifier = start(
        notifiers, bus, WebhookConfig(url=receiver.url, secret="k", max_attempts=3)
    )

    bus.publish("alert", alert())
    first, second = receiver.wait_for(2, timeout=5)

    assert first.body == second.body
    assert first.headers[DELIVERY_HEADER] == second.headers[DELIVERY_HEADER]
    assert [
        first.headers["X-Watchfloor-Attempt"],
        second.headers["X-Watchfloor-Attempt"],
    ] == ["1", "2"]
    assert verify_signature(second.body, second.headers[SIGNATURE_HEADER], "k")
    assert second.at - first.at >= BASE_S * 0.9
    assert wait_until(lambda: notifier.stats.delivered == 1, 2)
    assert notifier.stats.retried == 1
    assert notifier.stats.failed == 0


def test_gives_up_after_max_attempts_with_growing_waits(
    receiver: Receiver,
    bus: Bus,
    notifiers: list[WebhookNotifier],
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver.default = 500
    notifier = start(notifiers, bus, WebhookConfig(url=receiver.url, max_attempts=4))

    with caplog.at_level(logging.WARNING, logger="watchfloor.notify.webhooks"):
        bus.publish("alert", alert(11))
        got = receiver.wait_for(4, timeout=5)
        assert wait_until(lambda: notifier.stats.failed == 1, 2)
    time.sleep(4 * BASE_S * 2)

    assert len(receiver.requests) == 4
    gaps = [b.at - a.at for a, b in itertools.pairwise(got)]
    # Waits of 0.05, 0.1 and 0.2 s: each at least its backoff, and growing.
    for gap, wait in zip(gaps, [BASE_S, 2 * BASE_S, 4 * BASE_S], strict=True):
        assert gap >= wait * 0.9
    assert gaps[2] > gaps[0]
    assert notifier.stats.delivered == 0
    assert notifier.stats.retried == 3
    assert "gave up on alert 11 after 4 attempt(s)" in caplog.text
    assert "HTTP 500" in caplog.text


@pytest.mark.parametrize("status", [400, 401, 404, 301])
def test_client_error_is_not_retried(
    status: int, receiver: Receiver, bus: Bus, notifiers: list[WebhookNotifier]
) -> None:
    receiver.answers = [status]
    receiver.extra_headers = {"Location": "/elsewhere"}
    notifier = start(notifiers, bus, WebhookConfig(url=receiver.url, max_attempts=5))

    bus.publish("alert", alert())
    receiver.wait_for(1, timeout=5)
    assert wait_until(lambda: notifier.stats.failed == 1, 2)
    time.sleep(BASE_S * 6)

    assert len(receiver.requests) == 1
    assert notifier.stats.retried == 0
    assert notifier.stats.delivered == 0


def test_retry_after_is_honoured(
    receiver: Receiver, bus: Bus, notifiers: list[WebhookNotifier]
) -> None:
    receiver.answers = [429]
    receiver.extra_headers = {"Retry-After": "0.4"}
    start(notifiers, bus, WebhookConfig(url=receiver.url))

    bus.publish("alert", alert())
    first, second = receiver.wait_for(2, timeout=5)
    assert second.at - first.at >= 0.35


def test_connection_refused_is_retried_and_logged_without_password(
    bus: Bus, notifiers: list[WebhookNotifier], caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://hook:pa55word@127.0.0.1:{free_port()}/in?token=t0ken"
    notifier = start(notifiers, bus, WebhookConfig(url=url, max_attempts=3))

    with caplog.at_level(logging.DEBUG, logger="watchfloor.notify.webhooks"):
        bus.publish("alert", alert(5))
        assert wait_until(lambda: notifier.stats.failed == 1, 5)

    assert notifier.stats.retried == 2
    assert "gave up on alert 5 after 3 attempt(s)" in caplog.text
    assert "ConnectError" in caplog.text
    assert "hook:***@127.0.0.1" in caplog.text
    assert "pa55word" not in caplog.text
    assert "t0ken" not in caplog.text


def test_dead_endpoint_does_not_delay_another(
    receiver: Receiver, black_hole: str, bus: Bus, notifiers: list[WebhookNotifier]
) -> None:
    dead = WebhookConfig(url=black_hole, timeout_s=2.0, max_attempts=3)
    refused = WebhookConfig(url=f"http://127.0.0.1:{free_port()}/x", max_attempts=9)
    live = WebhookConfig(url=receiver.url, secret="k")
    notifier = start(notifiers, bus, dead, refused, live)

    published = time.monotonic()
    for alert_id in range(1, 11):
        bus.publish("alert", alert(alert_id))
    got = receiver.wait_for(10, timeout=5)

    # The dead endpoint holds each attempt for 2 s; the live one must not wait.
    assert got[-1].at - published < 1.0
    assert [json.loads(r.body)["alert"]["id"] for r in got] == list(range(1, 11))
    dead_sender, refused_sender, live_sender = notifier.senders
    assert wait_until(lambda: live_sender.stats.delivered == 10, 2)
    assert dead_sender.stats.delivered == 0
    assert refused_sender.stats.delivered == 0


def test_stop_cuts_a_retry_wait_short(
    receiver: Receiver, bus: Bus, notifiers: list[WebhookNotifier]
) -> None:
    receiver.default = 503
    notifier = WebhookNotifier(
        [WebhookConfig(url=receiver.url, max_attempts=10)], bus, backoff_base_s=30.0
    )
    notifier.start()
    notifiers.append(notifier)
    bus.publish("alert", alert(1))
    receiver.wait_for(1, timeout=5)
    assert wait_until(lambda: notifier.stats.retried == 1, 2)
    bus.publish("alert", alert(2))

    began = time.monotonic()
    notifier.stop()
    assert time.monotonic() - began < 1.0
    assert not notifier.senders[0].running
    assert len(receiver.requests) == 1
    assert notifier.stats.failed == 1
    assert notifier.stats.unsent == 1


def test_start_notifiers_delivers_and_stops(receiver: Receiver, bus: Bus) -> None:
    settings = NotificationSettings(webhooks=[WebhookConfig(url=receiver.url)])
    with start_notifiers(settings, bus, backoff_base_s=BASE_S) as notifiers:
        assert len(notifiers) == 1
        bus.publish("alert", alert())
        receiver.wait_for(1, timeout=5)
    assert notifiers == []
    bus.publish("alert", alert(8))
    time.sleep(0.2)
    assert len(receiver.requests) == 1
