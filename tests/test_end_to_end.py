"""End to end: a person walks onto a restricted lawn in real footage served live.

Thirteen seconds of the PETS 2009 footage (video frames 400 to 525: the
ground truth's person 4 walks into the picture onto the lawn at frame 506 and
is still on it when the piece ends; nobody else sets foot on it) are made into
an H.264 MP4 and served as camera "plaza" by the camera simulator in a process
of its own, over RTSP. The engine
and the API run in this process as ``watchfloor run`` runs them, with the demo
site's lawn zone and rule, a webhook to a real local HTTP server, MQTT to the
machine's Mosquitto and a WebSocket client on ``/api/live``.

The simulator loops the piece, so the person walks on again in every pass.
Each analysed frame is placed in the piece by its exact picture (H.264
decoding is exact, and every step from the file to the engine copies the
stream), so the test knows which frames belong to the first pass and which
frame each alert started on; only first-pass alerts are counted. The person
vanishes when the piece restarts, which ends the alert and gets its clip cut.
"""

from __future__ import annotations

import contextlib
import json
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import av
import cv2
import httpx
import numpy as np
import pytest

from tests.conftest import SimulatorProcess, free_port
from tests.e2e_helpers import (
    AnalysedFrame,
    ApiServer,
    Delivery,
    FrameProbe,
    LiveListener,
    LiveMessage,
    MqttListener,
    WebhookReceiver,
    ZoneVisit,
    broker_reachable,
    make_video_piece,
    picture_digest,
    picture_digests,
    wait_for,
    zone_visits,
)
from watchfloor.api.app import create_app
from watchfloor.bus import Bus, Message
from watchfloor.config import SiteConfig, parse_site
from watchfloor.demo import DEMO_SITE
from watchfloor.engine import Engine
from watchfloor.incidents.evidence import verify_zip
from watchfloor.models.database import Database
from watchfloor.notify import verify_signature
from watchfloor.notify.webhooks import SIGNATURE_HEADER
from watchfloor.rules.evaluator import RuleSet
from watchfloor.rules.geometry import contains
from watchfloor.rules.store import current_rule_set

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

CAMERA = "plaza"
PIECE = (400, 525)  # video frames, inclusive: 12.6 s at 10 fps
PICTURE_SIZE = (768, 576)
PIECE_FPS = 10
PRE_ROLL_S = POST_ROLL_S = 2.0
SECRET = "end-to-end-webhook-secret"
MQTT_BROKER = ("127.0.0.1", 1883)
# From the engine's start: stream set-up, 13 s of footage, the track's lost
# buffer, the post-roll and a segment; several times what it takes.
RUN_LIMIT_S = 60.0
# How long notifications may trail the clip message before the test gives up.
PUSH_LIMIT_S = 5.0


@dataclass
class Outcome:
    """What one live run of the scene produced, gathered before shutting down."""

    visit: ZoneVisit
    piece_frames: int
    frames: list[AnalysedFrame]
    second_pass: datetime
    first_pass_alerts: list[dict[str, Any]]
    all_alerts: list[dict[str, Any]]
    published: list[Message]
    hello: dict[str, Any]
    live: list[LiveMessage]
    deliveries: list[Delivery]
    mqtt: list[tuple[str, bytes, float]] | None
    mqtt_topic: str
    snapshot: httpx.Response
    crop: httpx.Response
    clip: httpx.Response
    clip_head: httpx.Response
    clip_tail: httpx.Response
    clip_file: Path
    digests: list[bytes]
    escalated: dict[str, Any]
    evidence_file: Path
    report: httpx.Response

    @property
    def alert(self) -> dict[str, Any]:
        """The one first-pass alert."""
        assert len(self.first_pass_alerts) == 1, self.describe()
        return self.first_pass_alerts[0]

    def describe(self) -> str:
        """What the analysis saw and raised, for failure messages."""
        seen = " ".join(
            f"{f.piece_index}" if f.passes == 0 else f"{f.piece_index}'"
            for f in self.frames
        )
        alerts = [
            (a["id"], a["start"], a["end"], a["clip_state"]) for a in self.all_alerts
        ]
        return (
            f"analysed piece frames (' = second pass): {seen}\n"
            f"labelled entry: {self.visit}; alerts: {alerts}"
        )

    def published_at(self, alert_id: int, change: str) -> float:
        """When the pipeline published a change of an alert on the bus."""
        for message in self.published:
            payload = message.payload
            if payload.get("id") == alert_id and payload.get("change") == change:
                return message.published
        raise AssertionError(f"alert {alert_id} was never published as {change}")


def demo_site_with(**sections: Any) -> SiteConfig:
    """The demo site's lawn and rule, with the given sections replaced."""
    demo = parse_site(DEMO_SITE.format(camera=CAMERA, url="unused.mp4"))
    document = {
        "zones": [zone.model_dump() for zone in demo.zones],
        "rules": [rule.model_dump() for rule in demo.rules],
        **sections,
    }
    return SiteConfig.model_validate(document)


@pytest.fixture(scope="module")
def outcome(
    pets09_video: Path, test_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Outcome]:
    """Serve the piece live, run engine and API until the first alert's clip is cut."""
    folder = tmp_path_factory.mktemp("end-to-end")
    piece = make_video_piece(pets09_video, folder / f"{CAMERA}.mp4", *PIECE)
    digests = picture_digests(piece)
    lawn = parse_site(DEMO_SITE.format(camera=CAMERA, url="x.mp4")).zones[0]
    gt_file = test_data / "PETS09-S2L1" / "gt" / "gt.txt"
    visits = zone_visits(gt_file, lawn.polygon, PICTURE_SIZE, *PIECE)
    # The scene itself: exactly one labelled person enters the lawn, once.
    assert [v.person for v in visits] == [4], visits
    assert len(digests) == PIECE[1] - PIECE[0] + 1

    mqtt_topic = f"watchfloor-e2e-{uuid.uuid4().hex[:12]}"
    with contextlib.ExitStack() as stack:
        simulator = SimulatorProcess({CAMERA: piece}, free_port(), folder)
        simulator.start()
        stack.callback(simulator.stop)
        receiver = WebhookReceiver()
        receiver.start()
        stack.callback(receiver.stop)
        notifications: dict[str, Any] = {
            "webhooks": [{"url": receiver.url, "secret": SECRET}]
        }
        mqtt: MqttListener | None = None
        if broker_reachable(*MQTT_BROKER):
            mqtt = MqttListener(*MQTT_BROKER, f"{mqtt_topic}/alerts")
            stack.callback(mqtt.stop)
            host, port = MQTT_BROKER
            notifications["mqtt"] = {
                "host": host,
                "port": port,
                "topic_prefix": mqtt_topic,
            }
        site = demo_site_with(
            storage={"media": str(folder / "media")},
            recording={"segment_s": 2},
            cameras=[
                {
                    "name": CAMERA,
                    "url": simulator.url(CAMERA),
                    "fps": 5,
                    "detect": {"classes": ["person"]},
                }
            ],
            alerts={"pre_roll_s": PRE_ROLL_S, "post_roll_s": POST_ROLL_S},
            notifications=notifications,
        )

        db = Database.open(site.database_url)
        stack.callback(db.close)
        bus = Bus()
        feed = bus.subscribe({"alert"})
        engine = Engine(
            site, db, bus, rule_source=lambda: RuleSet(*current_rule_set(site, db))
        )
        probe = FrameProbe(digests)
        engine.analysis.sinks[CAMERA].append(probe)
        api = create_app(
            site, db, bus, statuses=engine.statuses, rules_changed=engine.reload_rules
        )
        server = ApiServer(api)
        server.start()
        stack.callback(server.stop)
        live = LiveListener(f"ws://127.0.0.1:{server.port}/api/live")
        hello = live.start()
        stack.callback(live.stop)
        engine.start()
        stack.callback(engine.stop)

        published: list[Message] = []

        def first_clip_cut() -> bool:
            while (message := feed.get(0)) is not None:
                published.append(message)
            raised = [
                m.payload["id"] for m in published if m.payload["change"] == "raised"
            ]
            clipped = {
                m.payload["id"] for m in published if m.payload["change"] == "clip"
            }
            return probe.restarted and bool(raised) and raised[0] in clipped

        assert wait_for(first_clip_cut, RUN_LIMIT_S), (
            f"no alert with a clip after {RUN_LIMIT_S} s; analysed "
            f"{len(probe.frames)} frames, restarted: {probe.restarted}; "
            f"bus: {[m.payload.get('change') for m in published]}\n{simulator.log}"
        )
        first = next(
            m.payload["id"] for m in published if m.payload["change"] == "raised"
        )

        def pushed() -> bool:
            got = {
                json.loads(d.body)["alert"]["change"]
                for d in receiver.deliveries
                if json.loads(d.body)["alert"]["id"] == first
            }
            return {"raised", "clip"} <= got and any(
                m.data["id"] == first for m in live.alerts("clip")
            )

        wait_for(pushed, PUSH_LIMIT_S)
        if mqtt is not None:
            mqtt_got: list[tuple[str, bytes, float]] | None = []
            assert mqtt_got is not None

            def mqtt_raised() -> bool:
                assert mqtt is not None and mqtt_got is not None
                mqtt_got.extend(mqtt.drain())
                return any(
                    json.loads(payload).get("change") == "raised"
                    for _, payload, _ in mqtt_got
                )

            wait_for(mqtt_raised, PUSH_LIMIT_S)
        else:
            mqtt_got = None

        frames = probe.snapshot()
        second_pass = next(f.time for f in frames if f.passes > 0)
        with httpx.Client(base_url=server.base, timeout=10) as client:
            listed = client.get(
                "/api/alerts",
                params={"camera": CAMERA, "until": second_pass.isoformat()},
            )
            assert listed.status_code == 200, listed.text
            everything = client.get("/api/alerts", params={"camera": CAMERA})
            first_pass_alerts = listed.json()["items"]
            alert_url = f"/api/alerts/{first}"
            snapshot = client.get(f"{alert_url}/snapshot")
            crop = client.get(f"{alert_url}/snapshot", params={"crop": "true"})
            clip = client.get(f"{alert_url}/clip")
            clip_head = client.get(
                f"{alert_url}/clip", headers={"Range": "bytes=0-1023"}
            )
            clip_tail = client.get(f"{alert_url}/clip", headers={"Range": "bytes=-500"})
            # The operator escalates the alert; the incident's evidence is
            # exported and its review report rendered.
            escalated = client.post(
                f"{alert_url}/escalate",
                json={"severity": "high", "note": "guard sent"},
                headers={"X-Watchfloor-Actor": "operator"},
            )
            assert escalated.status_code == 200, escalated.text
            incident_url = f"/api/incidents/{escalated.json()['incident']['id']}"
            export = client.get(f"{incident_url}/export", params={"by": "operator"})
            report = client.get(f"{incident_url}/report", params={"format": "html"})
        clip_file = folder / "fetched-clip.mp4"
        clip_file.write_bytes(clip.content)
        assert export.status_code == 200, export.text
        evidence_file = folder / "evidence.zip"
        evidence_file.write_bytes(export.content)
        deliveries = list(receiver.deliveries)
        live_messages = list(live.messages)

    yield Outcome(
        visit=visits[0],
        piece_frames=len(digests),
        frames=frames,
        second_pass=second_pass,
        first_pass_alerts=first_pass_alerts,
        all_alerts=everything.json()["items"],
        published=published,
        hello=hello,
        live=live_messages,
        deliveries=deliveries,
        mqtt=mqtt_got,
        mqtt_topic=mqtt_topic,
        snapshot=snapshot,
        crop=crop,
        clip=clip,
        clip_head=clip_head,
        clip_tail=clip_tail,
        clip_file=clip_file,
        digests=digests,
        escalated=escalated.json(),
        evidence_file=evidence_file,
        report=report,
    )


def alert_frame(outcome: Outcome) -> AnalysedFrame:
    """The analysed frame the alert started on."""
    start = datetime.fromisoformat(outcome.alert["start"])
    frame = next((f for f in outcome.frames if f.time == start), None)
    assert frame is not None, f"no analysed frame has the alert's start {start}"
    return frame


def test_one_person_on_the_lawn_raises_exactly_one_alert(outcome: Outcome) -> None:
    assert len(outcome.first_pass_alerts) == 1, outcome.describe()
    alert = outcome.alert
    assert alert["camera"] == CAMERA
    assert alert["rule"] == "keep-off-the-grass"
    assert alert["kind"] == "restricted_area"
    assert alert["zone"] == "lawn"
    assert alert["label"] == "person"
    assert alert["end"] is not None, "the person left with the restart; it ended"

    # It started on a first-pass frame while the labelled person was on the
    # lawn, at least the rule's dwell after they stepped on.
    frame = alert_frame(outcome)
    assert frame.passes == 0
    assert frame.piece_index is not None
    dwell_frames = 0.5 * PIECE_FPS
    assert outcome.visit.first + dwell_frames <= frame.piece_index
    assert frame.piece_index <= outcome.visit.last

    # Each analysed frame was placed in the piece: the pictures came through
    # the simulator, the RTSP stream and the decoder unchanged.
    assert all(f.piece_index is not None for f in outcome.frames)


def test_snapshot_and_crop_are_jpegs_of_the_frame_and_the_person(
    outcome: Outcome,
) -> None:
    alert = outcome.alert
    assert alert["snapshot_url"] == f"/api/alerts/{alert['id']}/snapshot"
    for response in (outcome.snapshot, outcome.crop):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/jpeg"
        assert response.content[:3] == b"\xff\xd8\xff"
    full = cv2.imdecode(np.frombuffer(outcome.snapshot.content, np.uint8), 1)
    crop = cv2.imdecode(np.frombuffer(outcome.crop.content, np.uint8), 1)
    assert full is not None and crop is not None, "a picture does not decode"
    assert full.shape == (PICTURE_SIZE[1], PICTURE_SIZE[0], 3)
    height, width = crop.shape[:2]
    assert 40 <= height < PICTURE_SIZE[1] and width < height, crop.shape


def test_clip_plays_and_covers_the_entry(outcome: Outcome) -> None:
    alert = next(a for a in outcome.all_alerts if a["id"] == outcome.alert["id"])
    assert alert["clip_state"] == "ready", alert
    assert alert["clip_error"] is None, "footage is missing from the clip"
    assert outcome.clip.status_code == 200
    assert outcome.clip.headers["content-type"] == "video/mp4"

    with av.open(str(outcome.clip_file)) as container:
        pictures = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    index = {digest: i for i, digest in enumerate(outcome.digests)}
    found = [index.get(picture_digest(p)) for p in pictures]
    placed = [i for i in found if i is not None]
    assert len(placed) == len(found), "the clip holds pictures not of the footage"

    # The clip is the footage, stream-copied without a gap, from the pre-roll
    # before the alert's frame to the post-roll after its end (past the
    # piece's restart, where the person vanished).
    n = outcome.piece_frames
    assert all(b == (a + 1) % n for a, b in pairwise(placed))
    start = datetime.fromisoformat(alert["start"])
    end = datetime.fromisoformat(alert["end"])
    span_s = (end - start).total_seconds() + PRE_ROLL_S + POST_ROLL_S
    assert len(placed) >= round(span_s * PIECE_FPS) - 2, (len(placed), span_s)
    alerted = alert_frame(outcome).piece_index
    assert alerted is not None
    pre_roll_frames = round(PRE_ROLL_S * PIECE_FPS)
    assert placed[0] <= alerted - pre_roll_frames + 1, (placed[0], alerted)
    assert placed[0] < outcome.visit.first, "the clip misses the step onto the lawn"
    assert placed.index(outcome.visit.first) < placed.index(alerted)


def test_the_alert_s_path_comes_from_outside_onto_the_lawn(outcome: Outcome) -> None:
    alert = next(a for a in outcome.all_alerts if a["id"] == outcome.alert["id"])
    path = alert["path"]
    # Before the alert, on the lawn, at its end: at least three points (how
    # many more depends on how many frames a loaded machine analyses).
    assert len(path) >= 3, path
    times = [t for t, _, _ in path]
    assert times == sorted(times) and len(set(times)) == len(times), times
    assert all(0 <= x <= 1 and 0 <= y <= 1 for _, x, y in path), path

    # The person steps into the picture onto the lawn: the path starts with
    # the track, before the alert (the rule's dwell), reaches the lawn and
    # runs on to the track's last frame, where the episode ended.
    lawn = parse_site(DEMO_SITE.format(camera=CAMERA, url="x.mp4")).zones[0].polygon
    assert times[0] < 0, "the path shows where the track came from"
    assert any(contains(lawn, (x, y)) for t, x, y in path if t >= 0), path
    start = datetime.fromisoformat(alert["start"])
    end = datetime.fromisoformat(alert["end"])
    assert times[-1] == pytest.approx((end - start).total_seconds(), abs=0.5)
    # Four points a second at most, besides the latest.
    assert len(path) <= 4 * (times[-1] - times[0]) + 2


def test_clip_is_served_in_byte_ranges(outcome: Outcome) -> None:
    whole = outcome.clip.content
    head, tail = outcome.clip_head, outcome.clip_tail
    assert head.status_code == 206
    assert head.headers["content-range"] == f"bytes 0-1023/{len(whole)}"
    assert head.content == whole[:1024]
    assert tail.status_code == 206
    assert tail.headers["content-range"] == (
        f"bytes {len(whole) - 500}-{len(whole) - 1}/{len(whole)}"
    )
    assert tail.content == whole[-500:]


def test_websocket_sees_the_alert_within_a_second(outcome: Outcome) -> None:
    assert outcome.hello["type"] == "hello"
    alert_id = outcome.alert["id"]
    raised = [
        m
        for m in outcome.live
        if m.data.get("type") == "alert"
        and m.data.get("change") == "raised"
        and m.data["id"] == alert_id
    ]
    assert len(raised) == 1
    message = raised[0]
    assert message.data["rule"] == "keep-off-the-grass"
    assert message.data["snapshot_url"] == outcome.alert["snapshot_url"]

    published = outcome.published_at(alert_id, "raised")
    created = datetime.fromisoformat(message.data["created_at"]).timestamp()
    assert 0 <= message.received - published < 1.0
    assert 0 <= message.received - created < 1.0
    changes = [
        m.data["change"]
        for m in outcome.live
        if m.data.get("type") == "alert" and m.data["id"] == alert_id
    ]
    assert changes[:3] == ["raised", "ended", "clip"]
    # Then the operator's escalation, where its push arrived before the end.
    assert set(changes[3:]) <= {"updated"}


def test_webhook_receives_the_alert_signed(outcome: Outcome) -> None:
    alert_id = outcome.alert["id"]
    mine = [
        d for d in outcome.deliveries if json.loads(d.body)["alert"]["id"] == alert_id
    ]
    events = [d.headers["X-Watchfloor-Event"] for d in mine]
    # The escalation's update may follow, when it was delivered in time.
    assert events[:3] == ["alert.raised", "alert.ended", "alert.clip"]
    assert set(events[3:]) <= {"alert.updated"}
    for delivery in mine:
        signature = delivery.headers[SIGNATURE_HEADER]
        assert verify_signature(delivery.body, signature, SECRET)
        assert not verify_signature(delivery.body, signature, SECRET + "x")
    raised = json.loads(mine[0].body)
    assert raised["type"] == "alert"
    assert raised["alert"]["rule"] == "keep-off-the-grass"
    assert raised["alert"]["start"] == outcome.alert["start"]


def test_mqtt_receives_the_alert(outcome: Outcome) -> None:
    if outcome.mqtt is None:
        pytest.skip(f"no MQTT broker on {MQTT_BROKER[0]}:{MQTT_BROKER[1]}")
    alert_id = outcome.alert["id"]
    topics = {topic for topic, _, _ in outcome.mqtt}
    assert topics == {f"{outcome.mqtt_topic}/alerts"}
    payloads = [json.loads(payload) for _, payload, _ in outcome.mqtt]
    raised = [p for p in payloads if p["id"] == alert_id and p["change"] == "raised"]
    assert len(raised) == 1
    assert raised[0]["camera"] == CAMERA
    assert raised[0]["zone"] == "lawn"


def test_the_alert_escalates_into_an_incident_with_verifiable_evidence(
    outcome: Outcome,
) -> None:
    alert_id = outcome.alert["id"]
    assert outcome.escalated["created"] is True
    assert outcome.escalated["alert"]["status"] == "escalated"
    incident = outcome.escalated["incident"]
    assert incident["status"] == "triage"
    assert [link["target_id"] for link in incident["links"]] == [alert_id]
    assert incident["links"][0]["hold"]["camera"] == CAMERA

    report = verify_zip(outcome.evidence_file)
    assert report.ok, report.lines()
    assert report.exported_by == "operator"
    with zipfile.ZipFile(outcome.evidence_file) as archive:
        names = archive.namelist()
        clips = [n for n in names if n.endswith(".mp4")]
        assert len(clips) == 1, names
        # The exported clip is the one the API serves, byte for byte.
        assert archive.read(clips[0]) == outcome.clip.content
        assert any(n.endswith(".jpg") for n in names), names

    assert outcome.report.status_code == 200, outcome.report.text
    assert outcome.report.headers["content-type"].startswith("text/html")
    assert "data:image/jpeg;base64," in outcome.report.text
