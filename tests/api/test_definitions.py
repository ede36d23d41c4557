"""Zones, lines and rules over the API: validation, site-vs-API precedence, store."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import Api
from watchfloor.models import RuleRow, ZoneRow
from watchfloor.rules.evaluator import RuleSet
from watchfloor.rules.store import current_rule_set

SQUARE = [[0.2, 0.2], [0.6, 0.2], [0.6, 0.6], [0.2, 0.6]]


def zone(name: str = "lobby", camera: str = "gate", **extra: Any) -> dict[str, Any]:
    return {"name": name, "camera": camera, "polygon": SQUARE, **extra}


def test_lists_merge_site_file_first_then_api(api: Api) -> None:
    assert api.client.post("/api/zones", json=zone("lobby")).status_code == 201
    assert api.client.post("/api/zones", json=zone("atrium")).status_code == 201

    listed = api.client.get("/api/zones").json()

    assert [(z["name"], z["source"]) for z in listed] == [
        ("dock", "site"),
        ("atrium", "api"),
        ("lobby", "api"),
    ]
    assert listed[0]["created_at"] is None
    assert listed[2]["definition"] == {
        "name": "lobby",
        "camera": "gate",
        "polygon": SQUARE,
    }
    assert listed[2]["created_at"].endswith("+00:00")
    assert listed[2]["problem"] is None
    lines = api.client.get("/api/lines").json()
    assert [(x["name"], x["source"]) for x in lines] == [("fence", "site")]


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        (
            "/api/zones",
            zone(polygon=[[0.1, 0.1], [0.9, 0.1]]),
            "zone 'lobby' has 2 points; a polygon needs at least 3",
        ),
        (
            "/api/zones",
            zone(polygon=[[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]),
            "zone 'lobby' crosses itself",
        ),
        (
            "/api/zones",
            zone(polygon=[[0.1, 0.1], [1.5, 0.1], [0.5, 0.9]]),
            "zone 'lobby' point 2 is (1.5, 0.1)",
        ),
        (
            "/api/zones",
            zone(camera="roof"),
            "zone 'lobby' is on camera 'roof', which the site does not have "
            "(cameras: gate, yard)",
        ),
        ("/api/zones", zone(colour="red"), "zone 'lobby': colour: unknown key"),
        (
            "/api/zones",
            {"name": "lobby", "polygon": SQUARE},
            "zone 'lobby': camera: Field required",
        ),
        (
            "/api/lines",
            {"name": "kerb", "camera": "yard", "points": [[0.1, 0.5]]},
            "line 'kerb' has 1 points; a line needs exactly 2",
        ),
        (
            "/api/rules",
            {"name": "lurk", "kind": "loitering", "zone": "ghost", "limit_s": 30},
            "rule 'lurk' names zone 'ghost', which does not exist (zones: dock)",
        ),
        (
            "/api/rules",
            {"name": "lurk", "kind": "loitering", "zone": "dock"},
            "rule 'lurk' (loitering) needs limit_s",
        ),
        (
            "/api/rules",
            {"name": "hop", "kind": "line_crossing", "line": "wall"},
            "rule 'hop' names line 'wall', which does not exist (lines: fence)",
        ),
        (
            "/api/rules",
            {
                "name": "night",
                "kind": "restricted_area",
                "zone": "dock",
                "schedule": {"timezone": "Mars/Olympus", "windows": []},
            },
            "rule 'night': schedule.timezone: unknown time zone 'Mars/Olympus'",
        ),
    ],
    ids=[
        "two-points",
        "self-crossing",
        "outside-image",
        "unknown-camera",
        "unknown-key",
        "missing-camera",
        "one-point-line",
        "rule-missing-zone",
        "loitering-without-limit",
        "rule-missing-line",
        "bad-time-zone",
    ],
)
def test_invalid_definitions_are_refused_with_422_naming_the_fault(
    api: Api, path: str, body: dict[str, Any], expected: str
) -> None:
    before = api.client.get(path).json()

    response = api.client.post(path, json=body)

    assert response.status_code == 422, response.text
    assert expected in response.json()["detail"]
    assert api.client.get(path).json() == before
    assert api.rule_changes == []


def test_a_body_that_is_not_json_is_refused(api: Api) -> None:
    response = api.client.post(
        "/api/zones", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "not valid JSON" in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/api/zones/dock", zone("dock")),
        ("DELETE", "/api/zones/dock", None),
        (
            "PUT",
            "/api/lines/fence",
            {"name": "fence", "camera": "yard", "points": [[0, 0.4], [1, 0.4]]},
        ),
        ("DELETE", "/api/rules/dock-intrusion", None),
    ],
)
def test_site_file_objects_are_read_only(
    api: Api, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = api.client.request(method, path, json=body)

    assert response.status_code == 409
    name = path.rsplit("/", 1)[1]
    assert f"{name!r} is defined in the site file" in response.json()["detail"]
    assert "edit the site file instead" in response.json()["detail"]
    assert api.client.get(path).json()["source"] == "site"


def test_names_are_unique_across_site_file_and_api(api: Api) -> None:
    clash = api.client.post("/api/zones", json=zone("dock"))
    assert clash.status_code == 409
    assert clash.json()["detail"] == (
        "zone 'dock' is already defined in the site file; choose another name"
    )

    assert api.client.post("/api/zones", json=zone("lobby")).status_code == 201
    again = api.client.post("/api/zones", json=zone("lobby", camera="yard"))
    assert again.status_code == 409
    assert (
        "zone 'lobby' already exists; change it with PUT /api/zones/lobby"
        in (again.json()["detail"])
    )
    assert api.client.get("/api/zones/lobby").json()["definition"]["camera"] == "gate"


def test_put_replaces_an_api_object_and_delete_removes_it(api: Api) -> None:
    made = api.client.post("/api/zones", json=zone("lobby")).json()
    moved = [[0.5, 0.5], [0.9, 0.5], [0.9, 0.9]]

    replaced = api.client.put(
        "/api/zones/lobby", json=zone("lobby", camera="yard", polygon=moved)
    )

    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["definition"]["camera"] == "yard"
    assert replaced.json()["definition"]["polygon"] == moved
    assert replaced.json()["updated_at"] > made["updated_at"]
    assert replaced.json()["created_at"] == made["created_at"]

    renamed = api.client.put("/api/zones/lobby", json=zone("hall"))
    assert renamed.status_code == 422
    assert "the body names zone 'hall'" in renamed.json()["detail"]
    missing = api.client.put("/api/zones/hall", json=zone("hall"))
    assert missing.status_code == 404
    assert "no zone named 'hall'" in missing.json()["detail"]
    assert "POST /api/zones" in missing.json()["detail"]

    assert api.client.delete("/api/zones/lobby").status_code == 204
    gone = api.client.get("/api/zones/lobby")
    assert gone.status_code == 404
    assert gone.json()["detail"] == "no zone named 'lobby' (known zones: dock)"
    assert api.client.delete("/api/zones/lobby").status_code == 404
    assert api.rule_changes == [1, 2, 3]


def test_a_zone_in_use_cannot_be_deleted(api: Api) -> None:
    api.client.post("/api/zones", json=zone("lobby"))
    for name in ("lobby-guard", "lobby-night"):
        rule = {"name": name, "kind": "restricted_area", "zone": "lobby"}
        assert api.client.post("/api/rules", json=rule).status_code == 201

    refused = api.client.delete("/api/zones/lobby")

    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "zone 'lobby' is used by rules 'lobby-guard', 'lobby-night'; delete or "
        "change those rules first"
    )
    assert api.client.delete("/api/rules/lobby-guard").status_code == 204
    assert api.client.delete("/api/rules/lobby-night").status_code == 204
    assert api.client.delete("/api/zones/lobby").status_code == 204


def test_rules_may_use_site_file_zones_and_lines(api: Api) -> None:
    rules = [
        {"name": "dock-crowd", "kind": "occupancy", "zone": "dock", "max_objects": 3},
        {
            "name": "fence-in",
            "kind": "line_crossing",
            "line": "fence",
            "direction": "a_to_b",
            "classes": ["person", "car"],
        },
    ]
    for rule in rules:
        response = api.client.post("/api/rules", json=rule)
        assert response.status_code == 201, response.text
        assert response.json()["source"] == "api"

    names = [r["name"] for r in api.client.get("/api/rules").json()]
    assert names == ["dock-intrusion", "fence-crossing", "dock-crowd", "fence-in"]
    assert len(api.rule_changes) == 2


def test_current_rule_set_puts_the_site_file_first_and_drops_misfits(
    api: Api,
) -> None:
    api.client.post("/api/zones", json=zone("lobby"))
    api.client.post(
        "/api/rules",
        json={"name": "lobby-guard", "kind": "restricted_area", "zone": "lobby"},
    )
    with api.db.session() as session:
        # A stored zone hidden by the site file's of the same name.
        session.add(ZoneRow(name="dock", definition=json.dumps(zone("dock"))))
        # A stored zone whose camera the site no longer has, and its rule.
        session.add(ZoneRow(name="roof", definition=json.dumps(zone("roof", "cam9"))))
        session.add(
            RuleRow(
                name="roof-guard",
                definition=json.dumps(
                    {"name": "roof-guard", "kind": "restricted_area", "zone": "roof"}
                ),
            )
        )
        session.add(RuleRow(name="garbled", definition="{not json"))

    zones, lines, rules = current_rule_set(api.site, api.db)
    RuleSet(zones, lines, rules)  # what cameras evaluate accepts it as it is

    assert [z.name for z in zones] == ["dock", "lobby"]
    assert zones[0].polygon == api.site.zones[0].polygon
    assert [line.name for line in lines] == ["fence"]
    assert [r.name for r in rules] == [
        "dock-intrusion",
        "fence-crossing",
        "lobby-guard",
    ]

    listed = {z["name"]: z for z in api.client.get("/api/zones").json()}
    assert listed["dock"]["source"] == "site"
    assert "camera 'cam9', which the site does not have" in listed["roof"]["problem"]
    rules_listed = {r["name"]: r for r in api.client.get("/api/rules").json()}
    assert (
        "names zone 'roof', which is not usable"
        in (rules_listed["roof-guard"]["problem"])
    )
    assert rules_listed["garbled"]["definition"] is None
    assert "no longer valid" in rules_listed["garbled"]["problem"]
    assert api.client.delete("/api/rules/garbled").status_code == 204
