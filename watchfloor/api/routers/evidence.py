"""``/api/incidents/{id}/export`` and ``/report``: evidence ZIP and review report."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response
from fastapi.responses import StreamingResponse

from watchfloor.api.deps import Context
from watchfloor.api.errors import responses
from watchfloor.api.routers.incidents import ActorHeader, actor_of
from watchfloor.incidents.evidence import (
    EvidencePackage,
    IncidentNotFound,
    prepare_export,
    record_export,
)
from watchfloor.incidents.report import build_report
from watchfloor.models.database import Database

log = logging.getLogger(__name__)

router = APIRouter(tags=["incidents"], responses=responses(422))

INTEGRITY_HEADER = "X-Watchfloor-Integrity"
# The HTML report runs no script and loads nothing: its pictures are inline.
_REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


class ReportFormat(StrEnum):
    """How a review report is written."""

    MARKDOWN = "markdown"
    HTML = "html"


@router.get(
    "/api/incidents/{incident_id}/export",
    response_class=Response,
    responses={
        200: {
            "content": {"application/zip": {}},
            "description": (
                f"The evidence ZIP. The {INTEGRITY_HEADER} header is `ok`, or "
                "counts and names the integrity problems that its manifest lists."
            ),
        },
        **responses(404, 409),
    },
)
def export_incident(
    context: Context,
    incident_id: int,
    by: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=128,
            description="Who exports it (else the X-Watchfloor-Actor header, "
            "else 'local').",
        ),
    ] = None,
    strict: Annotated[
        bool,
        Query(description="Refuse (409) instead of exporting with integrity problems."),
    ] = False,
    actor: ActorHeader = None,
) -> Response:
    """The incident's evidence as a ZIP, streamed as it is written.

    It holds the incident's clips and snapshots, its record, timeline and
    audit entries as JSON, its review report (Markdown and HTML), and
    `manifest.json` listing every file with its SHA-256 and size, who exported
    it and when. The export is recorded in the audit log
    (`incident.exported`, with the manifest's SHA-256) once the whole ZIP has
    been sent.

    A clip that changed on disk since it was cut is exported as it is now and
    flagged: the manifest's `integrity` names it with both digests, and so does
    the `X-Watchfloor-Integrity` header; with `strict=true` the export is
    refused (409) instead. `watchfloor evidence verify` checks a ZIP.
    """
    who = actor_of(by, actor)
    with context.db.session() as session:
        try:
            package = prepare_export(session, incident_id, context.media_dir, by=who)
        except IncidentNotFound as exc:
            raise HTTPException(404, str(exc)) from exc
    if strict and package.integrity:
        problems = "; ".join(problem.message for problem in package.integrity)
        raise HTTPException(
            409,
            f"incident {incident_id} was not exported: {problems}. Export without "
            "strict to get it with these problems flagged in its manifest",
        )
    headers = {
        "Content-Disposition": f'attachment; filename="{package.filename}"',
        INTEGRITY_HEADER: integrity_summary(package),
    }
    return StreamingResponse(
        _stream(context.db, package), media_type="application/zip", headers=headers
    )


@router.get(
    "/api/incidents/{incident_id}/report",
    response_class=Response,
    responses={
        200: {
            "content": {"text/markdown": {}, "text/html": {}},
            "description": "The review report.",
        },
        **responses(404),
    },
)
def incident_report(
    context: Context,
    incident_id: int,
    report_format: Annotated[
        ReportFormat,
        Query(
            alias="format",
            description="markdown (snapshots linked by their path in an export) "
            "or html (one page, snapshots inline).",
        ),
    ] = ReportFormat.MARKDOWN,
) -> Response:
    """The post-incident review report.

    Summary, durations (time to acknowledge, contain, recover and close,
    from detection), roles, linked alerts, clips and events with their
    snapshots, the timeline, notes, references, and the review: root cause,
    what worked, what did not, actions. User text is escaped; notes are
    rendered from Markdown without raw HTML.
    """
    with context.db.session() as session:
        try:
            report = build_report(session, incident_id, context.media_dir)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from exc
    headers: dict[str, Any] = {"X-Content-Type-Options": "nosniff"}
    if report_format is ReportFormat.HTML:
        headers["Content-Security-Policy"] = _REPORT_CSP
        return Response(
            report.html(), media_type="text/html; charset=utf-8", headers=headers
        )
    headers["Content-Disposition"] = f'inline; filename="incident-{incident_id}.md"'
    return Response(
        report.markdown(), media_type="text/markdown; charset=utf-8", headers=headers
    )


def integrity_summary(package: EvidencePackage) -> str:
    """``ok``, or ``2 problems: clip 3 changed; snapshot of alert 5 missing``.

    Names only what the export found before writing; a file that changes while
    it is written is listed in the manifest alone.
    """
    if not package.integrity:
        return "ok"
    named = "; ".join(f"{p.subject} {p.kind}" for p in package.integrity)
    count = len(package.integrity)
    text = f"{count} problem{'s' if count != 1 else ''}: {named}"
    return text.encode("ascii", "replace").decode("ascii")


def _stream(db: Database, package: EvidencePackage) -> Iterator[bytes]:
    """The ZIP's bytes; once all are sent, the export goes into the audit log."""
    yield from package.chunks()
    with db.session() as session:
        record_export(session, package)
