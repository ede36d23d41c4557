"""Evidence export: an incident as a ZIP with a SHA-256 manifest, and its check.

An export holds the incident's clips and snapshots, its record, timeline and
audit entries as JSON, its review report (Markdown and HTML), and
``manifest.json``, which lists every other file in the ZIP with its SHA-256 and
size, who exported it and when. :func:`verify_zip` checks a ZIP against its
manifest and names every file that is missing, added or changed.

A clip whose content no longer matches the SHA-256 recorded when it was cut is
still exported, as it is now, and flagged: the manifest's ``integrity`` lists
every such problem (and every file that could not be found), its file entry
says ``"intact": false`` with both digests, and the API and the command line
say so. Refusing would withhold the rest of the evidence and hide the
tampering itself; exporting it as if good would be worse. Callers that prefer
refusal can check :attr:`EvidencePackage.integrity` before writing anything.

Limitations:
    The ZIP is not signed. Someone who edits a file and the manifest together
    passes :func:`verify_zip` on its own; the audit entry of the export records
    the manifest's SHA-256, so compare that (``expected_manifest_sha256``) to
    anchor a ZIP to the export that made it.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO
from zipfile import ZIP_DEFLATED, ZIP_STORED, BadZipFile, ZipFile, ZipInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchfloor import __version__
from watchfloor.incidents import audit, report, service
from watchfloor.incidents.exhibits import Exhibit, IntegrityProblem, find_exhibits
from watchfloor.media.hashing import sha256_file
from watchfloor.models import AuditEntry, Incident, IncidentLink, LinkKind
from watchfloor.models.database import Database

log = logging.getLogger(__name__)

FORMAT = "watchfloor-evidence"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
EXPORT_ACTION = "incident.exported"
CHUNK_BYTES = 1 << 20
# Entries at least this large are written as ZIP64 from the start, since a
# ZIP written as a stream cannot go back to widen a header.
_ZIP64_FROM = 1 << 31

__all__ = [
    "EXPORT_ACTION",
    "MANIFEST_NAME",
    "EvidenceError",
    "EvidencePackage",
    "FileProblem",
    "IncidentNotFound",
    "IntegrityProblem",
    "VerifyReport",
    "export_incident",
    "prepare_export",
    "record_export",
    "verify_zip",
]


class EvidenceError(Exception):
    """An export cannot be made; the message says why."""


class IncidentNotFound(EvidenceError, LookupError):
    """No incident has the id asked for."""


@dataclass(frozen=True)
class _Document:
    name: str
    kind: str
    content: bytes


@dataclass
class EvidencePackage:
    """Everything one export will hold, gathered and checked, ready to write.

    Made by :func:`prepare_export` inside a session; writing it
    (:meth:`chunks` or :meth:`write_to`) needs no database, so a web server can
    stream it after the session has closed.

    Attributes:
        incident_id: The incident.
        title: Its title.
        exported_by: Who exports it.
        exported_at: When, timezone-aware UTC.
        documents: The JSON records and reports, by name in the ZIP.
        exhibits: The clips and snapshots found on disk.
        integrity: Every problem found so far; writing may add
            ``changed_during_export`` ones.
        audit_log: The audit log's state when gathered: entries exported,
            whether its chain of hashes holds, and its newest hash
            (``chain_head``), which the export's own audit entry follows.
        manifest: The manifest, once written.
        manifest_sha256: The SHA-256 of ``manifest.json``, once written.
    """

    incident_id: int
    title: str
    exported_by: str
    exported_at: datetime
    documents: list[_Document]
    exhibits: list[Exhibit]
    integrity: list[IntegrityProblem]
    audit_log: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] | None = None
    manifest_sha256: str | None = None
    _checked: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def filename(self) -> str:
        """A file name for the ZIP: ``incident-7-evidence-20240501T120000Z.zip``."""
        stamp = self.exported_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        return f"incident-{self.incident_id}-evidence-{stamp}.zip"

    @property
    def intact(self) -> bool:
        """Whether no integrity problem has been found."""
        return not self.integrity

    def chunks(self) -> Iterator[bytes]:
        """The ZIP, a piece at a time, for streaming; memory stays near one chunk.

        Entries are written with data descriptors (sizes after the data), as a
        ZIP written to a stream must be; every unzip tool reads them.
        """
        sink = _ChunkSink()
        with ZipFile(sink, "w") as archive:
            for _ in self._fill(archive):
                if data := sink.take():
                    yield data
        if data := sink.take():
            yield data

    def write_to(self, out: BinaryIO) -> None:
        """Write the ZIP to a file opened for binary writing."""
        with ZipFile(out, "w") as archive:
            for _ in self._fill(archive):
                pass

    def _fill(self, archive: ZipFile) -> Iterator[None]:
        """Add every entry, then the manifest; yields after each chunk written."""
        entries: list[dict[str, Any]] = []
        for document in self.documents:
            _add_bytes(archive, document.name, document.content, self.exported_at)
            entries.append(
                {
                    "path": document.name,
                    "kind": document.kind,
                    "bytes": len(document.content),
                    "sha256": hashlib.sha256(document.content).hexdigest(),
                }
            )
            yield

        for exhibit in self.exhibits:
            digest = hashlib.sha256()
            size = 0
            try:
                with exhibit.file.open("rb") as source:
                    length = os.fstat(source.fileno()).st_size
                    info = _zip_info(exhibit.name, self.exported_at, ZIP_STORED)
                    info.file_size = length
                    with archive.open(
                        info, "w", force_zip64=length >= _ZIP64_FROM
                    ) as target:
                        while chunk := source.read(CHUNK_BYTES):
                            digest.update(chunk)
                            size += len(chunk)
                            target.write(chunk)
                            yield
            except OSError as exc:
                # The entry may be partly written; the manifest says so.
                self.integrity.append(
                    IntegrityProblem(
                        kind="unreadable",
                        subject=exhibit.subject,
                        message=(
                            f"{exhibit.subject} could not be read while exporting "
                            f"({exc.strerror or exc}); its entry in the ZIP is "
                            "incomplete"
                        ),
                        name=exhibit.name,
                        stored=exhibit.stored,
                    )
                )
            sha = digest.hexdigest()
            checked = self._checked.get(exhibit.name)
            if checked is not None and checked != sha:
                self.integrity.append(
                    IntegrityProblem(
                        kind="changed_during_export",
                        subject=exhibit.subject,
                        message=(
                            f"{exhibit.subject} changed on disk while it was being "
                            "exported; the ZIP holds what was read, which matches "
                            "the manifest but not the file checked before"
                        ),
                        name=exhibit.name,
                        stored=exhibit.stored,
                        expected_sha256=checked,
                        actual_sha256=sha,
                    )
                )
            entries.append(_exhibit_entry(exhibit, sha, size))

        self.manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "generator": f"watchfloor {__version__}",
            "incident": {"id": self.incident_id, "title": self.title},
            "exported_by": self.exported_by,
            "exported_at": self.exported_at.astimezone(UTC).isoformat(),
            "integrity_ok": not self.integrity,
            "integrity": [problem.to_dict() for problem in self.integrity],
            "audit_log": self.audit_log,
            "files": entries,
        }
        content = _json_bytes(self.manifest)
        self.manifest_sha256 = hashlib.sha256(content).hexdigest()
        _add_bytes(archive, MANIFEST_NAME, content, self.exported_at)
        yield


def prepare_export(
    session: Session,
    incident_id: int,
    media_dir: Path,
    *,
    by: str,
    now: datetime | None = None,
) -> EvidencePackage:
    """Gather and check what an export of an incident will hold.

    Reads the incident's record, timeline and audit entries, renders its
    review report, finds its clips and snapshots, and hashes every clip to
    compare with the SHA-256 recorded when it was cut.

    Args:
        session: An open session.
        incident_id: The incident.
        media_dir: The media directory stored paths are relative to.
        by: Who exports it; named in the manifest and the audit log.
        now: The export's time (default: now), timezone-aware.

    Returns:
        The package, with :attr:`EvidencePackage.integrity` filled in.

    Raises:
        IncidentNotFound: No incident has that id.
        EvidenceError: ``by`` is empty or ``now`` has no time zone.

    Example:
        >>> with db.session() as session:  # doctest: +SKIP
        ...     package = prepare_export(session, 7, site.media_dir, by="ana")
        >>> package.integrity  # doctest: +SKIP
        []
    """
    by = by.strip()
    if not by:
        raise EvidenceError("an export needs the name of who makes it; give 'by'")
    exported_at = now if now is not None else datetime.now(UTC)
    if exported_at.tzinfo is None:
        raise EvidenceError(
            f"export time {exported_at.isoformat()} has no time zone; give a "
            "timezone-aware time"
        )
    exported_at = exported_at.astimezone(UTC)
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise IncidentNotFound(f"no incident with id {incident_id}")

    media_dir = Path(media_dir).resolve()
    exhibits, problems = find_exhibits(session, incident_id, media_dir)
    record = service.incident_record(session, incident_id)
    timeline = service.timeline(session, incident_id)
    entries = incident_audit_entries(session, incident_id)
    chain = audit.verify(session)
    audit_log = {
        "entries_exported": len(entries),
        "chain_ok": chain.ok,
        "chain_checked": chain.checked,
        "chain_head": chain.last_hash,
        "first_broken_id": chain.first_broken_id,
        "reason": chain.reason,
    }
    if not chain.ok:
        problems.append(
            IntegrityProblem(
                kind="audit_chain_broken",
                subject="the audit log",
                message=(
                    f"the audit log's chain of hashes is broken: {chain.reason}; "
                    "the exported audit entries may not be as first written"
                ),
            )
        )
    review = report.build_report(
        session, incident_id, media_dir, now=exported_at, exhibits=exhibits
    )
    documents = [
        _Document("incident.json", "record", _json_bytes(record)),
        _Document("timeline.json", "timeline", _json_bytes(timeline)),
        _Document(
            "audit.json", "audit", _json_bytes([_audit_dict(e) for e in entries])
        ),
        _Document("report.md", "report", review.markdown().encode()),
        _Document("report.html", "report", review.html().encode()),
    ]

    checked: dict[str, str] = {}
    for exhibit in exhibits:
        if exhibit.kind != "clip":
            continue
        try:
            sha = sha256_file(exhibit.file)
            size = exhibit.file.stat().st_size
        except OSError as exc:
            problems.append(
                IntegrityProblem(
                    kind="unreadable",
                    subject=exhibit.subject,
                    message=(
                        f"{exhibit.subject} cannot be read at {exhibit.file} "
                        f"({exc.strerror or exc})"
                    ),
                    name=exhibit.name,
                    stored=exhibit.stored,
                )
            )
            continue
        checked[exhibit.name] = sha
        problem = _clip_change(exhibit, sha, size)
        if problem is not None:
            log.warning("incident %d: %s", incident_id, problem.message)
            problems.append(problem)

    return EvidencePackage(
        incident_id=incident_id,
        title=incident.title,
        exported_by=by,
        exported_at=exported_at,
        documents=documents,
        exhibits=exhibits,
        integrity=problems,
        audit_log=audit_log,
        _checked=checked,
    )


def record_export(session: Session, package: EvidencePackage) -> AuditEntry:
    """Append the export to the audit log (action ``incident.exported``).

    The entry's ``after`` holds the manifest's SHA-256, the number and size of
    the files, and every integrity problem, so a ZIP can later be tied to the
    export that made it.

    Raises:
        EvidenceError: The package has not been written yet.
    """
    if package.manifest is None or package.manifest_sha256 is None:
        raise EvidenceError(
            f"the export of incident {package.incident_id} has not been written; "
            "write it (chunks or write_to) before recording it"
        )
    files = package.manifest["files"]
    after = {
        "filename": package.filename,
        "exported_at": package.manifest["exported_at"],
        "manifest_sha256": package.manifest_sha256,
        "files": len(files) + 1,
        "bytes": sum(int(entry["bytes"]) for entry in files),
        "integrity_ok": not package.integrity,
        "integrity": [problem.to_dict() for problem in package.integrity],
    }
    entry = audit.append(
        session,
        package.exported_by,
        EXPORT_ACTION,
        f"incident:{package.incident_id}",
        None,
        after,
    )
    log.info(
        "incident %d exported by %s: %d files, manifest %s%s",
        package.incident_id,
        package.exported_by,
        len(files) + 1,
        package.manifest_sha256,
        "" if package.intact else f", {len(package.integrity)} integrity problems",
    )
    return entry


def export_incident(
    db: Database,
    incident_id: int,
    media_dir: Path,
    out: Path,
    *,
    by: str,
    now: datetime | None = None,
) -> EvidencePackage:
    """Export an incident to a ZIP file and audit it.

    The ZIP is written under a temporary name beside ``out`` and renamed when
    complete; the audit entry is appended after that.

    Args:
        db: The database.
        incident_id: The incident.
        media_dir: The media directory stored paths are relative to.
        out: Where to write the ZIP; replaced if it exists.
        by: Who exports it.
        now: The export's time (default: now).

    Returns:
        The written package; check :attr:`EvidencePackage.integrity`.

    Raises:
        IncidentNotFound: No incident has that id.
        EvidenceError: ``by`` is empty, or ``out`` cannot be written.
    """
    with db.session() as session:
        package = prepare_export(session, incident_id, media_dir, by=by, now=now)

    out = Path(out)
    partial = out.with_name(f".{out.name}.part")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as handle:
            package.write_to(handle)
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise EvidenceError(
            f"cannot write the export of incident {incident_id} to {out}: "
            f"{exc.strerror or exc}; check that the folder is writable and the "
            "disk has room"
        ) from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise

    with db.session() as session:
        record_export(session, package)
    return package


def incident_audit_entries(session: Session, incident_id: int) -> list[AuditEntry]:
    """The audit entries about an incident, the things on it and its linked
    alerts, oldest first.

    Targets are ``incident:7`` and anything under it (``incident:7/...``, but
    not ``incident:70``), and ``alert:N`` for every alert linked to it.
    """
    targets = [f"incident:{incident_id}"]
    alert_ids = session.scalars(
        select(IncidentLink.target_id)
        .where(
            IncidentLink.incident_id == incident_id,
            IncidentLink.kind == LinkKind.ALERT.value,
        )
        .order_by(IncidentLink.target_id)
    ).all()
    targets += [f"alert:{alert_id}" for alert_id in dict.fromkeys(alert_ids)]
    found: dict[int, AuditEntry] = {}
    for target in targets:
        for entry in audit.entries_for(session, target):
            found[entry.id] = entry
    return [found[key] for key in sorted(found)]


# --- checking a ZIP ----------------------------------------------------------


@dataclass(frozen=True)
class FileProblem:
    """One file of a ZIP that does not match its manifest.

    Attributes:
        path: Its path inside the ZIP.
        reason: What differs, in words.
    """

    path: str
    reason: str


@dataclass
class VerifyReport:
    """What :func:`verify_zip` found.

    Attributes:
        path: The ZIP checked.
        matched: How many files matched the manifest.
        missing: Files the manifest lists that the ZIP lacks.
        added: Files in the ZIP that the manifest does not list.
        changed: Files whose SHA-256 or size differs, or whose data is damaged.
        errors: Why the ZIP or its manifest could not be checked at all, or
            why the manifest is not the expected one.
        flagged: The integrity problems the export itself recorded.
        manifest_sha256: The SHA-256 of ``manifest.json``, when it was read.
        incident_id: The incident, from the manifest.
        exported_by: Who exported it, from the manifest.
        exported_at: When, from the manifest (ISO 8601).
    """

    path: Path
    matched: int = 0
    missing: list[FileProblem] = field(default_factory=list)
    added: list[FileProblem] = field(default_factory=list)
    changed: list[FileProblem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    flagged: list[dict[str, Any]] = field(default_factory=list)
    manifest_sha256: str | None = None
    incident_id: int | None = None
    exported_by: str | None = None
    exported_at: str | None = None

    @property
    def ok(self) -> bool:
        """Whether every file matches the manifest and nothing else is wrong."""
        return not (self.missing or self.added or self.changed or self.errors)

    def lines(self) -> list[str]:
        """The report for a person, one finding a line, the verdict first."""
        if self.ok:
            head = f"OK: {self.path}: all {self.matched} files match manifest.json"
        else:
            count = (
                len(self.missing)
                + len(self.added)
                + len(self.changed)
                + len(self.errors)
            )
            head = f"FAILED: {self.path}: {_count(count, 'problem')}"
        out = [head]
        if self.incident_id is not None:
            out.append(
                f"incident {self.incident_id}, exported by {self.exported_by} at "
                f"{self.exported_at}"
            )
        if self.manifest_sha256:
            out.append(f"manifest.json sha256 {self.manifest_sha256}")
        out += [f"error: {message}" for message in self.errors]
        out += [f"missing: {p.path}: {p.reason}" for p in self.missing]
        out += [f"added: {p.path}: {p.reason}" for p in self.added]
        out += [f"changed: {p.path}: {p.reason}" for p in self.changed]
        for problem in self.flagged:
            out.append(f"flagged at export: {problem.get('message', problem)}")
        return out

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "path": str(self.path),
            "ok": self.ok,
            "matched": self.matched,
            "missing": [vars(p) for p in self.missing],
            "added": [vars(p) for p in self.added],
            "changed": [vars(p) for p in self.changed],
            "errors": list(self.errors),
            "flagged": list(self.flagged),
            "manifest_sha256": self.manifest_sha256,
            "incident_id": self.incident_id,
            "exported_by": self.exported_by,
            "exported_at": self.exported_at,
        }


def verify_zip(
    path: Path | str, expected_manifest_sha256: str | None = None
) -> VerifyReport:
    """Check an evidence ZIP against its ``manifest.json``.

    Every entry is read in full: its SHA-256 and size must match the
    manifest's, and its data must pass the ZIP's own CRC check.

    Args:
        path: The ZIP.
        expected_manifest_sha256: The manifest's SHA-256 as the export's audit
            entry recorded it; when given, a different manifest is an error.

    Returns:
        The findings; :attr:`VerifyReport.ok` is True only when nothing is
        missing, added or changed.

    Example:
        >>> report = verify_zip("incident-7.zip")  # doctest: +SKIP
        >>> report.ok, report.changed  # doctest: +SKIP
        (False, [FileProblem(path='clips/clip-3.mp4', reason='SHA-256 is ...')])
    """
    found = VerifyReport(path=Path(path))
    try:
        archive = ZipFile(path)
    except (OSError, BadZipFile) as exc:
        found.errors.append(f"cannot read {path} as a ZIP file: {exc}")
        return found
    with archive:
        infos = archive.infolist()
        counts = Counter(info.filename for info in infos)
        if MANIFEST_NAME not in counts:
            found.errors.append(
                f"the ZIP has no {MANIFEST_NAME}; it is not an evidence export, or "
                "its manifest was removed"
            )
            return found
        manifest = _read_manifest(archive, found, expected_manifest_sha256)
        if manifest is None:
            return found

        listed: dict[str, dict[str, Any]] = {}
        for entry in manifest["files"]:
            listed[str(entry["path"])] = entry
        for name, count in counts.items():
            if count > 1:
                found.added.append(
                    FileProblem(name, f"the ZIP holds {count} entries of this name")
                )
        for name in counts:
            if name != MANIFEST_NAME and name not in listed:
                found.added.append(FileProblem(name, "not listed in manifest.json"))
        for name, entry in listed.items():
            if name not in counts:
                found.missing.append(
                    FileProblem(name, "listed in manifest.json but not in the ZIP")
                )
                continue
            reason = _entry_mismatch(archive, archive.getinfo(name), entry)
            if reason is None:
                found.matched += 1
            else:
                found.changed.append(FileProblem(name, reason))
    return found


def _read_manifest(
    archive: ZipFile, found: VerifyReport, expected_sha256: str | None
) -> dict[str, Any] | None:
    """The manifest, checked for shape; None (with an error noted) when unusable."""
    try:
        content = archive.read(MANIFEST_NAME)
    except (BadZipFile, zlib.error, OSError) as exc:
        found.errors.append(f"{MANIFEST_NAME} cannot be read: {exc}")
        return None
    found.manifest_sha256 = hashlib.sha256(content).hexdigest()
    if expected_sha256 is not None and (
        expected_sha256.strip().lower() != found.manifest_sha256
    ):
        found.errors.append(
            f"{MANIFEST_NAME} has SHA-256 {found.manifest_sha256}, not "
            f"{expected_sha256.strip().lower()} as expected: it is not the manifest "
            "that export wrote"
        )
    try:
        manifest = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        found.errors.append(f"{MANIFEST_NAME} is not valid JSON: {exc}")
        return None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or not isinstance(files, list)
        or not all(
            isinstance(entry, dict)
            and isinstance(entry.get("path"), str)
            and isinstance(entry.get("sha256"), str)
            and isinstance(entry.get("bytes"), int)
            for entry in files
        )
    ):
        found.errors.append(
            f"{MANIFEST_NAME} is not a {FORMAT} manifest: it needs 'format': "
            f"{FORMAT!r} and 'files', a list of {{path, sha256, bytes}}"
        )
        return None
    incident = manifest.get("incident")
    if isinstance(incident, dict) and isinstance(incident.get("id"), int):
        found.incident_id = incident["id"]
    found.exported_by = _text_or_none(manifest.get("exported_by"))
    found.exported_at = _text_or_none(manifest.get("exported_at"))
    integrity = manifest.get("integrity")
    if isinstance(integrity, list):
        found.flagged = [p for p in integrity if isinstance(p, dict)]
    return manifest


def _entry_mismatch(
    archive: ZipFile, info: ZipInfo, entry: dict[str, Any]
) -> str | None:
    """How an entry differs from its manifest line, or None when it matches."""
    digest = hashlib.sha256()
    size = 0
    try:
        with archive.open(info) as source:
            while chunk := source.read(CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
    except (BadZipFile, zlib.error, OSError, EOFError) as exc:
        return f"its data is damaged ({exc})"
    sha = digest.hexdigest()
    differences = []
    if sha != entry["sha256"]:
        differences.append(f"SHA-256 is {sha}, manifest says {entry['sha256']}")
    if size != entry["bytes"]:
        differences.append(f"size is {size} bytes, manifest says {entry['bytes']}")
    return "; ".join(differences) or None


# --- writing -----------------------------------------------------------------


class _ChunkSink(io.RawIOBase):
    """A write-only stream that hands over what was written since the last take.

    It cannot seek or tell, so :class:`zipfile.ZipFile` writes to it as to a
    stream (data descriptors after each entry).
    """

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        return len(chunk)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _zip_info(name: str, when: datetime, compression: int) -> ZipInfo:
    stamp = when.astimezone(UTC)
    info = ZipInfo(
        name,
        date_time=(
            stamp.year,
            stamp.month,
            stamp.day,
            stamp.hour,
            stamp.minute,
            stamp.second,
        ),
    )
    info.compress_type = compression
    info.external_attr = 0o644 << 16
    return info


def _add_bytes(archive: ZipFile, name: str, content: bytes, when: datetime) -> None:
    info = _zip_info(name, when, ZIP_DEFLATED)
    info.file_size = len(content)
    with archive.open(info, "w") as target:
        target.write(content)


def _exhibit_entry(exhibit: Exhibit, sha: str, size: int) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "path": exhibit.name,
        "kind": exhibit.kind,
        "bytes": size,
        "sha256": sha,
        "stored_path": exhibit.stored,
        "source": exhibit.source,
    }
    if exhibit.kind == "clip":
        entry["recorded_sha256"] = exhibit.recorded_sha256
        entry["recorded_bytes"] = exhibit.recorded_bytes
        entry["intact"] = sha == exhibit.recorded_sha256 and (
            exhibit.recorded_bytes is None or size == exhibit.recorded_bytes
        )
    return entry


def _clip_change(exhibit: Exhibit, sha: str, size: int) -> IntegrityProblem | None:
    """A problem when a clip differs from what was recorded when it was cut."""
    same_sha = exhibit.recorded_sha256 is None or sha == exhibit.recorded_sha256
    same_size = exhibit.recorded_bytes is None or size == exhibit.recorded_bytes
    if same_sha and same_size:
        return None
    sizes = (
        ""
        if same_size
        else f"; it was {exhibit.recorded_bytes} bytes and is now {size}"
    )
    return IntegrityProblem(
        kind="changed",
        subject=exhibit.subject,
        message=(
            f"{exhibit.subject} changed on disk since it was cut: its SHA-256 was "
            f"{exhibit.recorded_sha256} and is now {sha}{sizes}; exported as it is "
            f"now, as {exhibit.name}, and flagged"
        ),
        name=exhibit.name,
        stored=exhibit.stored,
        expected_sha256=exhibit.recorded_sha256,
        actual_sha256=sha,
        expected_bytes=exhibit.recorded_bytes,
        actual_bytes=size,
    )


def _audit_dict(entry: AuditEntry) -> dict[str, Any]:
    """An audit entry as stored: ``before`` and ``after`` kept as the exact text
    that was hashed, so the chain can be checked from the export."""
    return {
        "id": entry.id,
        "time": entry.time.astimezone(UTC).isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "before": entry.before,
        "after": entry.after,
        "previous_hash": entry.previous_hash,
        "hash": entry.hash,
    }


def _json_bytes(data: Any) -> bytes:
    text = json.dumps(data, indent=2, ensure_ascii=False, default=_json_default)
    return (text + "\n").encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} cannot be written as JSON")


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
