"""The audit log: a chain of hashes that shows edits and deletions, and concurrent
writers that still make one chain."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from tests.incidents.conftest import T0, at
from watchfloor.cli import app
from watchfloor.incidents import audit
from watchfloor.incidents.audit import GENESIS, append, entries_for, entry_hash, verify
from watchfloor.models import AuditEntry
from watchfloor.models.database import Database

runner = CliRunner()


def write_chain(db: Database, count: int = 5) -> list[int]:
    """``count`` entries, one transaction each, at known times."""
    ids = []
    for i in range(count):
        with db.session() as session:
            entry = append(
                session,
                f"person-{i}",
                "incident.note",
                f"incident:{i % 2 + 1}",
                None if i == 0 else {"n": i - 1},
                {"n": i, "text": "grüße"},
                time=at(i),
            )
            ids.append(entry.id)
    return ids


def run_sql(db: Database, sql: str, **params: Any) -> None:
    with db.engine.begin() as connection:
        connection.execute(text(sql), params)


def test_entries_chain_their_hashes(db: Database) -> None:
    ids = write_chain(db, 3)

    with db.session() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [entry.id for entry in entries] == ids
        assert entries[0].previous_hash == GENESIS
        assert entries[1].previous_hash == entries[0].hash
        assert entries[2].previous_hash == entries[1].hash
        first = entries[0]
        assert first.time == T0
        assert first.after == '{"n":0,"text":"grüße"}'
        assert first.before is None
        # The documented recipe gives the stored hash.
        assert first.hash == entry_hash(
            GENESIS, T0, "person-0", "incident.note", "incident:1", None, first.after
        )
        result = verify(session)
    assert result.ok
    assert (result.first_broken_id, result.reason, result.checked) == (None, None, 3)
    assert result.last_hash == entries[2].hash


def test_an_empty_log_verifies(db: Database) -> None:
    with db.session() as session:
        result = verify(session)
    assert result.ok and result.checked == 0 and result.last_hash is None


def test_editing_an_entry_breaks_verify_at_that_entry(db: Database) -> None:
    ids = write_chain(db)
    run_sql(db, "UPDATE audit_log SET actor = 'mallory' WHERE id = :id", id=ids[2])

    with db.session() as session:
        result = verify(session)
    assert not result.ok
    assert result.first_broken_id == ids[2]
    assert result.checked == 3
    assert result.reason is not None
    assert f"entry {ids[2]} (incident.note on incident:1) was edited" in result.reason


def test_an_edit_with_a_new_hash_breaks_the_next_link(db: Database) -> None:
    ids = write_chain(db)
    with db.session() as session:
        entry = session.get(AuditEntry, ids[1])
        assert entry is not None
        forged_after = json.dumps({"n": 99})
        forged = entry_hash(
            entry.previous_hash,
            entry.time,
            entry.actor,
            entry.action,
            entry.target,
            entry.before,
            forged_after,
        )
    run_sql(
        db,
        "UPDATE audit_log SET after = :after, hash = :hash WHERE id = :id",
        after=forged_after,
        hash=forged,
        id=ids[1],
    )

    with db.session() as session:
        result = verify(session)
    assert result.first_broken_id == ids[2]
    assert result.reason is not None
    assert f"does not follow entry {ids[1]}" in result.reason
    assert f"entry {ids[1]} was edited" in result.reason


@pytest.mark.parametrize(
    ("deleted", "broken", "words"),
    [(2, 3, "an entry between them was deleted"), (0, 1, "the entries before it")],
)
def test_deleting_an_entry_breaks_verify_after_the_gap(
    db: Database, deleted: int, broken: int, words: str
) -> None:
    ids = write_chain(db)
    run_sql(db, "DELETE FROM audit_log WHERE id = :id", id=ids[deleted])

    with db.session() as session:
        result = verify(session)
    assert not result.ok
    assert result.first_broken_id == ids[broken]
    assert result.reason is not None and words in result.reason


def test_entries_for_a_target_and_what_lies_below_it(db: Database) -> None:
    with db.session() as session:
        for target in ("incident:1", "incident:12", "incident:1/clip", "alert:1"):
            append(session, "ana", "test", target, None, {"target": target})
    with db.session() as session:
        assert [e.target for e in entries_for(session, "incident:1")] == [
            "incident:1",
            "incident:1/clip",
        ]
        assert len(entries_for(session, "incident:")) == 3
        assert entries_for(session, "incident:1%") == []


def test_actor_defaults_to_local(db: Database) -> None:
    with db.session() as session:
        assert append(session, "  ", "test", "alert:1", None, None).actor == "local"


def test_concurrent_writers_make_one_chain(db: Database) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(8):
                with db.session() as session:
                    append(session, f"w{n}", "test", f"alert:{n}", None, {"i": i})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    with db.session() as session:
        result = verify(session)
    assert result.ok, result.reason
    assert result.checked == 32


def test_a_writer_that_meets_another_retries(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_chain(db, 2)
    real = audit._newest_hash
    calls: list[str] = []

    def stale_once(session: Any) -> str | None:
        # The first read answers as if the second entry were not there yet,
        # as a writer that read before another committed would see it.
        calls.append("read")
        if len(calls) == 1:
            return session.scalar(
                select(AuditEntry.hash).order_by(AuditEntry.id).limit(1)
            )
        return real(session)

    monkeypatch.setattr(audit, "_newest_hash", stale_once)
    with db.session() as session:
        entry = append(session, "ana", "test", "alert:9", None, {"late": True})
    assert len(calls) == 2
    with db.session() as session:
        result = verify(session)
        assert result.ok, result.reason
        assert result.checked == 3
        stored = session.get(AuditEntry, entry.id)
        assert stored is not None and stored.after == '{"late":true}'


def site_file(tmp_path: Path, db: Database) -> Path:
    url = db.engine.url.render_as_string(hide_password=False)
    path = tmp_path / "site.yaml"
    path.write_text(
        f"storage:\n  media: {tmp_path / 'media'}\n  database: '{url}'\n",
        encoding="utf-8",
    )
    return path


def test_cli_verify_names_the_first_broken_entry(db: Database, tmp_path: Path) -> None:
    site = site_file(tmp_path, db)

    empty = runner.invoke(app, ["audit", "verify", str(site)])
    assert empty.exit_code == 0, empty.output
    assert "audit log is empty" in empty.output

    ids = write_chain(db, 4)
    intact = runner.invoke(app, ["audit", "verify", str(site)])
    assert intact.exit_code == 0, intact.output
    assert "audit log intact: 4 entries checked" in intact.output

    run_sql(db, "UPDATE audit_log SET target = 'incident:9' WHERE id = :id", id=ids[1])
    broken = runner.invoke(app, ["audit", "verify", str(site)])
    assert broken.exit_code == 1
    assert f"audit log broken at entry {ids[1]}" in broken.output
    assert "was edited" in broken.output
