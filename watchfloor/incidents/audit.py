"""The audit log: an append-only chain of hashed entries, one per state change.

Each entry records who (``actor``) did what (``action``) to what (``target``,
such as ``incident:7`` or ``alert:42``), when, and the target's state before
and after as JSON. Its ``hash`` is the SHA-256 of its content together with
the hash of the entry before it (``previous_hash``; the first entry names
:data:`GENESIS`), so editing an entry breaks its own hash, and deleting one
breaks the link of the entry after it. :func:`verify` walks the chain and
names the first entry that does not fit.

The hashed content is the UTF-8 of the JSON array::

    [previous_hash, time, actor, action, target, before, after]

with no spaces after separators and non-ASCII characters kept as they are
(``json.dumps(..., separators=(",", ":"), ensure_ascii=False)``). ``time`` is
ISO 8601 in UTC with microseconds (``2024-05-01T12:00:00.000000+00:00``);
``before`` and ``after`` are the stored JSON texts (or null), which
:func:`canonical_json` writes with sorted keys. Anyone can check an exported
entry with :func:`entry_hash`.

Writers are serialised so that every entry follows the one before it: on
PostgreSQL a transaction-level advisory lock, on SQLite the database's write
lock (taken before the newest entry is read), plus a process lock. The unique
constraint on ``previous_hash`` refuses a second entry after the same one; a
writer that meets it reads the newest entry again and retries.

Limitations:
    A chain shows edits and deletions inside it, but not the removal of its
    newest entries: the rest is still a valid chain. Keep the newest hash
    somewhere else (an evidence export records it, and :func:`verify` returns
    it) to detect that. The advisory lock is held until the appending
    transaction ends, so long transactions that write audit entries wait for
    each other.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from sqlalchemy import Row, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from watchfloor.models.incidents import AuditEntry

log = logging.getLogger(__name__)

GENESIS = "0" * 64
"""The ``previous_hash`` of the first entry."""

DEFAULT_ACTOR = "local"
"""Who acts when a request or command names nobody."""

ATTEMPTS = 5
"""Tries to append after the newest entry before giving up."""

PAGE = 1000
"""Entries read per query while verifying."""

# Any fixed 64-bit number, the same in every process that appends.
_ADVISORY_KEY = 0x57464155444954
_process_lock = threading.Lock()


class AuditError(RuntimeError):
    """An entry could not be appended; the message says why."""


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify` found.

    Attributes:
        ok: True when every entry fits the chain.
        first_broken_id: Id of the first entry that does not fit; None when ok.
        reason: Why it does not fit, in words; None when ok.
        checked: Entries examined, the broken one included.
        last_hash: Hash of the newest entry when ok (None for an empty log):
            keep it elsewhere to notice later removal of the newest entries.
    """

    ok: bool
    first_broken_id: int | None
    reason: str | None
    checked: int
    last_hash: str | None = None


def canonical_json(value: Any) -> str | None:
    """``value`` as compact JSON with sorted keys; None stays None.

    Times become ISO 8601 in UTC, enums their value, paths their text.

    Example:
        >>> canonical_json({"b": 1, "a": [True, None]})
        '{"a":[true,null],"b":1}'
    """
    if value is None:
        return None
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=_plain,
    )


def entry_hash(
    previous_hash: str,
    time: datetime,
    actor: str,
    action: str,
    target: str,
    before: str | None,
    after: str | None,
) -> str:
    """The SHA-256 (hex) of an entry's content, as the module docstring defines.

    Args:
        previous_hash: Hash of the entry before (``GENESIS`` for the first).
        time: When the action happened, timezone-aware.
        actor: Who did it.
        action: What was done, such as ``incident.status``.
        target: What it was done to, such as ``incident:7``.
        before: The stored JSON text of the state before, or None.
        after: The stored JSON text of the state after, or None.
    """
    content = json.dumps(
        [previous_hash, _iso(time), actor, action, target, before, after],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def append(
    session: Session,
    actor: str,
    action: str,
    target: str,
    before: Any,
    after: Any,
    *,
    time: datetime | None = None,
) -> AuditEntry:
    """Add an entry after the newest one, in the caller's transaction.

    The entry is flushed, not committed: it stands or falls with the change it
    records. Call it after the change's own writes, as the last step before
    the commit, since it holds the log's lock until then.

    Args:
        session: The session making the change.
        actor: Who did it (the request's ``by`` or ``X-Watchfloor-Actor``,
            else :data:`DEFAULT_ACTOR`).
        action: What was done, dotted: ``incident.create``, ``alert.dismiss``.
        target: What it was done to: ``incident:7``, ``zone:dock``.
        before: The target's state before, JSON-ready (None when it was made).
        after: Its state after, JSON-ready (None when it was deleted).
        time: When; default: now.

    Returns:
        The new entry, with its id and hash.

    Raises:
        AuditError: Another writer kept taking the place after the newest
            entry, ``ATTEMPTS`` times over.

    Example:
        >>> entry = append(session, "ana", "alert.acknowledge", "alert:42",
        ...                {"status": "new"}, {"status": "acknowledged"})
        ... # doctest: +SKIP
    """
    actor = (actor or "").strip() or DEFAULT_ACTOR
    when = (time or datetime.now(UTC)).astimezone(UTC)
    before_text = canonical_json(before)
    after_text = canonical_json(after)
    _lock_log(session)
    with _process_lock:
        for attempt in range(1, ATTEMPTS + 1):
            previous = _newest_hash(session) or GENESIS
            entry = AuditEntry(
                time=when,
                actor=actor,
                action=action,
                target=target,
                before=before_text,
                after=after_text,
                previous_hash=previous,
                hash=entry_hash(
                    previous, when, actor, action, target, before_text, after_text
                ),
            )
            try:
                with session.begin_nested():
                    session.add(entry)
            except IntegrityError:
                log.warning(
                    "audit entry for %s %s met another writer (try %d of %d); "
                    "reading the newest entry again",
                    action,
                    target,
                    attempt,
                    ATTEMPTS,
                )
                continue
            log.debug("audit %d: %s %s by %s", entry.id, action, target, actor)
            return entry
    raise AuditError(
        f"could not append the audit entry for {action} on {target}: other "
        f"writers took its place {ATTEMPTS} times; try the action again"
    )


def entries_for(session: Session, target_prefix: str) -> list[AuditEntry]:
    """Entries about ``target_prefix`` and what lies below it, oldest first.

    ``incident:7`` matches the target ``incident:7`` and ``incident:7/...``
    but not ``incident:70``; a prefix ending in ``:`` or ``/`` matches every
    target that starts with it (``incident:`` for all incidents).
    """
    column = AuditEntry.target
    if target_prefix.endswith((":", "/")):
        condition = column.startswith(target_prefix, autoescape=True)
    else:
        condition = (column == target_prefix) | column.startswith(
            target_prefix + "/", autoescape=True
        )
    query = select(AuditEntry).where(condition).order_by(AuditEntry.id)
    return list(session.scalars(query))


def verify(session: Session) -> VerifyResult:
    """Walk the whole chain, oldest first, and name the first entry that breaks it.

    An entry breaks the chain when its ``previous_hash`` is not the hash of
    the entry before it (an entry between them was deleted, or the one before
    was edited and re-hashed) or when its content does not give its ``hash``
    (it was edited).

    Example:
        >>> result = verify(session)  # doctest: +SKIP
        >>> result.ok, result.checked  # doctest: +SKIP
        (True, 1532)
    """
    expected = GENESIS
    previous_id: int | None = None
    checked = 0
    for entry in _all_entries(session):
        checked += 1
        if entry.previous_hash != expected:
            if previous_id is None:
                reason = (
                    f"entry {entry.id} is the first entry but names a previous "
                    f"hash {entry.previous_hash[:12]}...: the entries before it "
                    "were deleted"
                )
            else:
                reason = (
                    f"entry {entry.id} does not follow entry {previous_id}: its "
                    f"previous_hash {entry.previous_hash[:12]}... is not the hash "
                    f"of entry {previous_id} ({expected[:12]}...); an entry "
                    f"between them was deleted, or entry {previous_id} was edited"
                )
            return VerifyResult(False, entry.id, reason, checked)
        recomputed = entry_hash(
            entry.previous_hash,
            entry.time,
            entry.actor,
            entry.action,
            entry.target,
            entry.before,
            entry.after,
        )
        if recomputed != entry.hash:
            reason = (
                f"entry {entry.id} ({entry.action} on {entry.target}) was edited: "
                f"its content hashes to {recomputed[:12]}..., not to its recorded "
                f"hash {entry.hash[:12]}..."
            )
            return VerifyResult(False, entry.id, reason, checked)
        expected = entry.hash
        previous_id = entry.id
    return VerifyResult(True, None, None, checked, None if checked == 0 else expected)


def _all_entries(session: Session) -> Iterator[Row[Any]]:
    """Every entry's columns by id, a page at a time (rows, not ORM objects, so
    that a long log does not fill the session)."""
    columns = [column for column in AuditEntry.__table__.columns]
    last = 0
    while True:
        page = session.execute(
            select(*columns)
            .where(AuditEntry.id > last)
            .order_by(AuditEntry.id)
            .limit(PAGE)
        ).all()
        yield from page
        if len(page) < PAGE:
            return
        last = page[-1].id


def _lock_log(session: Session) -> None:
    """Keep other writers from appending until this transaction ends."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY}
        )
    elif dialect == "sqlite":
        # A write that changes nothing still takes SQLite's write lock, so the
        # newest entry read next cannot change before this transaction ends.
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.id < 0)
            .values(id=AuditEntry.id)
            .execution_options(synchronize_session=False)
        )


def _newest_hash(session: Session) -> str | None:
    return session.scalar(
        select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    )


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"audit time {value.isoformat()} has no time zone")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON-ready for the audit log")
