"""The site file: schema, line-numbered errors, environment variables, secrets."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from watchfloor.cli import setup_logging
from watchfloor.config import SiteConfigError, load_site, parse_site, redact

GOOD = """\
storage:
  media: footage
cameras:
  - name: gate
    url: rtsp://admin:${GATE_PASSWORD}@10.0.0.5:554/live
    fps: 5
  - name: dock
    url: rtsp://10.0.0.6/main
    record_url: rtsp://10.0.0.6/hd
"""


def test_good_site_loads(tmp_path: Path) -> None:
    site_file = tmp_path / "site.yaml"
    site_file.write_text(GOOD)
    site = load_site(site_file, environ={"GATE_PASSWORD": "s3cr3t"})

    assert [c.name for c in site.cameras] == ["gate", "dock"]
    assert site.cameras[0].url == "rtsp://admin:s3cr3t@10.0.0.5:554/live"
    assert site.cameras[0].safe_url == "rtsp://admin:***@10.0.0.5:554/live"
    assert site.media_dir == (tmp_path / "footage").resolve()
    assert site.database_url.endswith("footage/watchfloor.db")
    assert site.recording.segment_s == 10
    assert site.ingest.rtsp_transport == "tcp"


def test_empty_site_is_a_site_being_set_up() -> None:
    site = parse_site("")
    assert site.cameras == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cameras:\n  - name: gate\n", "line 2: cameras['gate'].url: Field required"),
        (
            "cameras:\n  - name: gate\n    url: x\n    fps: -1\n",
            "line 4: cameras['gate'].fps: Input should be greater than 0",
        ),
        (
            "cameras:\n  - name: gate\n    url: x\n    colour: red\n",
            "line 4: cameras['gate'].colour: unknown key",
        ),
        ("storage:\n  medai: x\n", "line 2: storage.medai: unknown key"),
        (
            "cameras:\n  - {name: a, url: x}\n  - {name: a, url: y}\n",
            "camera name 'a' is used twice",
        ),
        ("cameras:\n  - name: 'bad name'\n    url: x\n", "line 2: cameras"),
        ("cameras: [\n", "not valid YAML"),
        ("- 1\n- 2\n", "must be a mapping"),
        (
            "cameras:\n  - name: gate\n    url: rtsp://u:${NOPE}@h/x\n",
            "line 3: cameras[0].url refers to ${NOPE}, which is not set",
        ),
    ],
)
def test_bad_site_names_key_and_line(text: str, expected: str) -> None:
    with pytest.raises(SiteConfigError) as caught:
        parse_site(text, environ={})
    assert expected in str(caught.value)


def test_env_default_is_used_when_unset() -> None:
    site = parse_site(
        "cameras:\n  - name: a\n    url: rtsp://h/${PATH_PART:-live}\n", environ={}
    )
    assert site.cameras[0].url == "rtsp://h/live"


def test_missing_site_file(tmp_path: Path) -> None:
    with pytest.raises(SiteConfigError, match="cannot read site file"):
        load_site(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rtsp://admin:secret@h/x", "rtsp://admin:***@h/x"),
        (
            "opened rtsps://a:b@h:322/x and http://c:d@e/f",
            "opened rtsps://a:***@h:322/x and http://c:***@e/f",
        ),
        ("rtsp://h/x", "rtsp://h/x"),
        ("rtsp://user@h/x", "rtsp://user@h/x"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_passwords_never_reach_the_log(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging()
    logging.getLogger("watchfloor.test").warning(
        "camera %s: cannot open %s", "gate", "rtsp://admin:hunter2@10.0.0.5/live"
    )
    err = capsys.readouterr().err
    assert "hunter2" not in err
    assert "rtsp://admin:***@10.0.0.5/live" in err


def test_the_site_time_zone_is_checked() -> None:
    assert parse_site("timezone: Europe/Paris").timezone == "Europe/Paris"
    assert parse_site("").timezone is None
    with pytest.raises(SiteConfigError, match=r"line 1: timezone: .*Mars/Olympus"):
        parse_site("timezone: Mars/Olympus")
