"""Incidents over the API: lifecycle, roles, escalation, evidence links, timeline,
metrics, and the audit log that every change writes."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import T0, Api, at
from watchfloor.incidents import audit
from watchfloor.media.hashing import sha256_file
from watchfloor.models import Clip, Event, Segment, Track

ANA = {"X-Watchfloor-Actor": "ana"}


def create(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"title": "Person at the dock", "severity": "high", **fields}
    response = api.client.post("/api/incidents", json=body, headers=ANA)
    assert response.status_code == 201, response.text
    return dict(response.json())


def audit_actions(api: Api, target: str) -> list[tuple[str, str]]:
    with api.db.session() as session:
        return [(e.action, e.actor) for e in audit.entries_for(session, target)]


def test_an_incident_is_made_moved_and_read_back(api: Api) -> None:
    made = create(api, location="north dock", description="**Tall** person")
    assert made["status"] == "triage"
    assert made["commander"] == "ana"
    assert made["created_by"] == "ana"
    assert made["created_at"].endswith("+00:00")
    incident = made["id"]

    moved = api.client.post(
        f"/api/incidents/{incident}/status",
        json={"to": "contained", "by": "ben", "note": "door locked"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "contained"

    read = api.client.get(f"/api/incidents/{incident}").json()
    assert read["status"] == "contained"
    assert read["description"] == "**Tall** person"
    assert audit_actions(api, f"incident:{incident}") == [
        ("incident.create", "ana"),
        ("incident.status", "ben"),
    ]
    plain = api.client.post(
        "/api/incidents", json={"title": "Nobody named", "severity": "low"}
    )
    assert plain.json()["commander"] == "local"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (
            {"to": "triage"},
            409,
            "incident {id} cannot move from contained to triage; from contained it "
            "can move to eradicated, recovered (skipping eradicated; needs a reason) "
            "or closed (skipping eradicated, recovered; needs a reason)",
        ),
        (
            {"to": "closed"},
            409,
            "incident {id} cannot move from contained to closed without a reason",
        ),
        ({"to": "done"}, 422, "to: Input should be 'triage', 'contained'"),
    ],
)
def test_a_refused_move_says_which_are_allowed(
    api: Api, body: dict[str, Any], status: int, message: str
) -> None:
    incident = create(api)["id"]
    api.client.post(f"/api/incidents/{incident}/status", json={"to": "contained"})

    response = api.client.post(f"/api/incidents/{incident}/status", json=body)

    assert response.status_code == status
    assert response.json()["detail"].startswith(message.format(id=incident))
    assert api.client.get(f"/api/incidents/{incident}").json()["status"] == "contained"


def test_unknown_incidents_answer_404(api: Api) -> None:
    for method, path, body in [
        ("get", "/api/incidents/77", None),
        ("get", "/api/incidents/77/timeline", None),
        ("get", "/api/incidents/77/metrics", None),
        ("post", "/api/incidents/77/status", {"to": "contained"}),
        ("post", "/api/incidents/77/notes", {"text": "hello"}),
        ("patch", "/api/incidents/77", {"root_cause": "x"}),
    ]:
        response = api.client.request(method, path, json=body)
        assert response.status_code == 404, path
        assert response.json()["detail"] == "no incident with id 77"


def test_roles_over_the_api(api: Api) -> None:
    incident = create(api)["id"]
    url = f"/api/incidents/{incident}/roles"

    replaced = api.client.post(url, json={"role": "commander", "person": "ben"})
    assert replaced.json()["commander"] == "ben"
    api.client.post(url, json={"role": "responder", "person": "cy"}, headers=ANA)

    refused = api.client.delete(f"{url}/commander/ben")
    assert refused.status_code == 409
    assert "needs one: assign another commander" in refused.json()["detail"]
    missing = api.client.delete(f"{url}/responder/zed")
    assert missing.status_code == 404
    assert missing.json()["detail"] == (
        f"zed is not the responder of incident {incident} (it is held by cy)"
    )
    assert api.client.delete(f"{url}/boss/cy").status_code == 422

    removed = api.client.delete(f"{url}/responder/cy", params={"by": "ben"})
    assert removed.status_code == 200
    current = [r["person"] for r in removed.json()["roles"] if not r["removed_at"]]
    assert current == ["ben"]
    assert audit_actions(api, f"incident:{incident}")[1:] == [
        ("incident.role.assign", "local"),
        ("incident.role.assign", "ana"),
        ("incident.role.remove", "ben"),
    ]


def test_escalating_an_alert_makes_an_incident_and_pushes_the_change(
    api: Api,
) -> None:
    alert = api.add_alert(start=at(0), end=at(0.5))
    subscription = api.bus.subscribe({"alert"})

    response = api.client.post(
        f"/api/alerts/{alert}/escalate",
        json={"severity": "critical", "note": "same person as yesterday"},
        headers=ANA,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["created"] is True
    assert body["alert"]["status"] == "escalated"
    assert body["alert"]["status_by"] == "ana"
    incident = body["incident"]
    assert incident["title"] == "person on camera gate (rule dock-intrusion)"
    assert incident["severity"] == "critical"
    link = incident["links"][0]
    assert (link["kind"], link["target_id"], link["alert"]["id"]) == (
        "alert",
        alert,
        alert,
    )
    assert link["hold"]["camera"] == "gate"
    assert link["hold"]["start"] == (T0 - timedelta(seconds=5)).isoformat()
    assert link["hold"]["expires_at"] is None

    message = subscription.get(timeout=2)
    assert message is not None
    assert (message.payload["id"], message.payload["status"]) == (alert, "escalated")
    assert message.payload["change"] == "updated"
    subscription.close()

    again = api.client.post(
        f"/api/alerts/{alert}/escalate", json={"incident_id": incident["id"]}
    )
    assert again.status_code == 409
    assert again.json()["detail"] == (
        f"alert {alert} is already linked to incident {incident['id']}"
    )
    assert audit_actions(api, f"alert:{alert}") == [("alert.escalate", "ana")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "give incident_id to escalate into an existing incident, or the severity"),
        ({"incident_id": 1, "title": "x"}, "give incident_id or new incident fields"),
    ],
)
def test_escalation_needs_one_target(
    api: Api, body: dict[str, Any], message: str
) -> None:
    alert = api.add_alert()
    response = api.client.post(f"/api/alerts/{alert}/escalate", json=body)
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert api.client.get(f"/api/alerts/{alert}").json()["status"] == "new"


def test_escalating_an_unknown_alert_answers_404(api: Api) -> None:
    response = api.client.post("/api/alerts/5/escalate", json={"severity": "low"})
    assert response.status_code == 404
    assert response.json()["detail"] == "no alert with id 5"


def test_alerts_events_and_clips_link_with_holds(api: Api) -> None:
    incident = create(api)["id"]
    alert = api.add_alert(status="acknowledged")
    with api.db.session() as session:
        clip = Clip(
            camera="yard",
            start=at(1),
            end=at(2),
            path="clips/yard/a.mp4",
            bytes=10,
            sha256="cd" * 32,
            duration_s=60,
        )
        track = Track(
            camera="gate",
            tracker_id=1,
            label="person",
            first_seen=at(0),
            last_seen=at(3),
            best_score=0.9,
        )
        session.add_all([clip, track])
        session.flush()
        event = Event(
            track_id=track.id,
            camera="gate",
            kind="appeared",
            time=at(3),
            label="person",
            score=0.9,
            x1=0.1,
            y1=0.1,
            x2=0.2,
            y2=0.4,
        )
        session.add(event)
        session.flush()
        clip_id, event_id = clip.id, event.id
    base = f"/api/incidents/{incident}"

    linked = api.client.post(f"{base}/alerts", json={"alert_id": alert})
    assert linked.status_code == 201, linked.text
    assert linked.json()["alert"]["status"] == "escalated"
    clip_link = api.client.post(f"{base}/clips", json={"clip_id": clip_id}).json()
    assert clip_link["clip"]["sha256"] == "cd" * 32
    assert "path" not in clip_link["clip"]
    assert clip_link["hold"]["start"] == at(1).isoformat()
    event_link = api.client.post(f"{base}/events", json={"event_id": event_id}).json()
    assert event_link["event"]["kind"] == "appeared"
    assert event_link["hold"]["end"] == (at(3) + timedelta(seconds=10)).isoformat()

    assert api.client.post(f"{base}/alerts", json={"alert_id": 99}).status_code == 404
    both = api.client.post(f"{base}/clips", json={"clip_id": clip_id, "camera": "gate"})
    assert both.status_code == 422
    assert "not both" in both.json()["detail"]
    assert len(api.client.get(base).json()["links"]) == 3


def index_segment(api: Api, source: Path) -> None:
    """``source`` as a segment of camera gate recorded from T0."""
    target = api.media / "recordings" / "gate" / "seg.mp4"
    target.parent.mkdir(parents=True)
    shutil.copyfile(source, target)
    with api.db.session() as session:
        session.add(
            Segment(
                camera="gate",
                start=T0,
                end=T0 + timedelta(seconds=2),
                path="recordings/gate/seg.mp4",
                bytes=target.stat().st_size,
                sha256=sha256_file(target),
                codec="h264",
                frames=20,
            )
        )


def test_a_new_clip_is_cut_for_any_range_and_linked(api: Api, small_mp4: Path) -> None:
    index_segment(api, small_mp4)
    incident = create(api)["id"]
    url = f"/api/incidents/{incident}/clips"
    start = T0 + timedelta(seconds=0.2)

    response = api.client.post(
        url,
        json={
            "camera": "gate",
            "start": start.isoformat(),
            "end": (T0 + timedelta(seconds=1.5)).isoformat(),
            "note": "the whole approach",
        },
    )

    assert response.status_code == 201, response.text
    clip = response.json()["clip"]
    assert clip["camera"] == "gate"
    assert clip["start"] == start.isoformat()
    with api.db.session() as session:
        row = session.get(Clip, clip["id"])
        assert row is not None
        assert sha256_file(api.media / row.path) == clip["sha256"]

    no_footage = api.client.post(
        url,
        json={"camera": "yard", "start": at(0).isoformat(), "end": at(1).isoformat()},
    )
    assert no_footage.status_code == 422
    assert "camera 'yard' has no" in no_footage.json()["detail"]
    unknown = api.client.post(
        url,
        json={"camera": "roof", "start": at(0).isoformat(), "end": at(1).isoformat()},
    )
    assert unknown.status_code == 422
    assert unknown.json()["detail"] == (
        "camera 'roof' is not one of the site's cameras (gate, yard)"
    )


def test_closing_times_the_holds_and_reopening_clears_them(api: Api) -> None:
    alert = api.add_alert()
    incident = api.client.post(
        f"/api/alerts/{alert}/escalate", json={"severity": "low"}
    ).json()["incident"]["id"]
    url = f"/api/incidents/{incident}/status"

    closed = api.client.post(url, json={"to": "closed", "reason": "false alarm"})
    assert closed.status_code == 200, closed.text
    body = closed.json()
    expires = datetime.fromisoformat(body["links"][0]["hold"]["expires_at"])
    closed_at = datetime.fromisoformat(body["closed_at"])
    days = api.site.incidents.hold_after_close_days
    assert expires - closed_at == timedelta(days=days)

    refused = api.client.post(
        f"/api/incidents/{incident}/alerts", json={"alert_id": api.add_alert()}
    )
    assert refused.status_code == 409
    assert "reopen it" in refused.json()["detail"]

    reopened = api.client.post(url, json={"to": "triage"}).json()
    assert reopened["closed_at"] is None
    assert reopened["links"][0]["hold"]["expires_at"] is None


def test_notes_references_and_the_review(api: Api) -> None:
    incident = create(api)["id"]
    other = create(api, title="Another")["id"]
    base = f"/api/incidents/{incident}"

    note = api.client.post(f"{base}/notes", json={"text": "# Seen\nAt the *dock*"})
    assert note.status_code == 201
    assert note.json()["text"] == "# Seen\nAt the *dock*"
    reference = api.client.post(
        f"{base}/references",
        json={"system": "jira", "key": "SEC-1", "url": "https://t.example/SEC-1"},
        headers=ANA,
    )
    assert reference.status_code == 201
    assert reference.json()["created_by"] == "ana"
    duplicate = api.client.post(
        f"{base}/references", json={"system": "jira", "key": "SEC-1"}
    )
    assert duplicate.status_code == 409

    patched = api.client.patch(
        base,
        json={"root_cause": "Door propped open", "actions": "- fix the closer"},
        headers=ANA,
    )
    assert patched.status_code == 200
    assert patched.json()["root_cause"] == "Door propped open"
    assert patched.json()["what_worked"] is None
    cleared = api.client.patch(base, json={"title": None})
    assert cleared.status_code == 422
    assert "title cannot be cleared" in cleared.json()["detail"]

    found = api.client.get("/api/incidents", params={"reference": "SEC-1"}).json()
    assert [item["id"] for item in found["items"]] == [incident]
    assert other not in [item["id"] for item in found["items"]]
    assert audit_actions(api, f"incident:{incident}")[1:] == [
        ("incident.note", "local"),
        ("incident.reference", "ana"),
        ("incident.update", "ana"),
    ]


def test_lists_filter_and_page(api: Api) -> None:
    ids = [create(api, severity=sev)["id"] for sev in ("low", "high", "high", "low")]
    api.client.post(f"/api/incidents/{ids[1]}/status", json={"to": "contained"})

    seen: list[int] = []
    url: str | None = "/api/incidents?limit=3"
    while url:
        page = api.client.get(url).json()
        assert page["total"] == 4
        seen += [item["id"] for item in page["items"]]
        url = page["next"]
    assert seen == list(reversed(ids))

    high = api.client.get("/api/incidents", params={"severity": "high"}).json()
    assert [i["id"] for i in high["items"]] == [ids[2], ids[1]]
    both = api.client.get(
        "/api/incidents", params={"severity": "high", "status": "triage"}
    ).json()
    assert [i["id"] for i in both["items"]] == [ids[2]]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert api.client.get("/api/incidents", params={"since": future}).json() == {
        "items": [],
        "total": 0,
        "next": None,
        "next_cursor": None,
    }
    bad = api.client.get("/api/incidents", params={"since": future, "until": future})
    assert bad.status_code == 422
    assert "is not before 'until'" in bad.json()["detail"]
    assert api.client.get("/api/incidents?cursor=zzz").status_code == 422


def test_timeline_and_metrics_from_the_alert_to_recovery(api: Api) -> None:
    started = datetime.now(UTC) - timedelta(seconds=60)
    alert = api.add_alert(start=started, end=started + timedelta(seconds=5))
    acknowledged = api.client.post(
        f"/api/alerts/{alert}/acknowledge", json={"by": "ana"}
    )
    assert acknowledged.status_code == 200
    incident = api.client.post(
        f"/api/alerts/{alert}/escalate", json={"severity": "high"}, headers=ANA
    ).json()["incident"]["id"]
    url = f"/api/incidents/{incident}"
    api.client.post(f"{url}/status", json={"to": "contained"})
    api.client.post(
        f"{url}/status", json={"to": "recovered", "reason": "nothing to remove"}
    )

    entries = api.client.get(f"{url}/timeline").json()
    assert [e["kind"] for e in entries] == [
        "alert",
        "created",
        "role",
        "link",
        "status",
        "status",
    ]
    assert entries[0]["time"] == started.isoformat()
    assert entries[0]["footage"] is True
    assert [e["time"] for e in entries] == sorted(e["time"] for e in entries)

    metrics = api.client.get(f"{url}/metrics").json()
    assert metrics["first_alert_id"] == alert
    assert metrics["started_at"] == started.isoformat()
    assert 60 <= metrics["time_to_acknowledge_s"] < 70
    assert metrics["time_to_acknowledge_s"] < metrics["time_to_contain_s"]
    assert metrics["time_to_contain_s"] <= metrics["time_to_recover_s"] < 70
    assert metrics["alerts_by_camera"] == {"gate": 1}

    period = api.client.get(
        "/api/incidents/metrics",
        params={"since": (started - timedelta(hours=1)).isoformat()},
    ).json()
    assert period["incidents"] == 1
    assert period["by_severity"]["high"] == 1
    assert period["by_camera"] == {"gate": 1}
    assert period["time_to_recover"]["count"] == 1
    assert audit_actions(api, f"alert:{alert}") == [
        ("alert.acknowledge", "ana"),
        ("alert.escalate", "ana"),
    ]


def test_alert_handling_and_definitions_are_audited_in_one_chain(api: Api) -> None:
    alert = api.add_alert()
    assert api.client.post(
        f"/api/alerts/{alert}/dismiss", json={"by": "ben", "reason": "a cat"}
    ).is_success
    zone = {
        "name": "lobby",
        "camera": "gate",
        "polygon": [[0.2, 0.2], [0.6, 0.2], [0.6, 0.6]],
    }
    assert api.client.post("/api/zones", json=zone, headers=ANA).status_code == 201
    moved = {**zone, "polygon": [[0.1, 0.1], [0.6, 0.2], [0.6, 0.6]]}
    assert api.client.put("/api/zones/lobby", json=moved, headers=ANA).is_success
    assert api.client.delete("/api/zones/lobby").status_code == 204
    refused = api.client.delete("/api/zones/dock")  # the site file's: no change
    assert refused.status_code == 409

    with api.db.session() as session:
        dismissed = audit.entries_for(session, f"alert:{alert}")
        zones = audit.entries_for(session, "zone:lobby")
        result = audit.verify(session)
        assert audit.entries_for(session, "zone:dock") == []
    assert [(e.action, e.actor) for e in dismissed] == [("alert.dismiss", "ben")]
    assert '"status":"new"' in (dismissed[0].before or "")
    assert '"status_note":"a cat"' in (dismissed[0].after or "")
    assert [(e.action, e.actor) for e in zones] == [
        ("zone.create", "ana"),
        ("zone.replace", "ana"),
        ("zone.delete", "local"),
    ]
    assert zones[0].before is None and zones[2].after is None
    assert '"polygon":[[0.1,0.1]' in (zones[1].after or "")
    assert result.ok and result.checked == 4
