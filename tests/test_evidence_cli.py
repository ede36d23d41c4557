"""``watchfloor evidence export`` and ``verify``, run as a user runs them."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.databases import database_url
from tests.incidents.evidence_scene import Scene, build_scene
from watchfloor.cli import app
from watchfloor.incidents import audit
from watchfloor.incidents.evidence import EXPORT_ACTION, MANIFEST_NAME
from watchfloor.models.database import Database

runner = CliRunner()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def site(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Path, Scene]]:
    """A site file whose database holds the incident of :func:`build_scene`."""
    with database_url(request.param, tmp_path) as url:
        db = Database.open(url)
        try:
            scene = build_scene(db, tmp_path)
        finally:
            db.close()
        site_file = tmp_path / "site.yaml"
        site_file.write_text(
            f"storage:\n  media: {scene.media}\n  database: {url}\ncameras: []\n"
        )
        yield site_file, scene


def run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(arg) for arg in args])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "command", [["evidence"], ["evidence", "export"], ["evidence", "verify"]]
)
def test_evidence_commands_have_help(command: list[str]) -> None:
    code, output = run(*command, "--help")
    assert code == 0
    assert "Usage" in output


def test_export_then_verify(site: tuple[Path, Scene], tmp_path: Path) -> None:
    site_file, scene = site
    out = tmp_path / "exports" / "incident.zip"

    code, output = run(
        "evidence",
        "export",
        site_file,
        str(scene.incident_id),
        "--out",
        out,
        "--by",
        "ana",
    )

    assert code == 0, output
    assert f"evidence of incident {scene.incident_id} written to {out}" in output
    assert "exported by ana" in output
    assert "integrity: every clip matches" in output
    with zipfile.ZipFile(out) as archive:
        digest_line = next(line for line in output.splitlines() if "sha256" in line)
        manifest = json.loads(archive.read(MANIFEST_NAME))
    assert manifest["exported_by"] == "ana"

    code, output = run("evidence", "verify", out)
    assert code == 0, output
    assert output.startswith(f"OK: {out}: all {len(manifest['files'])} files match")

    digest = digest_line.split()[-1]
    code, output = run("evidence", "verify", out, "--manifest-sha256", digest)
    assert code == 0, output
    code, output = run("evidence", "verify", out, "--manifest-sha256", "f" * 64)
    assert code == 1
    assert "not the manifest that export wrote" in output

    db = Database.open(_url(site_file))
    try:
        with db.session() as session:
            exports = [
                entry
                for entry in audit.entries_for(session, f"incident:{scene.incident_id}")
                if entry.action == EXPORT_ACTION
            ]
    finally:
        db.close()
    assert [entry.actor for entry in exports] == ["ana"]
    assert json.loads(exports[0].after or "{}")["manifest_sha256"] == digest


def test_verify_fails_and_names_a_removed_and_an_added_file(
    site: tuple[Path, Scene], tmp_path: Path
) -> None:
    site_file, scene = site
    out = tmp_path / "incident.zip"
    code, output = run(
        "evidence", "export", site_file, str(scene.incident_id), "--out", out
    )
    assert code == 0, output
    removed = scene.clip_name(scene.clip_ids[0])
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(out) as old, zipfile.ZipFile(tampered, "w") as new:
        for info in old.infolist():
            if info.filename != removed:
                new.writestr(info, old.read(info))
        new.writestr("notes/extra.txt", "slipped in later")

    code, output = run("evidence", "verify", tampered)

    assert code == 1
    assert output.startswith(f"FAILED: {tampered}: 2 problems")
    assert f"missing: {removed}: listed in manifest.json but not in the ZIP" in output
    assert "added: notes/extra.txt: not listed in manifest.json" in output


def test_a_clip_changed_on_disk_is_exported_flagged(
    site: tuple[Path, Scene], tmp_path: Path
) -> None:
    site_file, scene = site
    clip_id = scene.clip_ids[0]
    path = scene.clip_files[clip_id]
    data = bytearray(path.read_bytes())
    data[100] ^= 0x10
    path.write_bytes(bytes(data))
    out = tmp_path / "incident.zip"

    code, output = run(
        "evidence", "export", site_file, str(scene.incident_id), "--out", out
    )

    assert code == 3, output
    assert (
        f"integrity problem: clip {clip_id} changed on disk since it was cut" in output
    )
    assert "1 integrity problem flagged in the manifest" in output
    assert out.is_file()

    code, output = run("evidence", "verify", out)
    assert code == 3, output
    assert output.startswith("OK:")
    assert f"flagged at export: clip {clip_id} changed on disk" in output


def test_export_of_an_unknown_incident_fails_clearly(
    site: tuple[Path, Scene], tmp_path: Path
) -> None:
    site_file, _ = site
    code, output = run(
        "evidence", "export", site_file, "999", "--out", tmp_path / "x.zip"
    )
    assert code == 1
    assert "no incident with id 999" in output
    assert not (tmp_path / "x.zip").exists()


def test_verify_of_something_that_is_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "evidence.zip"
    path.write_text("not a zip")
    code, output = run("evidence", "verify", path)
    assert code == 1
    assert output.startswith(f"FAILED: {path}: 1 problem")
    assert "cannot read" in output


def _url(site_file: Path) -> str:
    for line in site_file.read_text().splitlines():
        if line.strip().startswith("database:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{site_file} names no database")
