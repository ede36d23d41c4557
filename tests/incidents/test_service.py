"""Incident operations on a real database: moves, roles, links and their holds,
the timeline, metrics on constructed incidents, and what each writes to the audit
log."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.incidents.conftest import T0, Rows, at
from watchfloor.config import SiteConfig
from watchfloor.incidents import audit, service
from watchfloor.incidents.service import (
    HoldPolicy,
    IncidentConflict,
    IncidentInvalid,
    IncidentNotFound,
    NewIncident,
)
from watchfloor.media.retention import apply_retention
from watchfloor.models import Alert, AuditEntry, Hold, Incident, Segment
from watchfloor.models.database import Database

POLICY = HoldPolicy(
    pre_roll=timedelta(seconds=5),
    post_roll=timedelta(seconds=10),
    after_close=timedelta(days=2),
)


def new_incident(db: Database, when: float = 60, **fields: Any) -> int:
    values: dict[str, Any] = {"title": "Person at the dock", "severity": "high"}
    values.update(fields)
    with db.session() as session:
        return service.create_incident(
            session, NewIncident(**values), "ana", now=at(when)
        ).id


def record(db: Database, incident_id: int) -> dict[str, Any]:
    with db.session() as session:
        return service.incident_record(session, incident_id)


def actions(db: Database, target: str) -> list[str]:
    with db.session() as session:
        return [entry.action for entry in audit.entries_for(session, target)]


def move(db: Database, incident_id: int, to: str, when: float, **kw: Any) -> None:
    with db.session() as session:
        service.move(session, incident_id, to, "ana", policy=POLICY, now=at(when), **kw)


# --- creating and moving -------------------------------------------------------------


def test_a_new_incident_is_in_triage_commanded_by_its_creator(db: Database) -> None:
    incident_id = new_incident(db, location="north dock")

    data = record(db, incident_id)
    assert data["status"] == "triage"
    assert data["severity"] == "high"
    assert data["location"] == "north dock"
    assert data["created_by"] == "ana"
    assert data["created_at"] == at(60).isoformat()
    assert data["commander"] == "ana"
    assert [(r["role"], r["person"]) for r in data["roles"]] == [("commander", "ana")]
    assert actions(db, f"incident:{incident_id}") == ["incident.create"]

    other = new_incident(db, commander="ben")
    assert record(db, other)["commander"] == "ben"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"severity": "urgent"}, "'urgent' is not a severity; use one of low, medium"),
        ({"title": "  "}, "the title has 0 characters; give 1 to 200"),
        ({"title": "x" * 201}, "the title has 201 characters"),
        ({"commander": "c" * 129}, "the commander's name has 129 characters"),
    ],
)
def test_bad_fields_are_refused_and_nothing_is_made(
    db: Database, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(IncidentInvalid, match=message):
        new_incident(db, **fields)
    with db.session() as session:
        assert session.scalars(select(Incident)).all() == []
        assert session.scalars(select(AuditEntry)).all() == []


def test_moves_record_who_when_and_why(db: Database) -> None:
    incident_id = new_incident(db)
    move(db, incident_id, "contained", 120, note="door locked")
    move(db, incident_id, "closed", 300, reason="nothing left to do")

    with db.session() as session:
        entries = [e for e in service.timeline(session, incident_id)]
    status = [e for e in entries if e["kind"] == "status"]
    assert [(e["time"], e["actor"]) for e in status] == [
        (at(120).isoformat(), "ana"),
        (at(300).isoformat(), "ana"),
    ]
    assert status[0]["data"]["note"] == "door locked"
    assert status[0]["summary"] == (
        "moved from triage to contained by ana; note: door locked"
    )
    assert status[1]["data"]["skipped"] == ["eradicated", "recovered"]
    assert status[1]["data"]["reason"] == "nothing left to do"
    data = record(db, incident_id)
    assert data["status"] == "closed"
    assert data["closed_at"] == at(300).isoformat()
    assert actions(db, f"incident:{incident_id}") == [
        "incident.create",
        "incident.status",
        "incident.status",
    ]


def test_a_refused_move_changes_nothing(db: Database) -> None:
    incident_id = new_incident(db)
    with pytest.raises(IncidentConflict) as caught:
        move(db, incident_id, "recovered", 120)
    assert str(caught.value).startswith(
        f"incident {incident_id} cannot move from triage to recovered without a reason"
    )
    with pytest.raises(IncidentConflict, match="from triage it can move to contained"):
        move(db, incident_id, "triage", 120)
    with pytest.raises(IncidentInvalid, match="'done' is not an incident status"):
        move(db, incident_id, "done", 120)
    with pytest.raises(IncidentNotFound, match="no incident with id 999"):
        move(db, 999, "contained", 120)

    assert record(db, incident_id)["status"] == "triage"
    assert actions(db, f"incident:{incident_id}") == ["incident.create"]


# --- roles ---------------------------------------------------------------------------


def test_roles_replace_the_commander_and_keep_the_history(db: Database) -> None:
    incident_id = new_incident(db)
    with db.session() as session:
        service.assign_role(session, incident_id, "commander", "ben", "ana", now=at(90))
        service.assign_role(session, incident_id, "responder", "cy", "ben", now=at(95))
        service.assign_role(session, incident_id, "responder", "di", "ben", now=at(96))
        service.assign_role(
            session, incident_id, "communications", "eve", "ben", now=at(97)
        )
        service.assign_role(
            session, incident_id, "communications", "fay", "ben", now=at(98)
        )

    data = record(db, incident_id)
    assert data["commander"] == "ben"
    current = [(r["role"], r["person"]) for r in data["roles"] if not r["removed_at"]]
    assert current == [
        ("commander", "ben"),
        ("responder", "cy"),
        ("responder", "di"),
        ("communications", "fay"),
    ]
    ana = data["roles"][0]
    assert (ana["person"], ana["removed_at"]) == ("ana", at(90).isoformat())
    with db.session() as session:
        summaries = [
            e["summary"]
            for e in service.timeline(session, incident_id)
            if e["kind"] == "role"
        ]
    assert "ben replaces ana as commander (by ana)" in summaries
    assert "fay replaces eve as communications lead (by ben)" in summaries

    with db.session() as session, pytest.raises(IncidentConflict, match="already"):
        service.assign_role(session, incident_id, "responder", "cy", "ben")


def test_the_only_commander_of_an_open_incident_stays(db: Database) -> None:
    incident_id = new_incident(db)
    with db.session() as session:
        service.assign_role(session, incident_id, "responder", "cy", "ana")
    with db.session() as session, pytest.raises(IncidentConflict) as caught:
        service.remove_role(session, incident_id, "commander", "ana", "ana")
    assert "an open incident needs one: assign another commander" in str(caught.value)
    with db.session() as session, pytest.raises(IncidentNotFound, match="held by cy"):
        service.remove_role(session, incident_id, "responder", "zed", "ana")
    with db.session() as session, pytest.raises(IncidentInvalid, match="not a role"):
        service.remove_role(session, incident_id, "boss", "ana", "ana")

    with db.session() as session:
        service.remove_role(session, incident_id, "responder", "cy", "ana")
    move(db, incident_id, "closed", 200, reason="false alarm")
    # Closed, the commander may go; reopening makes whoever reopens commander.
    with db.session() as session:
        service.remove_role(session, incident_id, "commander", "ana", "ana")
    assert record(db, incident_id)["commander"] is None
    with db.session() as session:
        service.move(session, incident_id, "triage", "gil", now=at(400))
    assert record(db, incident_id)["commander"] == "gil"
    assert actions(db, f"incident:{incident_id}").count("incident.role.remove") == 2


# --- links, holds and the timeline ---------------------------------------------------


def test_linking_holds_footage_until_the_close_plus_the_grace_time(
    db: Database, rows: Rows
) -> None:
    alert_id = rows.alert()
    clip_id = rows.clip()
    event_id = rows.event()
    with db.session() as session:
        escalation = service.escalate_alert(
            session,
            alert_id,
            "ana",
            new=NewIncident("Dock", "critical"),
            policy=POLICY,
            now=at(60),
        )
    incident_id = escalation.incident_id
    with db.session() as session:
        service.attach_clip(session, incident_id, clip_id, "ana", now=at(70))
        service.attach_event(
            session, incident_id, event_id, "ana", policy=POLICY, now=at(80)
        )

    holds = [link["hold"] for link in record(db, incident_id)["links"]]
    assert [(h["camera"], h["start"], h["end"], h["expires_at"]) for h in holds] == [
        ("gate", at(-5).isoformat(), at(30).isoformat(), None),
        ("yard", at(30).isoformat(), at(45).isoformat(), None),
        ("lobby", at(45).isoformat(), at(60).isoformat(), None),
    ]

    move(db, incident_id, "closed", 500, reason="intruder left")
    closed = [link["hold"]["expires_at"] for link in record(db, incident_id)["links"]]
    assert closed == [(at(500) + timedelta(days=2)).isoformat()] * 3

    move(db, incident_id, "triage", 600)
    reopened = [link["hold"]["expires_at"] for link in record(db, incident_id)["links"]]
    assert reopened == [None, None, None]


def test_retention_keeps_held_footage_until_the_hold_lapses(
    db: Database, rows: Rows, tmp_path: Path
) -> None:
    site = SiteConfig.model_validate(
        {
            "storage": {"media": str(tmp_path)},
            "recording": {"retention_days": 1},
            "incidents": {"hold_after_close_days": 2},
        }
    )
    with db.session() as session:
        for i in range(3):  # 10 s segments from 20 s; the clip is in the middle one
            session.add(
                Segment(
                    camera="yard",
                    start=at(20 + 10 * i),
                    end=at(30 + 10 * i),
                    path=f"recordings/yard/{i}.mp4",
                    bytes=100,
                    sha256="0" * 64,
                    codec="h264",
                    frames=250,
                )
            )
    clip_id = rows.clip(start=31, end=39)
    incident_id = new_incident(db)
    with db.session() as session:
        service.attach_clip(session, incident_id, clip_id, "ana", now=at(70))
    move(db, incident_id, "closed", 100, reason="done")

    def left(days: float) -> list[str]:
        apply_retention(db, site, now=T0 + timedelta(days=days))
        with db.session() as session:
            return list(session.scalars(select(Segment.path).order_by(Segment.start)))

    assert HoldPolicy.from_site(site).after_close == POLICY.after_close
    with db.session() as session:
        hold = session.scalars(select(Hold)).one()
        assert hold.expires_at == at(100) + timedelta(days=2)
    assert left(1.5) == ["recordings/yard/1.mp4"]
    assert left(2.5) == []


def test_an_escalated_alert_lands_on_the_timeline_at_its_own_time(
    db: Database, rows: Rows
) -> None:
    alert_id = rows.alert(start=at(10), end=at(25))
    incident_id = new_incident(db, when=5)
    with db.session() as session:
        service.add_note(
            session, incident_id, "Guard on the way\nmore", "ben", now=at(40)
        )
        escalation = service.attach_alert(
            session, incident_id, alert_id, "ana", note="same person", now=at(60)
        )
    clip_id = rows.clip(start=-30, end=-15)  # footage from before it all began
    with db.session() as session:
        service.attach_clip(session, incident_id, clip_id, "ben", now=at(70))
        entries = service.timeline(session, incident_id)
        alert = session.get(Alert, alert_id)
        assert alert is not None
        assert (alert.status, alert.status_by, alert.status_at) == (
            "escalated",
            "ana",
            at(60),
        )
    assert escalation.alert_changed and escalation.alert["status"] == "escalated"

    assert [(e["time"], e["kind"], e["footage"]) for e in entries] == [
        (at(-30).isoformat(), "clip", True),
        (at(5).isoformat(), "created", False),
        (at(5).isoformat(), "role", False),
        (at(10).isoformat(), "alert", True),
        (at(40).isoformat(), "note", False),
        (at(60).isoformat(), "link", False),
        (at(70).isoformat(), "link", False),
    ]
    raised = entries[3]
    assert raised["actor"] is None
    assert raised["summary"] == (
        f"alert {alert_id} raised on camera gate: person (rule dock-intrusion, "
        "zone dock), until 2024-05-01T12:00:25Z"
    )
    assert entries[4]["summary"] == "note by ben: Guard on the way"
    assert entries[5]["summary"] == (
        f"alert {alert_id} escalated into the incident by ana: same person"
    )
    assert actions(db, f"alert:{alert_id}") == ["alert.escalate"]


def test_links_are_refused_when_duplicate_missing_or_closed(
    db: Database, rows: Rows
) -> None:
    alert_id = rows.alert()
    dismissed = rows.alert(status="dismissed")
    incident_id = new_incident(db)
    with db.session() as session:
        service.attach_alert(session, incident_id, alert_id, "ana")
        kept = service.attach_alert(session, incident_id, dismissed, "ana")
    assert not kept.alert_changed and kept.alert["status"] == "dismissed"

    with db.session() as session, pytest.raises(IncidentConflict, match="already"):
        service.attach_alert(session, incident_id, alert_id, "ana")
    with db.session() as session, pytest.raises(IncidentNotFound, match="no alert"):
        service.attach_alert(session, incident_id, 999, "ana")
    with db.session() as session, pytest.raises(IncidentNotFound, match="no clip"):
        service.attach_clip(session, incident_id, 999, "ana")
    with db.session() as session, pytest.raises(IncidentNotFound, match="no event"):
        service.attach_event(session, incident_id, 999, "ana")
    with db.session() as session, pytest.raises(IncidentInvalid, match="not both"):
        service.escalate_alert(
            session,
            alert_id,
            "ana",
            incident_id=incident_id,
            new=NewIncident("x", "low"),
        )

    move(db, incident_id, "closed", 100, reason="done")
    clip_id = rows.clip()
    with db.session() as session, pytest.raises(IncidentConflict, match="reopen it"):
        service.attach_clip(session, incident_id, clip_id, "ana")
    assert len(record(db, incident_id)["links"]) == 2


def test_notes_references_and_review_fields(db: Database) -> None:
    first = new_incident(db)
    second = new_incident(db, when=70)
    with db.session() as session:
        service.add_reference(
            session, first, "jira", "SEC-12", "https://t/SEC-12", "ana"
        )
        service.add_reference(session, second, "jira", "SEC-7", None, "ana")
        with pytest.raises(IncidentInvalid, match="the note is empty"):
            service.add_note(session, first, "  ", "ana")
    with db.session() as session, pytest.raises(IncidentConflict, match="SEC-12"):
        service.add_reference(session, first, "jira", "SEC-12", None, "ana")

    with db.session() as session:
        found, total = service.find_incidents(session, reference="SEC-12")
        assert ([i.id for i in found], total) == ([first], 1)
        changed = service.update_fields(
            session,
            first,
            {
                "severity": "critical",
                "root_cause": "Door propped open",
                "title": "Person at the dock",
            },
            "ben",
        )
        assert changed == ["severity", "root_cause"]
        assert (
            service.update_fields(session, first, {"severity": "critical"}, "b") == []
        )
        with pytest.raises(IncidentInvalid, match="cannot change status"):
            service.update_fields(session, first, {"status": "closed"}, "ben")

    data = record(db, first)
    assert (data["severity"], data["root_cause"]) == ("critical", "Door propped open")
    assert data["references"][0]["url"] == "https://t/SEC-12"
    assert actions(db, f"incident:{first}") == [
        "incident.create",
        "incident.reference",
        "incident.update",
    ]


# --- metrics -------------------------------------------------------------------------


def test_metrics_of_an_incident_with_known_times(db: Database, rows: Rows) -> None:
    first = rows.alert(start=T0)
    later = rows.alert(start=at(30), camera="yard")
    # The first alert was acknowledged 40 s after it started.
    with db.session() as session:
        alert = session.get(Alert, first)
        assert alert is not None
        alert.status, alert.status_by, alert.status_at = "acknowledged", "ana", at(40)
        audit.append(
            session,
            "ana",
            "alert.acknowledge",
            f"alert:{first}",
            {"status": "new"},
            {"status": "acknowledged"},
            time=at(40),
        )
    clip_id = rows.clip(camera="lobby")
    with db.session() as session:
        incident_id = service.escalate_alert(
            session, later, "ana", new=NewIncident("Dock", "high"), now=at(90)
        ).incident_id
        service.attach_alert(session, incident_id, first, "ana", now=at(95))
        service.attach_clip(session, incident_id, clip_id, "ana")
    move(db, incident_id, "contained", 300)
    move(db, incident_id, "recovered", 900, reason="nothing to remove")
    move(db, incident_id, "closed", 1000)

    with db.session() as session:
        metrics = service.incident_metrics(session, incident_id)
    assert metrics == {
        "incident_id": incident_id,
        "severity": "high",
        "status": "closed",
        "started_at": T0.isoformat(),
        "started_from": "alert",
        "first_alert_id": first,
        "acknowledged_at": at(40).isoformat(),
        "time_to_acknowledge_s": 40.0,
        "contained_at": at(300).isoformat(),
        "time_to_contain_s": 300.0,
        "recovered_at": at(900).isoformat(),
        "time_to_recover_s": 900.0,
        "alerts": 2,
        "alerts_by_camera": {"gate": 1, "yard": 1},
        "links_by_kind": {"alert": 2, "clip": 1, "event": 0},
        "cameras": ["gate", "lobby", "yard"],
    }


def test_metrics_over_a_period(db: Database, rows: Rows) -> None:
    # Escalated at 60 s without acknowledgement; a skip straight to closed
    # contains and recovers at once.
    alert_a = rows.alert(start=T0)
    with db.session() as session:
        a = service.escalate_alert(
            session, alert_a, "ana", new=NewIncident("A", "high"), now=at(60)
        ).incident_id
    move(db, a, "closed", 600, reason="false alarm")
    # Acknowledged 20 s in, with no audit entry of its own: the escalation keeps
    # it as the alert's state before. Contained 200 s in.
    alert_b = rows.alert(start=at(100), camera="yard", status="acknowledged")
    with db.session() as session:
        alert = session.get(Alert, alert_b)
        assert alert is not None
        alert.status_at = at(120)
    with db.session() as session:
        b = service.escalate_alert(
            session, alert_b, "ana", new=NewIncident("B", "low"), now=at(150)
        ).incident_id
    move(db, b, "contained", 300)
    # No alerts: counted from its creation, never acknowledged.
    c = new_incident(db, when=400, severity="low")
    move(db, c, "contained", 460)
    new_incident(db, when=5000)  # outside the period

    with db.session() as session:
        b_metrics = service.incident_metrics(session, b)
        c_metrics = service.incident_metrics(session, c)
        period = service.period_metrics(session, since=T0, until=at(4000))
        everything = service.period_metrics(session)
    assert b_metrics["time_to_acknowledge_s"] == 20.0
    assert c_metrics["started_from"] == "incident"
    assert c_metrics["time_to_acknowledge_s"] is None
    assert c_metrics["time_to_contain_s"] == 60.0

    assert period["incidents"] == 3
    assert period["by_severity"] == {"low": 2, "medium": 0, "high": 1, "critical": 0}
    assert period["by_status"]["closed"] == 1
    assert period["by_status"]["contained"] == 2
    assert period["by_camera"] == {"gate": 1, "yard": 1}
    assert period["alerts"] == 2
    assert period["time_to_acknowledge"] == {
        "count": 2,
        "mean_s": 40.0,
        "median_s": 40.0,
        "max_s": 60.0,
    }
    assert period["time_to_contain"]["count"] == 3
    assert period["time_to_contain"]["median_s"] == 200.0  # 600, 200, 60
    assert period["time_to_recover"] == {
        "count": 1,
        "mean_s": 600.0,
        "median_s": 600.0,
        "max_s": 600.0,
    }
    assert everything["incidents"] == 4
