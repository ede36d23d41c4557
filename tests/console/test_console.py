"""The operator console in a real browser, against `watchfloor run` on live footage.

The end-to-end test's PETS 2009 piece (a person walks onto the lawn near its
end) is served as camera "plaza" by the camera simulator; ``watchfloor run``
serves the engine, the API and the console in a process of its own, as an
operator starts it. One Chromium tab stays open on the console for the whole
module; each test opens the page it needs itself (``open_live``, ``_open``), so
any one passes alone and in any order. The feed's test waits for an alert
raised after the live page was opened: it has to arrive over the WebSocket,
not by a reload.

Set ``WATCHFLOOR_CONSOLE_SCREENSHOTS`` to a folder to have the live page (with
its alert), the page of an alert of a drawn zone (with its track's path), the
zones page (with a line and its rule) and the search page (with a journey)
saved there as ``console-live.jpg``, ``console-alert.jpg``,
``console-zones.jpg`` and ``console-search.jpg``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.conftest import SimulatorProcess, free_port
from tests.e2e_helpers import make_video_piece, wait_for
from watchfloor.demo import DEMO_SITE
from watchfloor.rules.geometry import contains

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

CAMERA = "plaza"
LAWN_RULE = "keep-off-the-grass"  # the site file's rule
PIECE = (400, 525)  # video frames: the person steps onto the lawn at 506
PICTURE_SIZE = (768, 576)
OPERATOR = "console-test"
# Engine start, the 13 s piece until the person is on the lawn, with margin.
ALERT_LIMIT_S = 90.0
# Then the piece's restart ends the alert; post-roll and a segment, with margin.
CLIP_LIMIT_S = 60.0
# A track's footage is served once the segments after its end are recorded.
FOOTAGE_LIMIT_S = 40.0
# Where the labelled person 10, who comes in from the right of the picture,
# walks in 11 s into the piece and stays until its end; nobody else sets foot
# in it (the person standing beside its lower right corner at the piece's
# start is some 8 pixels below it and to its right).
DRAWN_ZONE = [(0.15, 0.36), (0.37, 0.36), (0.37, 0.48), (0.15, 0.48)]
# The piece plays in a loop: someone walks in again within two rounds.
DRAWN_ALERT_LIMIT_S = 60.0


@dataclass
class Console:
    """The running site: its base URL and what it logs."""

    base: str
    process: subprocess.Popen[str]
    log: Path

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.base}{path}", params=params, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def console(
    pets09_video: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    """Simulator and ``watchfloor run`` on a fresh site, until the camera is online."""
    folder = tmp_path_factory.mktemp("console")
    piece = make_video_piece(pets09_video, folder / f"{CAMERA}.mp4", *PIECE)
    simulator = SimulatorProcess({CAMERA: piece}, free_port(), folder)
    simulator.start()
    site = folder / "site.yaml"
    site.write_text(
        DEMO_SITE.format(camera=CAMERA, url=simulator.url(CAMERA)).replace(
            "segment_s: 10", "segment_s: 2"
        )
        + "alerts:\n  pre_roll_s: 2\n  post_roll_s: 2\n",
        encoding="utf-8",
    )
    port = free_port()
    log = folder / "run.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "watchfloor", "run", str(site), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    running = Console(f"http://127.0.0.1:{port}", process, log)
    try:

        def online() -> bool:
            try:
                cameras = httpx.get(f"{running.base}/api/cameras", timeout=2).json()
            except httpx.HTTPError:
                return False
            return any(
                (c.get("status") or {}).get("state") == "online" for c in cameras
            )

        assert wait_for(online, 60, 0.3), f"camera never online:\n{running.output()}"
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        simulator.stop()


def _screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("WATCHFLOOR_CONSOLE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), type="jpeg", quality=80)


def _open(console: Console, page: Page, route: str) -> None:
    """A page of the console afresh, by its route ("live", "zones", "alerts/3").

    Another page's address is a hash change (the tab is not reloaded); the
    page it already shows is reloaded.
    """
    url = f"{console.base}/#/{route}"
    if page.url == url:
        page.reload()
    else:
        page.goto(url)


def open_live(console: Console, page: Page) -> Locator:
    """The live page afresh, connected, as the test's operator; its camera's view."""
    _open(console, page, "live")
    # Once live, the console has read the operator's name it keeps: ours stays.
    expect(page.locator("#connection")).to_have_text("live")
    page.fill("#operator", OPERATOR)
    page.dispatch_event("#operator", "change")
    return page.locator(f'img[data-live="{CAMERA}"]')


def _lawn_alert(
    console: Console, test: Callable[[dict[str, Any]], bool], limit_s: float
) -> dict[str, Any]:
    """The first alert of the lawn's rule that passes ``test``, once there is one."""
    found: list[dict[str, Any]] = []

    def seen() -> bool:
        items = console.get("/api/alerts", camera=CAMERA, rule=LAWN_RULE)["items"]
        found[:] = sorted((a for a in items if test(a)), key=lambda a: a["id"])
        return bool(found)

    assert wait_for(seen, limit_s, 0.5), console.get("/api/alerts", camera=CAMERA)
    return found[0]


def _escalatable_with_clip(alert: dict[str, Any]) -> bool:
    return alert["status"] in ("new", "acknowledged") and alert["clip_state"] == "ready"


def _an_incident(console: Console) -> dict[str, Any]:
    """An incident with an alert and its clip: one made before, or one made now."""
    incidents = console.get("/api/incidents")["items"]
    if not incidents:
        alert = _lawn_alert(
            console, _escalatable_with_clip, ALERT_LIMIT_S + CLIP_LIMIT_S
        )
        response = httpx.post(
            f"{console.base}/api/alerts/{alert['id']}/escalate",
            json={"severity": "high", "by": OPERATOR},
            timeout=10,
        )
        assert response.status_code in (200, 201), response.text
        incidents = console.get("/api/incidents")["items"]
    assert incidents, "the escalation made no incident"
    return incidents[0]  # type: ignore[no-any-return]


def test_live_page_shows_the_camera_playing_and_its_status(
    console: Console, page: Page
) -> None:
    view = open_live(console, page)
    expect(view).to_have_attribute(
        "alt", f"Live view of camera {CAMERA}, with tracked objects and zones"
    )
    assert wait_for(lambda: view.evaluate("img => img.naturalWidth") > 0, 15), (
        "the MJPEG live view never showed a picture"
    )
    assert view.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [768, 576]
    expect(page.locator(f'[data-camera-state="{CAMERA}"]')).to_contain_text(
        "online since"
    )
    expect(page.locator("#connection")).to_have_text("live")


def test_the_alert_appears_in_the_feed_without_a_reload(
    console: Console, page: Page
) -> None:
    open_live(console, page)
    # Marks this document: a reload would lose it.
    page.evaluate("window.sameDocument = true")
    # The alerts raised before the page was live: the one to wait for is newer.
    before = [
        a["id"] for a in console.get("/api/alerts", camera=CAMERA, limit=500)["items"]
    ]
    newer = "".join(f':not([data-alert="{i}"])' for i in before)
    item = page.locator(f"li.alert-item{newer}", has_text=LAWN_RULE).first
    expect(item).to_be_visible(timeout=ALERT_LIMIT_S * 1000)
    assert page.evaluate("window.sameDocument") is True
    alert = console.get(f"/api/alerts/{item.get_attribute('data-alert')}")
    expect(item).to_contain_text(LAWN_RULE)
    expect(item).to_contain_text(CAMERA)
    snapshot = item.locator("img")
    expect(snapshot).to_have_attribute(
        "alt", f"Snapshot of Alert {alert['id']}: {LAWN_RULE} on {CAMERA}"
    )
    assert wait_for(lambda: snapshot.evaluate("img => img.naturalWidth") > 0, 10)
    _screenshot(page, "console-live.jpg")


def test_acknowledging_with_the_keyboard_changes_the_alert(
    console: Console, page: Page
) -> None:
    alert = _lawn_alert(console, lambda a: a["status"] == "new", ALERT_LIMIT_S)
    open_live(console, page)
    page.locator(f'li[data-alert="{alert["id"]}"] button.pick').click()
    expect(page.locator(f'li[data-alert="{alert["id"]}"]')).to_have_attribute(
        "aria-selected", "true"
    )
    page.keyboard.press("a")

    def acknowledged() -> bool:
        return console.get(f"/api/alerts/{alert['id']}")["status"] == "acknowledged"

    assert wait_for(acknowledged, 10), console.get(f"/api/alerts/{alert['id']}")
    assert console.get(f"/api/alerts/{alert['id']}")["status_by"] == OPERATOR
    expect(page.locator(f'li[data-alert="{alert["id"]}"] .badge')).to_have_text(
        "acknowledged"
    )


def test_the_alert_page_plays_the_clip(console: Console, page: Page) -> None:
    alert = _lawn_alert(console, _escalatable_with_clip, ALERT_LIMIT_S + CLIP_LIMIT_S)
    open_live(console, page)
    page.locator(f'li[data-alert="{alert["id"]}"] a.open').click()
    video = page.locator("video")
    expect(video).to_be_visible()
    expect(page.locator("main img")).to_have_attribute(
        "alt",
        f"Snapshot of Alert {alert['id']}: {LAWN_RULE} on {CAMERA}: "
        "the frame with the object's box and the zone",
    )
    video.evaluate("v => { v.muted = true; return v.play(); }")
    assert wait_for(lambda: video.evaluate("v => v.currentTime") > 0.5, 15), (
        video.evaluate("v => [v.currentTime, v.readyState, v.error && v.error.code]")
    )
    assert video.evaluate("v => v.videoWidth") == 768
    _shows_the_path(page, console.get(f"/api/alerts/{alert['id']}"))
    # The escalate button opens a dialog; a new incident is made from the page.
    video.evaluate("v => v.pause()")
    page.get_by_role("button", name="Escalate…").click()
    page.get_by_role("button", name="Escalate", exact=True).click()
    expect(page.locator("#toast")).to_contain_text("escalated into incident")
    assert console.get(f"/api/alerts/{alert['id']}")["status"] == "escalated"


def _shows_the_path(page: Page, alert: dict[str, Any]) -> None:
    """The alert page draws the track's path over the snapshot, with its markers."""
    path = alert["path"]
    assert len(path) >= 2, alert
    drawing = page.locator("main svg.track-path")
    expect(drawing).to_be_visible()
    expect(drawing).to_have_attribute("data-points", str(len(path)))
    expect(drawing).to_have_attribute(
        "aria-label", re.compile(rf"^Path of the person's feet, {len(path)} points: ")
    )
    points = drawing.locator("polyline.path").get_attribute("points") or ""
    width, height = PICTURE_SIZE
    drawn = [tuple(float(v) for v in p.split(",")) for p in points.split()]
    assert drawn == [
        pytest.approx((x * width, y * height), abs=0.01) for _, x, y in path
    ]
    expect(drawing.locator("circle.path-start")).to_have_count(1)
    expect(drawing.locator("circle.path-end")).to_have_count(1)
    snapshot = page.locator(".snapshot img").bounding_box()
    overlay = drawing.bounding_box()
    assert snapshot is not None and overlay is not None
    assert overlay == pytest.approx(snapshot, abs=1.0), "the path is off the picture"
    expect(page.locator("[data-facts]")).to_contain_text(f"{len(path)} points over")


def test_the_incident_page_shows_the_escalated_alert(
    console: Console, page: Page
) -> None:
    incident = _an_incident(console)
    _open(console, page, "incidents")
    page.get_by_role("link", name=f"#{incident['id']}").click()
    expect(page.locator("h1")).to_contain_text(f"Incident #{incident['id']}")
    expect(page.get_by_role("button", name="→ contained")).to_be_visible()
    expect(page.locator("main video")).to_have_count(1)
    page.fill("#note-text", "guard sent")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("main")).to_contain_text("guard sent")
    notes = console.get(f"/api/incidents/{incident['id']}")["notes"]
    assert [n["text"] for n in notes] == ["guard sent"]


def test_the_zone_editor_refuses_a_bad_polygon_and_saves_a_good_one(
    console: Console, page: Page
) -> None:
    _open_zones(console, page)
    overlay = page.locator(".editor svg")
    page.fill("#zone-name", "gate-path")
    for x, y in [(100, 100), (300, 100)]:
        overlay.click(position={"x": x, "y": y})
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#zone-message")).to_contain_text("at least 3")
    assert "gate-path" not in [z["name"] for z in console.get("/api/zones")]

    overlay.click(position={"x": 200, "y": 250})
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#zone-message")).to_contain_text("Zone gate-path saved")
    saved = {z["name"]: z for z in console.get("/api/zones")}
    assert len(saved["gate-path"]["definition"]["polygon"]) == 3
    saved_zone = '.editor polygon.saved[data-zone="{}"]'.format
    expect(page.locator(saved_zone("gate-path"))).to_have_count(1)
    expect(page.locator(saved_zone("lawn"))).to_have_count(1)


def _open_zones(console: Console, page: Page) -> None:
    """The zones page afresh, once its camera's frame is shown."""
    _open(console, page, "zones")
    picture = page.locator("#zone-frame")
    assert wait_for(lambda: picture.evaluate("img => img.naturalWidth") > 0, 10)


def test_a_line_with_its_direction_and_a_line_crossing_rule_are_saved(
    console: Console, page: Page
) -> None:
    _open_zones(console, page)
    overlay = page.locator(".editor svg")
    page.select_option("#draw-shape", "line")
    for x, y in [(100, 300), (400, 300)]:
        overlay.click(position={"x": x, "y": y})
    expect(page.locator(".editor circle")).to_have_count(2)
    expect(page.locator(".editor polygon.arrow")).to_have_count(2)  # any: both ways
    page.select_option("#rule-direction", "a_to_b")
    expect(page.locator(".editor polygon.arrow")).to_have_count(1)
    expect(
        page.locator('.editor polygon.arrow[data-direction="a_to_b"]')
    ).to_have_count(1)
    expect(page.locator("#rule-kind")).to_have_value("line_crossing")
    page.fill("#zone-name", "gate-line")
    page.fill("#rule-classes", "person, car")
    page.fill("#rule-cooldown", "30")
    page.check("#rule-scheduled")
    page.uncheck("#rule-day-sat")
    page.uncheck("#rule-day-sun")
    page.fill("#rule-start", "08:00")
    page.fill("#rule-end", "17:30")
    page.fill("#rule-timezone", "Europe/Paris")
    _screenshot(page, "console-zones.jpg")

    # A rule name the site file already has: refused, and the line not kept.
    page.fill("#rule-name", "keep-off-the-grass")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#zone-message")).to_contain_text("Not saved")
    assert "gate-line" not in [line["name"] for line in console.get("/api/lines")]

    page.fill("#rule-name", "gate-crossing")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#zone-message")).to_have_text(
        "Line gate-line saved. Rule gate-crossing saved."
    )
    line = {item["name"]: item for item in console.get("/api/lines")}["gate-line"]
    box = overlay.bounding_box()
    assert box is not None
    assert line["definition"]["camera"] == CAMERA
    assert line["definition"]["points"] == [
        pytest.approx([100 / box["width"], 300 / box["height"]], abs=0.01),
        pytest.approx([400 / box["width"], 300 / box["height"]], abs=0.01),
    ]
    rule = {item["name"]: item for item in console.get("/api/rules")}["gate-crossing"]
    definition = rule["definition"]
    assert definition["kind"] == "line_crossing"
    assert definition["line"] == "gate-line"
    assert definition["direction"] == "a_to_b"
    assert definition["classes"] == ["person", "car"]
    assert definition["cooldown"] == 30
    assert definition["schedule"]["timezone"] == "Europe/Paris"
    [window] = definition["schedule"]["windows"]
    assert window["days"] == ["mon", "tue", "wed", "thu", "fri"]
    assert [window["start"][:5], window["end"][:5]] == ["08:00", "17:30"]
    expect(page.locator(".editor line.saved")).to_have_count(1)


def test_a_zone_corner_dragged_before_saving_is_saved_where_it_was_dropped(
    console: Console, page: Page
) -> None:
    _open_zones(console, page)
    overlay = page.locator(".editor svg")
    for x, y in [(100, 100), (300, 100), (200, 250)]:
        overlay.click(position={"x": x, "y": y})
    box = overlay.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 200, box["y"] + 250)
    page.mouse.down()
    page.mouse.move(box["x"] + 260, box["y"] + 320, steps=5)
    page.mouse.up()
    expect(page.locator(".editor circle")).to_have_count(3)  # moved, none added
    page.fill("#zone-name", "dragged-zone")
    page.fill("#rule-name", "")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#zone-message")).to_have_text("Zone dragged-zone saved.")
    zone = {z["name"]: z for z in console.get("/api/zones")}["dragged-zone"]
    polygon = zone["definition"]["polygon"]
    assert polygon[2] == pytest.approx(
        [260 / box["width"], 320 / box["height"]], abs=0.01
    )
    assert polygon[0] == pytest.approx(
        [100 / box["width"], 100 / box["height"]], abs=0.01
    )


def _post(console: Console, path: str, body: dict[str, Any]) -> None:
    response = httpx.post(f"{console.base}{path}", json=body, timeout=10)
    assert response.status_code == 201, response.text


# On the building's wall, where nobody walks: its rule raises nothing.
WALL = [[0.05, 0.02], [0.25, 0.02], [0.25, 0.12], [0.05, 0.12]]


def _wall_and_its_rule(console: Console) -> None:
    """The zone "wall" and its rule "wall-watch", made unless they are there."""
    if "wall" not in [z["name"] for z in console.get("/api/zones")]:
        _post(
            console, "/api/zones", {"name": "wall", "camera": CAMERA, "polygon": WALL}
        )
    if "wall-watch" not in [r["name"] for r in console.get("/api/rules")]:
        _post(
            console,
            "/api/rules",
            {"name": "wall-watch", "kind": "restricted_area", "zone": "wall"},
        )


def test_a_saved_zone_and_its_rule_are_edited_and_saved_with_put(
    console: Console, page: Page
) -> None:
    _wall_and_its_rule(console)
    _open_zones(console, page)
    item = page.locator('[data-shape="zone:wall"]')
    expect(item).to_contain_text("rules: wall-watch")
    item.get_by_role("button", name="Edit zone wall").click()
    expect(page.locator("#zone-name")).to_have_value("wall")
    expect(page.locator("#zone-name")).to_be_disabled()
    expect(page.locator("#rule-name")).to_have_value("wall-watch")
    expect(page.locator("#rule-dwell")).to_have_value("0.5")
    expect(page.locator(".editor circle")).to_have_count(4)
    expect(page.locator('.editor polygon.saved[data-zone="wall"]')).to_have_count(0)

    # Its corner dragged, its dwell, cooldown and classes changed.
    overlay = page.locator(".editor svg")
    overlay.scroll_into_view_if_needed()
    box = overlay.bounding_box()
    assert box is not None
    corner = (box["x"] + 0.25 * box["width"], box["y"] + 0.12 * box["height"])
    page.mouse.move(*corner)
    page.mouse.down()
    page.mouse.move(corner[0] + 40, corner[1] + 30, steps=5)
    page.mouse.up()
    page.fill("#rule-dwell", "4")
    page.fill("#rule-cooldown", "20")
    page.fill("#rule-classes", "person, car")
    page.get_by_role("button", name="Save changes to zone wall").click()
    expect(page.locator("#zone-message")).to_have_text(
        "Zone wall saved. Rule wall-watch saved."
    )
    rule = console.get("/api/rules/wall-watch")["definition"]
    assert [rule["min_dwell"], rule["cooldown"], rule["classes"]] == [
        4,
        20,
        ["person", "car"],
    ]
    assert rule["zone"] == "wall" and rule["kind"] == "restricted_area"
    polygon = console.get("/api/zones/wall")["definition"]["polygon"]
    assert polygon[2] == pytest.approx(
        [0.25 + 40 / box["width"], 0.12 + 30 / box["height"]], abs=0.01
    )
    assert polygon[0] == pytest.approx(WALL[0], abs=0.001)
    expect(page.locator('.editor polygon.saved[data-zone="wall"]')).to_have_count(1)
    expect(page.locator("#zone-name")).to_be_enabled()

    # The site file's zone: the API's refusal is shown, and nothing changes.
    page.locator('[data-shape="zone:lawn"]').get_by_role(
        "button", name="Edit zone lawn"
    ).click()
    page.get_by_role("button", name="Save changes to zone lawn").click()
    expect(page.locator("#zone-message")).to_contain_text(
        "Not saved: zone 'lawn' is defined in the site file"
    )
    page.get_by_role("button", name="Stop editing").click()
    expect(page.locator("#zone-save")).to_have_text("Save")


def test_a_zone_and_its_rule_are_deleted_after_a_confirmation(
    console: Console, page: Page
) -> None:
    _wall_and_its_rule(console)
    _open_zones(console, page)
    item = page.locator('[data-shape="zone:wall"]')
    dialog = page.locator("#confirm-dialog")

    # Cancelled: nothing is deleted.
    item.get_by_role("button", name="Delete zone wall…").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Its rule wall-watch will be deleted first.")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert "wall" in [z["name"] for z in console.get("/api/zones")]

    item.get_by_role("button", name="Delete zone wall…").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator("#zone-message")).to_have_text(
        "Deleted rule wall-watch and zone wall."
    )
    assert "wall" not in [z["name"] for z in console.get("/api/zones")]
    assert "wall-watch" not in [r["name"] for r in console.get("/api/rules")]
    expect(item).to_have_count(0)
    expect(page.locator('.editor polygon.saved[data-zone="wall"]')).to_have_count(0)
    expect(page.locator('.editor polygon.saved[data-zone="lawn"]')).to_have_count(1)

    # The site file's zone and rule: the API refuses, and the page says why.
    page.locator('[data-shape="zone:lawn"]').get_by_role(
        "button", name="Delete zone lawn…"
    ).click()
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator("#zone-message")).to_contain_text(
        "zone lawn not deleted: rule 'keep-off-the-grass' is defined in the site file"
    )
    assert "lawn" in [z["name"] for z in console.get("/api/zones")]
    expect(page.locator('.editor polygon.saved[data-zone="lawn"]')).to_have_count(1)


# Beside the wall, where nobody walks either: its rules raise nothing.
SHED = [[0.7, 0.02], [0.9, 0.02], [0.9, 0.12], [0.7, 0.12]]


def _rules_of(console: Console, zone: str) -> dict[str, dict[str, Any]]:
    rules = console.get("/api/rules")
    return {
        r["name"]: r["definition"]
        for r in rules
        if r["definition"] and r["definition"].get("zone") == zone
    }


def _shed_with_one_rule(console: Console) -> None:
    """The zone "shed" afresh, with its one rule "shed-watch"."""
    for rule in _rules_of(console, "shed"):
        httpx.delete(f"{console.base}/api/rules/{rule}", timeout=10)
    httpx.delete(f"{console.base}/api/zones/shed", timeout=10)
    _post(console, "/api/zones", {"name": "shed", "camera": CAMERA, "polygon": SHED})
    _post(
        console,
        "/api/rules",
        {"name": "shed-watch", "kind": "restricted_area", "zone": "shed"},
    )


def test_a_zone_s_second_rule_is_added_edited_and_removed_from_its_list(
    console: Console, page: Page
) -> None:
    _shed_with_one_rule(console)
    first = console.get("/api/rules/shed-watch")["definition"]
    _open_zones(console, page)
    rules = page.locator("#rule-list li[data-rule]")
    rule_message = page.locator("#rule-message")
    expect(page.locator("#shape-rules")).to_be_hidden()

    def edit_shed() -> None:
        page.locator('[data-shape="zone:shed"]').get_by_role(
            "button", name="Edit zone shed"
        ).click()
        expect(page.locator("#shape-rules")).to_be_visible()

    # Its one rule is listed, and in the fields.
    edit_shed()
    expect(rules).to_have_count(1)
    expect(rules.first).to_contain_text("shed-watch restricted_area")
    expect(rules.first).to_contain_text("person · inside 0.5 s")
    expect(page.locator("#rule-name")).to_have_value("shed-watch")

    # A second one added: refused as the API says (422, then 409), then saved.
    page.get_by_role("button", name="Add a rule to zone shed").click()
    expect(page.locator("#rule-name")).to_have_value("")
    expect(page.locator("#rule-name")).to_be_enabled()
    page.fill("#rule-name", "shed-loiter")
    page.select_option("#rule-kind", "loitering")
    save = page.get_by_role("button", name="Save changes to zone shed")
    save.click()
    expect(rule_message).to_have_text(
        "Not saved: rule 'shed-loiter' (loitering) needs limit_s, in seconds"
    )
    expect(rule_message).to_have_class("error")
    page.fill("#rule-limit", "30")
    page.fill("#rule-name", "keep-off-the-grass")
    save.click()
    expect(rule_message).to_contain_text("Not saved: rule 'keep-off-the-grass'")
    assert list(_rules_of(console, "shed")) == ["shed-watch"]
    page.fill("#rule-name", "shed-loiter")
    save.click()
    expect(page.locator("#zone-message")).to_have_text(
        "Zone shed saved. Rule shed-loiter saved."
    )
    saved = _rules_of(console, "shed")
    assert sorted(saved) == ["shed-loiter", "shed-watch"]
    assert saved["shed-loiter"]["kind"] == "loitering"
    assert saved["shed-loiter"]["limit_s"] == 30

    # The second one picked from the list, its cooldown changed and saved.
    edit_shed()
    expect(rules).to_have_count(2)
    page.get_by_role("button", name="Edit rule shed-loiter").click()
    expect(page.locator("#rule-name")).to_have_value("shed-loiter")
    expect(page.locator("#rule-name")).to_be_disabled()
    expect(page.locator("#rule-kind")).to_have_value("loitering")
    expect(page.locator("#rule-limit")).to_have_value("30")
    page.fill("#rule-cooldown", "45")
    save.click()
    expect(page.locator("#zone-message")).to_have_text(
        "Zone shed saved. Rule shed-loiter saved."
    )
    saved = _rules_of(console, "shed")
    assert [saved["shed-loiter"]["cooldown"], saved["shed-loiter"]["limit_s"]] == [
        45,
        30,
    ]
    assert saved["shed-watch"] == first

    # The second one removed after a confirmation; the first one stays.
    edit_shed()
    expect(rules.filter(has_text="cooldown 45 s")).to_have_count(1)
    dialog = page.locator("#confirm-dialog")
    page.get_by_role("button", name="Remove rule shed-loiter…").click()
    expect(dialog).to_contain_text("Delete rule shed-loiter?")
    dialog.get_by_role("button", name="Cancel").click()
    assert sorted(_rules_of(console, "shed")) == ["shed-loiter", "shed-watch"]
    page.get_by_role("button", name="Remove rule shed-loiter…").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(rule_message).to_have_text("Deleted rule shed-loiter.")
    expect(rules).to_have_count(1)
    expect(rules.first).to_contain_text("shed-watch")
    assert _rules_of(console, "shed") == {"shed-watch": first}
    expect(page.locator('[data-shape="zone:shed"]')).to_contain_text(
        "rules: shed-watch"
    )

    # The site file's rule: the API's refusal (409) is shown beside the form.
    page.locator('[data-shape="zone:lawn"]').get_by_role(
        "button", name="Edit zone lawn"
    ).click()
    page.get_by_role("button", name=f"Remove rule {LAWN_RULE}…").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(rule_message).to_contain_text(
        f"Rule {LAWN_RULE} not deleted: rule '{LAWN_RULE}' is defined in the site file"
    )
    assert LAWN_RULE in [r["name"] for r in console.get("/api/rules")]
    page.get_by_role("button", name="Stop editing").click()
    expect(page.locator("#shape-rules")).to_be_hidden()


def _footage_recorded(console: Console, url: str) -> bool:
    response = httpx.get(
        f"{console.base}{url}", headers={"range": "bytes=0-1"}, timeout=30
    )
    return response.status_code == 206


def _played_event(console: Console, with_identity: bool = False) -> dict[str, Any]:
    """The newest person's end whose footage is recorded, its own moment too
    (``clip_available``, which a search with "has footage" asks for), and
    identity resolved if asked.

    An ended track's footage no longer grows, so its link stays the same. A
    track's footage can play while the segment holding its end is still
    being written: that end is not yet covered, so it is passed over.
    """
    found: dict[str, Any] = {}

    def recorded() -> bool:
        events = console.get("/api/events", label="person", kind="ended", limit=50)[
            "items"
        ]
        for event in events:
            if with_identity and event["identity_id"] is None:
                continue
            url = event["footage"]["url"]
            if url and event["clip_available"] and _footage_recorded(console, url):
                found.update(event)
                return True
        return False

    assert wait_for(recorded, FOOTAGE_LIMIT_S, 1.0), console.get(
        "/api/events", label="person", limit=5
    )
    return found


def _plays(page: Page) -> None:
    video = page.locator("#search-player video")
    expect(video).to_be_visible()
    video.evaluate("v => { v.muted = true; return v.play(); }")
    assert wait_for(lambda: video.evaluate("v => v.currentTime") > 0.5, 15), (
        video.evaluate("v => [v.currentTime, v.readyState, v.error && v.error.code]")
    )
    assert video.evaluate("v => v.videoWidth") == 768
    video.evaluate("v => v.pause()")


def test_a_search_for_the_person_shows_snapshots_and_plays_the_footage(
    console: Console, page: Page
) -> None:
    event = _played_event(console)
    _open(console, page, "search")
    page.fill("#search-q", "person")
    page.get_by_role("button", name="Search", exact=True).click()
    result = page.locator(f'li.result[data-event="{event["id"]}"]')
    expect(result).to_be_visible()
    expect(result).to_contain_text(CAMERA)
    expect(result.locator("time")).to_have_attribute("datetime", event["time"])
    if event["snapshot_url"]:
        snapshot = result.locator("img")
        assert wait_for(lambda: snapshot.evaluate("img => img.naturalWidth") > 0, 10)
    assert page.locator("li.result").count() >= 1
    assert page.locator("li.result img").count() >= 1, "no result has a snapshot"

    result.locator("button.pick").click()
    expect(page.locator("#search-player video")).to_have_attribute(
        "src", event["footage"]["url"]
    )
    _plays(page)


def test_filters_by_camera_and_label_find_the_person_s_events(
    console: Console, page: Page
) -> None:
    event = _played_event(console)
    _open(console, page, "search")
    expect(page.locator(f'#search-camera option[value="{CAMERA}"]')).to_have_count(1)
    page.select_option("#search-camera", CAMERA)
    page.fill("#search-label", "person")
    page.fill("#search-q", "")
    with page.expect_response(lambda r: "/api/events?" in r.url) as answer:
        page.get_by_role("button", name="Search", exact=True).click()
    asked = httpx.URL(answer.value.url).params
    assert asked["camera"] == CAMERA
    assert asked["label"] == "person"
    assert "q" not in asked
    expect(page.locator(f'li.result[data-event="{event["id"]}"]')).to_be_visible()
    shown = page.locator("li.result")
    assert shown.count() >= 1
    for text in shown.all_inner_texts():
        assert f"{CAMERA} · person" in text

    # Combined with the text, and a colour from its allowed values.
    expect(page.locator("#search-upper option")).to_have_count(12)  # any + 11
    page.fill("#search-q", "person")
    page.check("#search-has-clip")
    with page.expect_response(lambda r: "/api/events?" in r.url) as answer:
        page.get_by_role("button", name="Search", exact=True).click()
    asked = httpx.URL(answer.value.url).params
    assert [asked["q"], asked["camera"], asked["has_clip"]] == [
        "person",
        CAMERA,
        "true",
    ]
    expect(page.locator(f'li.result[data-event="{event["id"]}"]')).to_be_visible()


def test_an_identity_s_journey_shows_its_appearances_and_plays_them(
    console: Console, page: Page
) -> None:
    event = _played_event(console, with_identity=True)
    journey = console.get(f"/api/identities/{event['identity_id']}/journey")
    _open(console, page, "search")
    page.fill("#search-q", "person")
    page.get_by_role("button", name="Search", exact=True).click()
    page.locator(f'li.result[data-event="{event["id"]}"] button[data-journey]').click()
    stops = page.locator("ol.journey li.stop")
    expect(stops).to_have_count(len(journey["appearances"]))
    expect(page.locator(".time-line .mark")).to_have_count(len(journey["appearances"]))
    first = journey["appearances"][0]
    stop = page.locator(f'li.stop[data-track="{first["track_id"]}"]')
    expect(stop).to_contain_text(first["camera"])
    expect(stop.locator("time").first).to_have_attribute("datetime", first["start"])
    if first["snapshot_url"]:
        snapshot = stop.locator("img")
        assert wait_for(lambda: snapshot.evaluate("img => img.naturalWidth") > 0, 10)
    stop.get_by_role("button", name="Play").click()
    expect(page.locator("#search-player video")).to_have_attribute(
        "src", first["footage_url"]
    )
    _plays(page)
    _screenshot(page, "console-search.jpg")


def _entered_after(
    alert: dict[str, Any], polygon: list[list[float]], saved: datetime
) -> bool:
    """Whether the alert's track was seen outside the zone after it was saved."""
    start = datetime.fromisoformat(alert["start"])
    path = alert["path"]
    return bool(path) and any(
        start + timedelta(seconds=t) >= saved and not contains(polygon, (x, y))
        for t, x, y in path
        if t <= 0
    )


def test_a_zone_drawn_with_clicks_and_its_rule_raise_the_next_alert(
    console: Console, page: Page
) -> None:
    _open_zones(console, page)
    overlay = page.locator(".editor svg")
    overlay.scroll_into_view_if_needed()
    box = overlay.bounding_box()
    assert box is not None
    for fx, fy in DRAWN_ZONE:
        overlay.click(position={"x": fx * box["width"], "y": fy * box["height"]})
    expect(page.locator(".editor circle")).to_have_count(4)
    page.fill("#zone-name", "drawn-walk")
    page.fill("#rule-name", "drawn-walk-restricted")
    page.fill("#rule-dwell", "0.5")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#zone-message")).to_contain_text(
        "Zone drawn-walk saved. Rule drawn-walk-restricted saved."
    )
    zone = console.get("/api/zones/drawn-walk")
    polygon = zone["definition"]["polygon"]
    assert polygon == [pytest.approx(list(p), abs=0.01) for p in DRAWN_ZONE]
    saved = datetime.fromisoformat(zone["created_at"])

    # The rule applies from the zone's saving on, to a person who walks in
    # then: the track's path has them outside the zone after it was saved.
    entered: list[dict[str, Any]] = []

    def alerted() -> bool:
        alerts = console.get("/api/alerts", rule="drawn-walk-restricted")["items"]
        for alert in alerts:
            assert datetime.fromisoformat(alert["start"]) > saved, (alert, saved)
        entered[:] = [a for a in alerts if _entered_after(a, polygon, saved)]
        return bool(entered)

    assert wait_for(alerted, DRAWN_ALERT_LIMIT_S, 0.5), console.output()[-3000:]
    alert = entered[0]
    assert alert["zone"] == "drawn-walk"
    assert alert["camera"] == CAMERA
    assert alert["label"] == "person"
    path = alert["path"]
    assert not contains(polygon, (path[0][1], path[0][2])), path
    assert any(contains(polygon, (x, y)) for t, x, y in path if t >= 0), path

    # Its page draws the whole path once the episode is over.
    url = f"/api/alerts/{alert['id']}"
    assert wait_for(lambda: console.get(url)["end"] is not None, CLIP_LIMIT_S, 0.5)
    if os.environ.get("WATCHFLOOR_CONSOLE_SCREENSHOTS"):  # with its clip, then

        def clip_ready() -> bool:
            return console.get(url)["clip_state"] == "ready"

        assert wait_for(clip_ready, CLIP_LIMIT_S, 0.5), console.get(url)
    _open(console, page, url.removeprefix("/api/"))
    _shows_the_path(page, console.get(url))
    _screenshot(page, "console-alert.jpg")


# ---- accessibility ---------------------------------------------------------------

# What the page's DOM says a user agent and its users cannot use: pictures
# without a text, controls without a name, things that take focus or clicks
# without being controls.
AUDIT = """() => {
  const problems = [];
  const show = (node) => node.outerHTML.slice(0, 160);
  const text = (id) => document.getElementById(id)?.textContent.trim() || "";
  const named = (node) => Boolean(
    (node.getAttribute("aria-label") || "").trim()
    || (node.getAttribute("aria-labelledby") || "").split(/\\s+/).map(text).join("")
    || [...(node.labels || [])].some((label) => label.textContent.trim()));
  for (const img of document.querySelectorAll("img")) {
    if (!(img.getAttribute("alt") || "").trim()) {
      problems.push(`picture without alt: ${show(img)}`);
    }
  }
  const fields = "input:not([type=hidden]), select, textarea";
  for (const field of document.querySelectorAll(fields)) {
    if (!named(field)) problems.push(`form control without a name: ${show(field)}`);
  }
  for (const control of document.querySelectorAll("button, a[href]")) {
    const alts = [...control.querySelectorAll("img")].map((i) => i.alt).join("");
    if (!control.textContent.trim() && !alts && !named(control)) {
      problems.push(`control without a name: ${show(control)}`);
    }
  }
  const controls = "a[href], button, input, select, textarea, summary, "
    + "video[controls], audio[controls]";
  for (const node of document.querySelectorAll("[onclick], [tabindex]")) {
    if (node.matches(controls)) continue;
    if (node.hasAttribute("onclick")) {
      problems.push(`clickable, not a control: ${show(node)}`);
    }
    if (node.tabIndex >= 0 && !node.hasAttribute("role")) {
      problems.push(`focusable without a role: ${show(node)}`);
    }
  }
  return problems;
}"""

# Listeners that make an element work as a control.
CONTROL_EVENTS = {"click", "dblclick", "mousedown", "mouseup", "keydown", "keyup"}
CONTROL_EVENTS |= {"keypress", "pointerdown", "pointerup", "touchstart", "touchend"}
CONTROLS = {"BUTTON", "INPUT", "SELECT", "TEXTAREA", "SUMMARY", "#document"}


def _listening_non_controls(page: Page) -> list[str]:
    """Elements with a click, key or pointer listener that are not controls.

    The DevTools protocol lists the page's listeners as the browser holds them.
    The zone editor's picture is drawn on with a pointer (an SVG surface, with
    its corners' handles): the form's fields and buttons are its controls.
    """
    session = page.context.new_cdp_session(page)
    try:
        session.send("DOM.getDocument", {"depth": 0})
        document = session.send("Runtime.evaluate", {"expression": "document"})
        listeners = session.send(
            "DOMDebugger.getEventListeners",
            {"objectId": document["result"]["objectId"], "depth": -1, "pierce": True},
        )["listeners"]
        found = []
        for listener in listeners:
            if listener["type"] not in CONTROL_EVENTS:
                continue
            node = session.send(
                "DOM.describeNode", {"backendNodeId": listener["backendNodeId"]}
            )["node"]
            name = node["nodeName"]
            attributes = node.get("attributes", [])
            pairs = dict(zip(attributes[::2], attributes[1::2], strict=True))
            if name in CONTROLS or (name == "A" and "href" in pairs):
                continue
            if name.islower():  # SVG: the drawing surface
                continue
            found.append(f"{listener['type']} on <{name.lower()} {pairs}>")
        return found
    finally:
        session.detach()


def _focus_rings(page: Page, stops: int = 30) -> list[str]:
    """Tab through the page's first stops; those whose focus shows no ring.

    Returns the problems; where the page's content has buttons, one of them
    must be among the stops.
    """
    page.locator("main").focus()
    problems = []
    seen_button = page.locator("main button:visible").count() == 0
    for _ in range(stops):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => {
              const node = document.activeElement;
              if (!node || node === document.body) return null;
              const style = getComputedStyle(node);
              const outline = style.outlineStyle !== "none"
                && parseFloat(style.outlineWidth) > 0;
              const ring = outline || style.boxShadow !== "none";
              return { tag: node.tagName, ring, html: node.outerHTML.slice(0, 120) };
            }"""
        )
        if focused is None:
            break
        seen_button = seen_button or focused["tag"] == "BUTTON"
        if not focused["ring"]:
            problems.append(f"focus not visible: {focused['html']}")
    if not seen_button:
        problems.append(f"none of its buttons within the first {stops} tab stops")
    return problems


def _audit(page: Page, where: str) -> list[str]:
    problems = page.evaluate(AUDIT) + _listening_non_controls(page)
    problems += _focus_rings(page)
    return [f"{where}: {problem}" for problem in problems]


def test_every_page_names_its_pictures_and_controls_and_shows_focus(
    console: Console, page: Page
) -> None:
    alert = _lawn_alert(console, lambda a: True, ALERT_LIMIT_S)
    incident = _an_incident(console)
    problems = []

    open_live(console, page)
    expect(page.locator(f'li[data-alert="{alert["id"]}"]')).to_be_visible()
    expect(page.locator(f'img[data-live="{CAMERA}"]')).to_be_visible()
    problems += _audit(page, "live")

    _open(console, page, f"alerts/{alert['id']}")
    expect(page.locator("h1")).to_contain_text(f"Alert {alert['id']}")
    problems += _audit(page, "alert")

    _open(console, page, "incidents")
    expect(page.get_by_role("link", name=f"#{incident['id']}")).to_be_visible()
    problems += _audit(page, "incidents")

    _open(console, page, f"incidents/{incident['id']}")
    expect(page.locator("h1")).to_contain_text(f"Incident #{incident['id']}")
    problems += _audit(page, "incident")

    _open_zones(console, page)
    expect(page.locator('[data-shape="zone:lawn"]')).to_be_visible()
    problems += _audit(page, "zones")

    _open(console, page, "search")
    page.fill("#search-q", "person")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("li.result").first).to_be_visible(
        timeout=FOOTAGE_LIMIT_S * 1000
    )
    journey = page.locator("li.result button[data-journey]")
    if journey.count():
        journey.first.click()
        expect(page.locator("ol.journey li.stop").first).to_be_visible()
    problems += _audit(page, "search")
    assert not problems, "\n".join(problems)


# ---- screen sizes ----------------------------------------------------------------

WALL_DISPLAY = {"width": 2560, "height": 1440}
LAPTOP = {"width": 1366, "height": 768}

# The page's widths, where its camera tile and alert feed are, and the
# smallest text that is on the screen.
LAYOUT = """() => {
  const box = (selector) => document.querySelector(selector)?.getBoundingClientRect()
    .toJSON();
  const sizes = [];
  for (const node of document.querySelectorAll("body *")) {
    const text = [...node.childNodes]
      .some((c) => c.nodeType === Node.TEXT_NODE && c.textContent.trim());
    const rect = node.getBoundingClientRect();
    const onScreen = rect.width > 0 && rect.height > 0 && rect.right > 0
      && rect.bottom > 0 && rect.left < innerWidth && rect.top < innerHeight;
    const size = parseFloat(getComputedStyle(node).fontSize);
    if (text && onScreen) sizes.push([size, node.outerHTML.slice(0, 80)]);
  }
  sizes.sort((a, b) => a[0] - b[0]);
  return {
    scrollWidth: document.scrollingElement.scrollWidth, innerWidth, innerHeight,
    tile: box("figure.tile"), feed: box("section.feed"),
    body: parseFloat(getComputedStyle(document.body).fontSize), smallest: sizes[0],
  };
}"""


def _on_screen(rect: dict[str, float] | None, layout: dict[str, Any]) -> bool:
    return (
        rect is not None
        and rect["width"] > 0
        and rect["height"] > 0
        and rect["left"] < layout["innerWidth"]
        and rect["top"] < layout["innerHeight"]
        and rect["right"] > 0
        and rect["bottom"] > 0
    )


def _live_layout(console: Console, page: Page) -> dict[str, Any]:
    view = open_live(console, page)
    expect(view).to_be_visible()
    expect(page.locator("li.alert-item").first).to_be_visible(
        timeout=ALERT_LIMIT_S * 1000
    )
    layout: dict[str, Any] = page.evaluate(LAYOUT)
    assert layout["scrollWidth"] <= layout["innerWidth"], layout
    assert _on_screen(layout["tile"], layout), layout
    assert _on_screen(layout["feed"], layout), layout
    return layout


def test_the_live_page_fits_a_laptop_and_a_wall_display(
    console: Console, page: Page, tmp_path: Path
) -> None:
    try:
        page.set_viewport_size(LAPTOP)
        laptop = _live_layout(console, page)
        assert laptop["smallest"][0] >= 14, laptop
        for route in ("zones", "search"):
            _open(console, page, route)
            expect(page.locator("h1")).to_be_visible()
            if route == "zones":
                expect(page.locator('[data-shape="zone:lawn"]')).to_be_visible()
            else:
                expect(page.locator("#search-summary")).not_to_be_empty()
            width = page.evaluate("[document.scrollingElement.scrollWidth, innerWidth]")
            assert width[0] <= width[1], (route, width)

        page.set_viewport_size(WALL_DISPLAY)
        wall = _live_layout(console, page)
        assert wall["body"] > laptop["body"], (wall, laptop)
        assert wall["smallest"][0] > laptop["smallest"][0], (wall, laptop)
        shot = tmp_path / "console-live-2560x1440.png"
        page.screenshot(path=str(shot))
        print(f"screenshot of the wall display's live page: {shot}")
    finally:
        page.set_viewport_size(LAPTOP)
