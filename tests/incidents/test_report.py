"""The post-incident review report: Markdown and HTML, snapshots, durations, and
user text that never runs as HTML."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import site_config
from tests.incidents.evidence_scene import (
    T0,
    Scene,
    at,
    build_scene,
    fresh_database,
)
from watchfloor.api.app import create_app
from watchfloor.bus import Bus
from watchfloor.incidents.report import (
    IncidentReport,
    build_report,
    markdown_to_html,
    neutralise_markdown,
)
from watchfloor.models.database import Database

NOW = datetime(2024, 5, 2, 8, 0, 0, tzinfo=UTC)
DATA_IMAGE = re.compile(r'<img src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture
def scene(db: Database, tmp_path: Path) -> Scene:
    """The incident of :func:`build_scene`, on SQLite and on PostgreSQL."""
    return build_scene(db, tmp_path)


def report_of(scene: Scene) -> IncidentReport:
    with scene.db.session() as session:
        return build_report(session, scene.incident_id, scene.media, now=NOW)


def test_durations_come_from_the_alerts_and_the_timeline(scene: Scene) -> None:
    durations = report_of(scene).durations

    assert durations.detected_at == T0  # the first linked alert's start
    assert durations.acknowledged_at == at(30)  # alert 1 was handled at +30 s
    assert durations.contained_at == at(600)
    assert durations.recovered_at == at(2400)
    assert durations.closed_at == at(3600)
    data = durations.to_dict()
    assert data["time_to_acknowledge_s"] == 30
    assert data["time_to_contain_s"] == 600
    assert data["time_to_recover_s"] == 2400
    assert data["time_to_close_s"] == 3600


def test_the_markdown_report_has_every_section(scene: Scene) -> None:
    text = report_of(scene).markdown()

    assert text.startswith(f"# Incident {scene.incident_id}: Intrusion at the dock")
    for heading in (
        "## Summary",
        "## Durations",
        "## Roles",
        "## Linked alerts",
        "## Linked clips",
        "## Linked events",
        "## Snapshots",
        "## Timeline",
        "## Notes",
        "## External references",
        "## Review",
        "### Root cause",
        "### What worked",
        "### What did not work",
        "### Actions",
    ):
        assert f"\n{heading}\n" in text, heading
    assert "| Time to acknowledge | 2024-05-01T12:00:30+00:00 | 30 s |" in text
    assert "| Time to contain | 2024-05-01T12:10:00+00:00 | 10 min 00 s |" in text
    assert "| Time to recover | 2024-05-01T12:40:00+00:00 | 40 min 00 s |" in text
    assert "| Time to close | 2024-05-01T13:00:00+00:00 | 1 h 00 min 00 s |" in text
    for name in scene.snapshot_names:
        assert re.search(rf"!\[[^\]]+\]\({re.escape(name)}\)", text), name
    first, second = scene.clip_ids
    alert = scene.alert_ids[0]
    assert (
        f"| alert {alert} | [clips/clip-{first}.mp4](clips/clip-{first}.mp4) |" in text
    )
    assert f"| linked | [clips/clip-{second}.mp4](clips/clip-{second}.mp4) |" in text
    assert "| commander | ana |" in text
    assert "dock-intrusion" in text and "fence-crossing" in text
    assert "- cameras saw it\n- the guard came in 3 minutes" in text
    assert "[SEC-1234](<https://tickets.example/SEC-1234>)" in text
    assert "Guard sent to the dock.\nGate locked behind him." in text


def test_the_markdown_report_passes_no_raw_html(scene: Scene) -> None:
    text = report_of(scene).markdown()

    assert not re.search(r"<(script|img|b|i)\b", text, re.IGNORECASE)
    assert '&lt;script>alert("x")&lt;/script>' in text
    assert "&lt;img src=x onerror=alert(1)>" in text
    assert "**confirmed**" in text  # the notes' own Markdown is kept


def test_the_html_report_escapes_user_text_and_inlines_snapshots(
    scene: Scene,
) -> None:
    page = report_of(scene).html()

    # Nothing a user wrote becomes markup.
    assert "<script" not in page.lower()
    assert "onerror=alert(1)>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page  # title
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; <strong>" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Dock &lt;b&gt;north&lt;/b&gt;" in page
    assert "bo &lt;i&gt;" in page
    # Notes keep their paragraphs and line breaks.
    assert "<p>Guard sent to the dock.<br />\nGate locked behind him.</p>" in page
    assert "<li>cameras saw it</li>" in page

    # Every snapshot, inline, byte for byte.
    inlined = [base64.b64decode(data) for data in DATA_IMAGE.findall(page)]
    assert sorted(inlined) == sorted(
        path.read_bytes() for path in scene.snapshot_files.values()
    )
    assert all(data[:3] == b"\xff\xd8\xff" for data in inlined)  # JPEG


def test_a_missing_snapshot_is_named_in_the_report(tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path) as database:
        scene = build_scene(database, tmp_path)
        gone = sorted(scene.snapshot_names)[0]
        scene.snapshot_files[gone].unlink()
        report = report_of(scene)
    assert len(DATA_IMAGE.findall(report.html())) == 3
    assert "## Missing files" in report.markdown()
    assert "is missing from disk" in report.markdown()


def test_an_unknown_incident_has_no_report(tmp_path: Path) -> None:
    with (
        fresh_database("sqlite", tmp_path) as database,
        database.session() as session,
        pytest.raises(LookupError, match="999"),
    ):
        build_report(session, 999, tmp_path)


# --- over the API --------------------------------------------------------------


def test_the_api_answers_markdown_and_html(scene: Scene) -> None:
    app = create_app(site_config(scene.media), scene.db, Bus())
    with TestClient(app) as client:
        url = f"/api/incidents/{scene.incident_id}/report"
        markdown = client.get(url)
        also_markdown = client.get(url, params={"format": "markdown"})
        page = client.get(url, params={"format": "html"})
        wrong = client.get(url, params={"format": "pdf"})
        missing = client.get("/api/incidents/999/report")

    assert markdown.status_code == 200
    assert markdown.headers["content-type"] == "text/markdown; charset=utf-8"
    assert markdown.text.startswith(f"# Incident {scene.incident_id}:")
    assert (
        also_markdown.text.split("Report generated")[0]
        == (markdown.text.split("Report generated")[0])
    )
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src" not in page.headers["content-security-policy"]
    assert "img-src data:" in page.headers["content-security-policy"]
    assert len(DATA_IMAGE.findall(page.text)) == len(scene.snapshot_names)
    assert "<script" not in page.text.lower()
    assert wrong.status_code == 422
    assert "format" in wrong.json()["detail"]
    assert missing.status_code == 404
    assert "no incident with id 999" in missing.json()["detail"]


# --- rendering user text -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text", "plain text"),
        ("<script>x</script>", "&lt;script>x&lt;/script>"),
        ("a < b and c > d", "a < b and c > d"),
        ("<!-- hidden -->", "&lt;!-- hidden -->"),
        ("<?php ?>", "&lt;?php ?>"),
        ("keep `<b>` in code", "keep `<b>` in code"),
        ("``<i>`` and <i>", "``<i>`` and &lt;i>"),
        ("```\n<b>fenced</b>\n```\n<b>", "```\n<b>fenced</b>\n```\n&lt;b>"),
        ("~~~html\n<p>\n~~~", "~~~html\n<p>\n~~~"),
    ],
)
def test_markdown_is_neutralised_outside_code(text: str, expected: str) -> None:
    assert neutralise_markdown(text) == expected


@pytest.mark.parametrize(
    ("text", "must_have", "must_not_have"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;", "<script"),
        ("[x](javascript:alert(1))", "[x](javascript:alert(1))", "href"),
        ("![x](https://tracker.example/p.png)", "tracker.example", "<img"),
        ("one\ntwo\n\nthree", "one<br />\ntwo</p>\n<p>three", "<script"),
        ('<a href="x" onclick="y">', "&lt;a href=&quot;x&quot;", "<a "),
    ],
)
def test_user_markdown_renders_safely(
    text: str, must_have: str, must_not_have: str
) -> None:
    rendered = markdown_to_html(text)
    assert must_have in rendered
    assert must_not_have not in rendered


def test_durations_are_written_for_people(tmp_path: Path) -> None:
    from watchfloor.incidents.report import _duration

    assert _duration(None) == "-"
    assert _duration(timedelta(seconds=45)) == "45 s"
    assert _duration(timedelta(seconds=125)) == "2 min 05 s"
    assert _duration(timedelta(hours=26, seconds=7)) == "26 h 00 min 07 s"
