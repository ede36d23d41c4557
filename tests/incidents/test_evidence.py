"""Evidence export: the ZIP, its manifest, tampering found by verify, and flags for
clips that changed on disk since they were cut."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import av
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.conftest import site_config
from tests.incidents.evidence_scene import (
    Scene,
    build_scene,
    fresh_database,
)
from watchfloor.api.app import create_app
from watchfloor.bus import Bus
from watchfloor.incidents import audit
from watchfloor.incidents.evidence import (
    EXPORT_ACTION,
    MANIFEST_NAME,
    EvidenceError,
    IncidentNotFound,
    export_incident,
    prepare_export,
    verify_zip,
)
from watchfloor.media.hashing import sha256_file
from watchfloor.models import AuditEntry
from watchfloor.models.database import Database

EXPORTED_AT = datetime(2024, 5, 2, 9, 30, 0, tzinfo=UTC)
DOCUMENTS = {
    "incident.json",
    "timeline.json",
    "audit.json",
    "report.md",
    "report.html",
    MANIFEST_NAME,
}


@pytest.fixture
def scene(db: Database, tmp_path: Path) -> Scene:
    """The incident of :func:`build_scene`, on SQLite and on PostgreSQL."""
    return build_scene(db, tmp_path)


@pytest.fixture
def sqlite_scene(tmp_path: Path) -> Iterator[Scene]:
    """The incident on SQLite only, for the checks that do not depend on it."""
    with fresh_database("sqlite", tmp_path) as database:
        yield build_scene(database, tmp_path)


def export(scene: Scene, out: Path, by: str = "ana") -> Path:
    export_incident(
        scene.db, scene.incident_id, scene.media, out, by=by, now=EXPORTED_AT
    )
    return out


def rewrite(
    source: Path, target: Path, change: Callable[[str, bytes], bytes | None]
) -> None:
    """Copy a ZIP entry by entry; ``change`` may alter an entry or drop it (None)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = change(info.filename, old.read(info))
            if data is not None:
                new.writestr(info, data)


# --- export then verify ----------------------------------------------------------


def test_an_export_holds_everything_and_verifies(scene: Scene, tmp_path: Path) -> None:
    out = export(scene, tmp_path / "out" / "evidence.zip")

    report = verify_zip(out)
    assert report.ok, report.lines()
    assert report.lines()[0].startswith("OK:")
    clip_names = {scene.clip_name(clip_id) for clip_id in scene.clip_ids}
    expected = DOCUMENTS | clip_names | scene.snapshot_names
    assert report.matched == len(expected) - 1  # every file but the manifest
    with zipfile.ZipFile(out) as archive:
        assert set(archive.namelist()) == expected
        manifest = json.loads(archive.read(MANIFEST_NAME))
        record = json.loads(archive.read("incident.json"))
        timeline = json.loads(archive.read("timeline.json"))
        entries = json.loads(archive.read("audit.json"))
        exported_clip = archive.read(scene.clip_name(scene.clip_ids[0]))

    # The manifest: every file, its digest and size, who and when.
    assert manifest["exported_by"] == "ana"
    assert manifest["exported_at"] == "2024-05-02T09:30:00+00:00"
    assert manifest["incident"]["id"] == scene.incident_id
    assert manifest["integrity_ok"] is True and manifest["integrity"] == []
    files = {entry["path"]: entry for entry in manifest["files"]}
    assert set(files) == expected - {MANIFEST_NAME}
    for clip_id in scene.clip_ids:
        entry = files[scene.clip_name(clip_id)]
        source = scene.clip_files[clip_id]
        assert entry["sha256"] == entry["recorded_sha256"] == sha256_file(source)
        assert entry["bytes"] == source.stat().st_size
        assert entry["intact"] is True
    for name, source in scene.snapshot_files.items():
        assert files[name]["sha256"] == sha256_file(source)

    # The exported clip is the same real video.
    with av.open(io.BytesIO(exported_clip)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 10

    # The record, the timeline and the audit entries of this incident alone.
    assert record["title"].startswith("Intrusion at the dock")
    assert [entry["kind"] for entry in timeline][:2] == ["alert", "created"]
    targets = {entry["target"] for entry in entries}
    assert targets == {f"incident:{scene.incident_id}", f"alert:{scene.alert_ids[0]}"}
    for entry in entries:  # each exported entry can be checked on its own
        assert entry["hash"] == audit.entry_hash(
            entry["previous_hash"],
            datetime.fromisoformat(entry["time"]),
            entry["actor"],
            entry["action"],
            entry["target"],
            entry["before"],
            entry["after"],
        )
    assert manifest["audit_log"]["chain_ok"] is True


def test_the_export_is_audited_with_its_manifest_digest(
    scene: Scene, tmp_path: Path
) -> None:
    out = export(scene, tmp_path / "evidence.zip", by="investigator 7")
    with zipfile.ZipFile(out) as archive:
        digest = hashlib.sha256(archive.read(MANIFEST_NAME)).hexdigest()
        head = json.loads(archive.read(MANIFEST_NAME))["audit_log"]["chain_head"]

    with scene.db.session() as session:
        entries = audit.entries_for(session, f"incident:{scene.incident_id}")
        exported = [e for e in entries if e.action == EXPORT_ACTION]
        assert len(exported) == 1
        entry = exported[0]
        assert entry.actor == "investigator 7"
        assert entry.previous_hash == head  # the manifest names the log's head
        after = json.loads(entry.after or "{}")
        assert audit.verify(session).ok
    assert after["manifest_sha256"] == digest
    assert after["integrity_ok"] is True
    assert verify_zip(out, expected_manifest_sha256=digest).ok
    wrong = verify_zip(out, expected_manifest_sha256="0" * 64)
    assert not wrong.ok and "not the manifest that export wrote" in wrong.errors[0]


def test_a_streamed_export_is_the_same_and_verifies(
    sqlite_scene: Scene, tmp_path: Path
) -> None:
    with sqlite_scene.db.session() as session:
        package = prepare_export(
            session,
            sqlite_scene.incident_id,
            sqlite_scene.media,
            by="ana",
            now=EXPORTED_AT,
        )
    chunks = list(package.chunks())
    out = tmp_path / "streamed.zip"
    out.write_bytes(b"".join(chunks))

    assert len(chunks) > 5  # written as it goes, not in one piece
    report = verify_zip(out)
    assert report.ok, report.lines()
    assert package.manifest is not None
    assert (
        package.filename
        == f"incident-{sqlite_scene.incident_id}-evidence-20240502T093000Z.zip"
    )


# --- tampering -----------------------------------------------------------------


def _flip_clip_byte_in_place(scene: Scene, out: Path, tampered: Path) -> str:
    """Flip one byte of a clip's data inside the ZIP file itself."""
    name = scene.clip_name(scene.clip_ids[0])
    with zipfile.ZipFile(out) as archive:
        info = archive.getinfo(name)
    data = bytearray(out.read_bytes())
    header = info.header_offset
    name_length = int.from_bytes(data[header + 26 : header + 28], "little")
    extra_length = int.from_bytes(data[header + 28 : header + 30], "little")
    data_start = header + 30 + name_length + extra_length
    data[data_start + info.compress_size // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    return name


def _change_clip_byte(scene: Scene, out: Path, tampered: Path) -> str:
    """Rewrite the ZIP with one byte of a clip changed (its CRC made to match)."""
    name = scene.clip_name(scene.clip_ids[1])

    def change(entry: str, data: bytes) -> bytes:
        if entry != name:
            return data
        changed = bytearray(data)
        changed[len(changed) // 3] ^= 0xFF
        return bytes(changed)

    rewrite(out, tampered, change)
    return name


def _remove_snapshot(scene: Scene, out: Path, tampered: Path) -> str:
    name = sorted(scene.snapshot_names)[0]
    rewrite(out, tampered, lambda entry, data: None if entry == name else data)
    return name


def _add_file(scene: Scene, out: Path, tampered: Path) -> str:
    rewrite(out, tampered, lambda entry, data: data)
    with zipfile.ZipFile(tampered, "a") as archive:
        archive.writestr("clips/extra.mp4", b"not from the export")
    return "clips/extra.mp4"


@pytest.mark.parametrize(
    ("tamper", "kind", "reason"),
    [
        (_flip_clip_byte_in_place, "changed", "damaged"),
        (_change_clip_byte, "changed", "SHA-256 is"),
        (_remove_snapshot, "missing", "not in the ZIP"),
        (_add_file, "added", "not listed in manifest.json"),
    ],
    ids=["byte-flipped-in-zip", "byte-changed-rezipped", "file-removed", "file-added"],
)
def test_verify_names_what_was_tampered_with(
    sqlite_scene: Scene,
    tmp_path: Path,
    tamper: Callable[[Scene, Path, Path], str],
    kind: str,
    reason: str,
) -> None:
    out = export(sqlite_scene, tmp_path / "evidence.zip")
    tampered = tmp_path / "tampered.zip"
    name = tamper(sqlite_scene, out, tampered)

    report = verify_zip(tampered)

    assert not report.ok
    problems = {
        "changed": report.changed,
        "missing": report.missing,
        "added": report.added,
    }
    assert [p.path for p in problems[kind]] == [name]
    assert reason in problems[kind][0].reason
    others = [p for key, found in problems.items() if key != kind for p in found]
    assert others == []
    assert report.lines()[0].startswith("FAILED:")
    assert any(name in line for line in report.lines())


def test_verify_refuses_a_zip_without_its_manifest(
    sqlite_scene: Scene, tmp_path: Path
) -> None:
    out = export(sqlite_scene, tmp_path / "evidence.zip")
    bare = tmp_path / "bare.zip"
    rewrite(out, bare, lambda entry, data: None if entry == MANIFEST_NAME else data)
    not_zip = tmp_path / "not.zip"
    not_zip.write_bytes(b"PK but not really a zip file")

    assert "has no manifest.json" in verify_zip(bare).errors[0]
    assert "cannot read" in verify_zip(not_zip).errors[0]
    assert not verify_zip(bare).ok and not verify_zip(not_zip).ok


# --- integrity of the footage on disk -----------------------------------------


def test_a_clip_changed_on_disk_since_it_was_cut_is_flagged(
    scene: Scene, tmp_path: Path
) -> None:
    clip_id = scene.clip_ids[0]
    source = scene.clip_files[clip_id]
    recorded = sha256_file(source)
    data = bytearray(source.read_bytes())
    data[len(data) // 2] ^= 0x01
    source.write_bytes(bytes(data))

    with scene.db.session() as session:
        package = prepare_export(
            session, scene.incident_id, scene.media, by="ana", now=EXPORTED_AT
        )
    assert [(p.kind, p.subject) for p in package.integrity] == [
        ("changed", f"clip {clip_id}")
    ]
    problem = package.integrity[0]
    assert problem.expected_sha256 == recorded
    assert problem.actual_sha256 == sha256_file(source)
    assert "changed on disk since it was cut" in problem.message

    out = export(scene, tmp_path / "evidence.zip")
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read(MANIFEST_NAME))
        exported = archive.read(scene.clip_name(clip_id))
    assert manifest["integrity_ok"] is False
    assert [p["subject"] for p in manifest["integrity"]] == [f"clip {clip_id}"]
    entry = next(e for e in manifest["files"] if e["path"] == scene.clip_name(clip_id))
    assert entry["intact"] is False
    assert entry["recorded_sha256"] == recorded
    assert entry["sha256"] == hashlib.sha256(exported).hexdigest() != recorded

    # The ZIP is true to its manifest, and says the clip was flagged.
    report = verify_zip(out)
    assert report.ok
    assert [p["subject"] for p in report.flagged] == [f"clip {clip_id}"]
    assert any("flagged at export" in line for line in report.lines())

    with scene.db.session() as session:
        entry_row = session.scalars(
            select(AuditEntry).where(AuditEntry.action == EXPORT_ACTION)
        ).one()
        after = json.loads(entry_row.after or "{}")
    assert after["integrity_ok"] is False
    assert after["integrity"][0]["actual_sha256"] == problem.actual_sha256


def test_files_missing_from_disk_are_reported_not_exported(
    sqlite_scene: Scene, tmp_path: Path
) -> None:
    scene = sqlite_scene
    gone_clip = scene.clip_ids[1]
    scene.clip_files[gone_clip].unlink()
    gone_snapshot = sorted(scene.snapshot_names)[-1]
    scene.snapshot_files[gone_snapshot].unlink()

    out = export(scene, tmp_path / "evidence.zip")

    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read(MANIFEST_NAME))
    assert scene.clip_name(gone_clip) not in names
    assert gone_snapshot not in names
    kinds = sorted((p["kind"], p["subject"]) for p in manifest["integrity"])
    assert kinds[0] == ("missing", f"clip {gone_clip}")
    assert kinds[1][0] == "missing" and kinds[1][1].startswith("snapshot")
    assert verify_zip(out).ok  # consistent with its manifest, flags and all


def test_an_unknown_incident_or_nameless_exporter_is_refused(
    sqlite_scene: Scene, tmp_path: Path
) -> None:
    with pytest.raises(IncidentNotFound, match="no incident with id 999"):
        export_incident(
            sqlite_scene.db, 999, sqlite_scene.media, tmp_path / "x.zip", by="a"
        )
    with pytest.raises(EvidenceError, match="give 'by'"):
        export_incident(
            sqlite_scene.db,
            sqlite_scene.incident_id,
            sqlite_scene.media,
            tmp_path / "x.zip",
            by="  ",
        )
    assert not (tmp_path / "x.zip").exists()


# --- over the API --------------------------------------------------------------


@pytest.fixture
def client(scene: Scene) -> Iterator[TestClient]:
    app = create_app(site_config(scene.media), scene.db, Bus())
    with TestClient(app) as test_client:
        yield test_client


def test_the_api_streams_an_export_that_verifies(
    scene: Scene, client: TestClient, tmp_path: Path
) -> None:
    response = client.get(
        f"/api/incidents/{scene.incident_id}/export", params={"by": "carla"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["x-watchfloor-integrity"] == "ok"
    assert "attachment" in response.headers["content-disposition"]
    out = tmp_path / "api.zip"
    out.write_bytes(response.content)

    report = verify_zip(out)
    assert report.ok, report.lines()
    assert report.exported_by == "carla"
    with scene.db.session() as session:
        actors = [
            entry.actor
            for entry in audit.entries_for(session, f"incident:{scene.incident_id}")
            if entry.action == EXPORT_ACTION
        ]
    assert actors == ["carla"]

    missing = client.get("/api/incidents/999/export", params={"by": "carla"})
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no incident with id 999"


def test_the_api_flags_a_changed_clip_and_strict_refuses_it(
    scene: Scene, client: TestClient, tmp_path: Path
) -> None:
    clip_id = scene.clip_ids[1]
    with scene.clip_files[clip_id].open("ab") as handle:
        handle.write(b"appended later")

    flagged = client.get(
        f"/api/incidents/{scene.incident_id}/export",
        headers={"X-Watchfloor-Actor": "dan"},
    )
    assert flagged.status_code == 200
    assert (
        flagged.headers["x-watchfloor-integrity"]
        == f"1 problem: clip {clip_id} changed"
    )
    out = tmp_path / "flagged.zip"
    out.write_bytes(flagged.content)
    report = verify_zip(out)
    assert report.ok and report.exported_by == "dan"
    assert "changed on disk since it was cut" in report.flagged[0]["message"]

    strict = client.get(
        f"/api/incidents/{scene.incident_id}/export",
        params={"by": "dan", "strict": "true"},
    )
    assert strict.status_code == 409
    assert f"clip {clip_id} changed on disk since it was cut" in strict.json()["detail"]
