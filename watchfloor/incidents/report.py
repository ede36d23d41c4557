"""Post-incident review report of one incident, as Markdown or as HTML.

The report gives the incident's summary, how long the response took (time to
acknowledge, contain and recover), its roles, linked alerts, clips and events
with their snapshots, its timeline, notes and references, and the review's
root cause, what worked, what did not and the actions.

User text is never trusted. In HTML every field is escaped, and Markdown
fields (notes, description, review) are rendered by markdown-it with raw HTML
off, images off and unsafe link schemes refused. In Markdown, user text keeps
its Markdown, but anything that could open a raw HTML tag (``<`` before a
letter, ``/``, ``!`` or ``?``) outside code is written as ``&lt;``, so no
renderer passes HTML through.

Limitations:
    Inside indented (not fenced) code blocks of user Markdown, a neutralised
    ``<`` shows as ``&lt;`` in the Markdown report; the HTML report is not
    affected.
"""

from __future__ import annotations

import base64
import html
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from sqlalchemy.orm import Session

from watchfloor.incidents import service
from watchfloor.incidents.exhibits import Exhibit, find_exhibits
from watchfloor.models import Incident

log = logging.getLogger(__name__)

# Snapshots larger than this are listed but not embedded in the HTML report.
MAX_INLINE_BYTES = 8 * 1024 * 1024
_IMAGE_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
}
_REVIEW = (
    ("root_cause", "Root cause"),
    ("what_worked", "What worked"),
    ("what_did_not", "What did not work"),
    ("actions", "Actions"),
)
# Renders a note's Markdown with raw HTML escaped; images would fetch from
# anywhere, so they are off; links with unsafe schemes are refused by markdown-it.
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "breaks": True}).disable("image")
# What could start raw HTML in CommonMark: a tag, a closing tag, a comment,
# a declaration or a processing instruction.
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)")


@dataclass(frozen=True)
class Snapshot:
    """A picture shown in the report.

    Attributes:
        name: Its path inside an evidence export (``snapshots/alert-5.jpg``);
            the Markdown report links to it so.
        caption: What it shows.
        media_type: Such as ``image/jpeg``.
        data: The image's bytes; empty when it could not be read or is too
            large to embed.
    """

    name: str
    caption: str
    media_type: str
    data: bytes

    def data_uri(self) -> str:
        """The image as a ``data:`` URI (base64)."""
        encoded = base64.b64encode(self.data).decode("ascii")
        return f"data:{self.media_type};base64,{encoded}"


@dataclass(frozen=True)
class ClipLine:
    """A clip the report lists.

    Attributes:
        id: The clip's id.
        camera: Its camera.
        start: Start of its range (ISO 8601), when known.
        end: End of its range (ISO 8601), when known.
        sha256: The SHA-256 recorded when it was cut.
        via: How it belongs to the incident: ``linked`` or ``alert 5``.
        name: Its path inside an evidence export; None when it is not on disk.
    """

    id: Any
    camera: Any
    start: Any
    end: Any
    sha256: Any
    via: str
    name: str | None


@dataclass(frozen=True)
class Durations:
    """When the response reached each stage, and how long each took.

    The stages are those of :func:`watchfloor.incidents.service.incident_metrics`
    (see its module for the terms), plus the close.

    Attributes:
        detected_at: The first linked alert's start, else the incident's creation.
        acknowledged_at: When the first linked alert was first acknowledged or
            escalated (or linked, if earlier); None without alerts.
        contained_at: When the incident first moved to contained or later.
        recovered_at: When it first moved to recovered or closed.
        closed_at: When it was closed; None while open.
    """

    detected_at: datetime
    acknowledged_at: datetime | None
    contained_at: datetime | None
    recovered_at: datetime | None
    closed_at: datetime | None

    def rows(self) -> list[tuple[str, datetime | None, timedelta | None]]:
        """``(measure, reached at, time from detection)`` for each stage."""
        out: list[tuple[str, datetime | None, timedelta | None]] = []
        for label, when in (
            ("Time to acknowledge", self.acknowledged_at),
            ("Time to contain", self.contained_at),
            ("Time to recover", self.recovered_at),
            ("Time to close", self.closed_at),
        ):
            out.append((label, when, None if when is None else when - self.detected_at))
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: each stage's time (ISO 8601) and seconds from detection."""
        data: dict[str, Any] = {"detected_at": _iso(self.detected_at)}
        for verb, noun, when in (
            ("acknowledge", "acknowledged_at", self.acknowledged_at),
            ("contain", "contained_at", self.contained_at),
            ("recover", "recovered_at", self.recovered_at),
            ("close", "closed_at", self.closed_at),
        ):
            data[noun] = _iso(when)
            data[f"time_to_{verb}_s"] = (
                None if when is None else (when - self.detected_at).total_seconds()
            )
        return data


@dataclass
class IncidentReport:
    """Everything a review report shows; render it with :meth:`markdown` or
    :meth:`html`.

    Attributes:
        record: The incident as :func:`watchfloor.incidents.service.incident_record`
            gives it.
        timeline: Its timeline, oldest first.
        durations: How long each stage of the response took.
        snapshots: The pictures of its alerts and events.
        clips: The clips of its linked alerts and its linked clips.
        generated_at: When the report was made.
        problems: Files that could not be found, in words.
    """

    record: dict[str, Any]
    timeline: list[dict[str, Any]]
    durations: Durations
    snapshots: list[Snapshot]
    clips: list[ClipLine]
    generated_at: datetime
    problems: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        """The report as Markdown; snapshots are linked by their export path."""
        return _render_markdown(self)

    def html(self) -> str:
        """The report as one self-contained HTML page, snapshots inline."""
        return _render_html(self)


def build_report(
    session: Session,
    incident_id: int,
    media_dir: Path,
    *,
    now: datetime | None = None,
    exhibits: Sequence[Exhibit] | None = None,
) -> IncidentReport:
    """Gather an incident's review report.

    Args:
        session: An open session.
        incident_id: The incident.
        media_dir: The media directory snapshot paths are relative to.
        now: When the report is made (default: now).
        exhibits: The incident's files, when the caller has already found them
            (see :func:`watchfloor.incidents.exhibits.find_exhibits`).

    Raises:
        LookupError: No incident has that id.

    Example:
        >>> with db.session() as session:  # doctest: +SKIP
        ...     text = build_report(session, 7, site.media_dir).markdown()
    """
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise LookupError(f"no incident with id {incident_id}")
    problems: list[str] = []
    if exhibits is None:
        found, missing = find_exhibits(session, incident_id, Path(media_dir))
        exhibits = found
        problems = [problem.message for problem in missing]

    record = service.incident_record(session, incident_id)
    timeline = service.timeline(session, incident_id)
    snapshots = [_snapshot(e) for e in exhibits if e.kind == "snapshot"]
    return IncidentReport(
        record=record,
        timeline=list(timeline),
        durations=response_durations(session, incident),
        snapshots=[s for s in snapshots if s is not None],
        clips=_clip_lines(record, exhibits),
        generated_at=(now or datetime.now(UTC)).astimezone(UTC),
        problems=problems,
    )


def response_durations(session: Session, incident: Incident) -> Durations:
    """When the incident was detected, acknowledged, contained, recovered, closed.

    The first four come from :func:`watchfloor.incidents.service.incident_metrics`.
    """
    metrics = service.incident_metrics(session, incident.id)
    detected = _parse_time(metrics.get("started_at")) or incident.created_at
    return Durations(
        detected_at=detected,
        acknowledged_at=_parse_time(metrics.get("acknowledged_at")),
        contained_at=_parse_time(metrics.get("contained_at")),
        recovered_at=_parse_time(metrics.get("recovered_at")),
        closed_at=incident.closed_at,
    )


def markdown_to_html(text: str) -> str:
    """Render user Markdown to safe HTML: raw HTML escaped, no images.

    Example:
        >>> markdown_to_html("a <b>bold</b> *claim*")
        '<p>a &lt;b&gt;bold&lt;/b&gt; <em>claim</em></p>\\n'
    """
    return _MARKDOWN.render(text)


def neutralise_markdown(text: str) -> str:
    """User Markdown with every raw HTML opening outside code written as ``&lt;``.

    Example:
        >>> neutralise_markdown("x <script>y</script> `a<b` 1 < 2")
        'x &lt;script>y&lt;/script> `a<b` 1 < 2'
    """
    out: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        match = _FENCE.match(line)
        if fence is not None:
            out.append(line)
            if (
                match
                and match.group(1)[0] == fence[0]
                and len(match.group(1)) >= len(fence)
            ):
                fence = None
            continue
        if match:
            fence = match.group(1)
            out.append(line)
            continue
        out.append(_outside_code_spans(line, lambda part: _TAG_START.sub("&lt;", part)))
    return "\n".join(out)


# --- Markdown ----------------------------------------------------------------


def _render_markdown(report: IncidentReport) -> str:
    record = report.record
    lines: list[str] = [
        f"# Incident {record.get('id')}: {_md_inline(record.get('title'))}",
        "",
        f"- Severity: {_md_inline(record.get('severity'))}",
        f"- Status: {_md_inline(record.get('status'))}",
    ]
    if record.get("location"):
        lines.append(f"- Location: {_md_inline(record.get('location'))}")
    lines += [
        f"- Opened by {_md_inline(record.get('created_by'))} at "
        f"{_when(record.get('created_at'))}",
        f"- Closed at {_when(record.get('closed_at'))}",
        f"- Report generated at {_when(report.generated_at)}",
        "",
        "## Summary",
        "",
        _md_block(record.get("description")) or "_No description._",
        "",
        "## Durations",
        "",
        f"Measured from detection at {_when(report.durations.detected_at)}.",
        "",
        "| Measure | Reached at | Duration |",
        "|---|---|---|",
    ]
    for label, when, took in report.durations.rows():
        lines.append(f"| {label} | {_when(when)} | {_duration(took)} |")

    lines += ["", "## Roles", ""]
    roles = _list(record, "roles")
    if roles:
        lines += ["| Role | Person | Assigned by | Assigned at | Removed at |"]
        lines += ["|---|---|---|---|---|"]
        for role in roles:
            lines.append(
                "| "
                + " | ".join(
                    [
                        _md_inline(role.get("role")),
                        _md_inline(role.get("person")),
                        _md_inline(role.get("assigned_by")),
                        _when(role.get("assigned_at")),
                        _when(role.get("removed_at")),
                    ]
                )
                + " |"
            )
    else:
        lines.append("_Nobody was assigned a role._")

    lines += ["", "## Linked alerts", ""]
    alerts = _linked(record, "alert")
    if alerts:
        lines += [
            "| Alert | Camera | Rule | Where | Object | Started | Ended | Status |"
        ]
        lines += ["|---|---|---|---|---|---|---|---|"]
        for alert in alerts:
            lines.append(
                "| "
                + " | ".join(
                    [
                        str(alert.get("id", "")),
                        _md_inline(alert.get("camera")),
                        _md_inline(alert.get("rule")),
                        _md_inline(alert.get("zone") or alert.get("line")),
                        _md_inline(_object(alert)),
                        _when(alert.get("start")),
                        _when(alert.get("end")),
                        _md_inline(alert.get("status")),
                    ]
                )
                + " |"
            )
    else:
        lines.append("_No alerts are linked._")

    lines += ["", "## Linked clips", ""]
    if report.clips:
        lines += ["| Clip | Camera | From | To | Via | File | Recorded SHA-256 |"]
        lines += ["|---|---|---|---|---|---|---|"]
        for clip in report.clips:
            shown = f"[{clip.name}]({clip.name})" if clip.name else "missing"
            lines.append(
                "| "
                + " | ".join(
                    [
                        _md_inline(clip.id),
                        _md_inline(clip.camera),
                        _when(clip.start),
                        _when(clip.end),
                        clip.via,
                        shown,
                        f"`{clip.sha256}`" if clip.sha256 else "-",
                    ]
                )
                + " |"
            )
    else:
        lines.append("_No clips are linked._")

    events = _linked(record, "event")
    if events:
        lines += [
            "",
            "## Linked events",
            "",
            "| Event | Camera | Kind | Object | Time |",
        ]
        lines += ["|---|---|---|---|---|"]
        for event in events:
            lines.append(
                "| "
                + " | ".join(
                    [
                        str(event.get("id", "")),
                        _md_inline(event.get("camera")),
                        _md_inline(event.get("kind")),
                        _md_inline(event.get("label")),
                        _when(event.get("time")),
                    ]
                )
                + " |"
            )

    lines += ["", "## Snapshots", ""]
    if report.snapshots:
        for snapshot in report.snapshots:
            caption = _md_inline(snapshot.caption).replace("]", "\\]")
            lines += [f"![{caption}]({snapshot.name})", "", f"_{caption}_", ""]
    else:
        lines += ["_No snapshots._", ""]

    lines += ["## Timeline", ""]
    if report.timeline:
        lines += ["| Time | Kind | By | What |", "|---|---|---|---|"]
        for entry in report.timeline:
            cells = [
                _when(entry.get("time")),
                _md_inline(entry.get("kind")),
                _md_inline(entry.get("actor")),
                _md_inline(entry.get("summary")),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    else:
        lines.append("_The timeline is empty._")

    lines += ["", "## Notes", ""]
    notes = _list(record, "notes")
    for note in notes:
        lines += [
            f"### {_md_inline(note.get('author'))}, {_when(note.get('created_at'))}",
            "",
            _md_block(note.get("text")),
            "",
        ]
    if not notes:
        lines += ["_No notes._", ""]

    references = _list(record, "references")
    if references:
        lines += ["## External references", ""]
        for ref in references:
            url = _safe_url(ref.get("url"))
            key = _md_inline(ref.get("key"))
            shown = f"[{key}](<{url}>)" if url else key
            lines.append(f"- {_md_inline(ref.get('system'))}: {shown}")
        lines.append("")

    lines += ["## Review", ""]
    for key, title in _REVIEW:
        lines += [
            f"### {title}",
            "",
            _md_block(record.get(key)) or "_Not written yet._",
            "",
        ]

    if report.problems:
        lines += ["## Missing files", ""]
        lines += [f"- {_md_inline(problem)}" for problem in report.problems]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _md_inline(value: Any) -> str:
    """One line of user text for Markdown: no line breaks, no table breaks, no
    raw HTML."""
    if value is None or value == "":
        return "-"
    text = " ".join(str(value).split())
    text = text.replace("\\", "\\\\").replace("|", "\\|")
    return _TAG_START.sub("&lt;", text)


def _md_block(value: Any) -> str:
    if value is None:
        return ""
    return neutralise_markdown(str(value).strip())


def _outside_code_spans(line: str, change: Callable[[str], str]) -> str:
    out, at = [], 0
    for match in _CODE_SPAN.finditer(line):
        out.append(change(line[at : match.start()]))
        out.append(match.group(0))
        at = match.end()
    out.append(change(line[at:]))
    return "".join(out)


# --- HTML --------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #1a1a1a; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #bbb; padding: 0.25rem 0.5rem; text-align: left;
         vertical-align: top; }
th { background: #f0f0f0; }
figure { display: inline-block; margin: 0 1rem 1rem 0; max-width: 28rem; }
figure img { max-width: 100%; border: 1px solid #bbb; }
figcaption { font-size: 0.85rem; color: #444; }
.empty { color: #666; font-style: italic; }
.problem { color: #a00000; }
code { font-size: 0.9em; }
"""


def _render_html(report: IncidentReport) -> str:
    record = report.record
    e = _h
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>Incident {e(record.get('id'))}: {e(record.get('title'))}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>Incident {e(record.get('id'))}: {e(record.get('title'))}</h1>",
        "<ul>",
        f"<li>Severity: {e(record.get('severity'))}</li>",
        f"<li>Status: {e(record.get('status'))}</li>",
    ]
    if record.get("location"):
        parts.append(f"<li>Location: {e(record.get('location'))}</li>")
    parts += [
        f"<li>Opened by {e(record.get('created_by'))} at "
        f"{e(_when(record.get('created_at')))}</li>",
        f"<li>Closed at {e(_when(record.get('closed_at')))}</li>",
        f"<li>Report generated at {e(_when(report.generated_at))}</li>",
        "</ul>",
        "<h2>Summary</h2>",
        _html_block(record.get("description"), "No description."),
        "<h2>Durations</h2>",
        f"<p>Measured from detection at {e(_when(report.durations.detected_at))}.</p>",
        _html_table(
            ["Measure", "Reached at", "Duration"],
            [
                [label, _when(when), _duration(took)]
                for label, when, took in report.durations.rows()
            ],
        ),
        "<h2>Roles</h2>",
    ]
    roles = _list(record, "roles")
    parts.append(
        _html_table(
            ["Role", "Person", "Assigned by", "Assigned at", "Removed at"],
            [
                [
                    role.get("role"),
                    role.get("person"),
                    role.get("assigned_by"),
                    _when(role.get("assigned_at")),
                    _when(role.get("removed_at")),
                ]
                for role in roles
            ],
            "Nobody was assigned a role.",
        )
    )

    parts.append("<h2>Linked alerts</h2>")
    parts.append(
        _html_table(
            [
                "Alert",
                "Camera",
                "Rule",
                "Where",
                "Object",
                "Started",
                "Ended",
                "Status",
            ],
            [
                [
                    alert.get("id"),
                    alert.get("camera"),
                    alert.get("rule"),
                    alert.get("zone") or alert.get("line"),
                    _object(alert),
                    _when(alert.get("start")),
                    _when(alert.get("end")),
                    alert.get("status"),
                ]
                for alert in _linked(record, "alert")
            ],
            "No alerts are linked.",
        )
    )
    parts.append("<h2>Linked clips</h2>")
    parts.append(
        _html_table(
            ["Clip", "Camera", "From", "To", "Via", "File", "Recorded SHA-256"],
            [
                [
                    clip.id,
                    clip.camera,
                    _when(clip.start),
                    _when(clip.end),
                    clip.via,
                    clip.name or "missing",
                    clip.sha256,
                ]
                for clip in report.clips
            ],
            "No clips are linked.",
        )
    )
    events = _linked(record, "event")
    if events:
        parts.append("<h2>Linked events</h2>")
        parts.append(
            _html_table(
                ["Event", "Camera", "Kind", "Object", "Time"],
                [
                    [
                        event.get("id"),
                        event.get("camera"),
                        event.get("kind"),
                        event.get("label"),
                        _when(event.get("time")),
                    ]
                    for event in events
                ],
            )
        )

    parts.append("<h2>Snapshots</h2>")
    if report.snapshots:
        parts.append("<div>")
        for snapshot in report.snapshots:
            if snapshot.data:
                picture = (
                    f'<img src="{snapshot.data_uri()}" alt="{e(snapshot.caption)}">'
                )
            else:
                picture = (
                    f'<p class="problem">{e(snapshot.name)} is not embedded: it '
                    "could not be read or is too large</p>"
                )
            parts.append(
                f"<figure>{picture}<figcaption>{e(snapshot.caption)}"
                "</figcaption></figure>"
            )
        parts.append("</div>")
    else:
        parts.append('<p class="empty">No snapshots.</p>')

    parts.append("<h2>Timeline</h2>")
    parts.append(
        _html_table(
            ["Time", "Kind", "By", "What"],
            [
                [
                    _when(entry.get("time")),
                    entry.get("kind"),
                    entry.get("actor"),
                    entry.get("summary"),
                ]
                for entry in report.timeline
            ],
            "The timeline is empty.",
        )
    )

    parts.append("<h2>Notes</h2>")
    notes = _list(record, "notes")
    for note in notes:
        parts += [
            f"<h3>{e(note.get('author'))}, {e(_when(note.get('created_at')))}</h3>",
            _html_block(note.get("text"), "(empty)"),
        ]
    if not notes:
        parts.append('<p class="empty">No notes.</p>')

    references = _list(record, "references")
    if references:
        parts += ["<h2>External references</h2>", "<ul>"]
        for ref in references:
            url = _safe_url(ref.get("url"))
            key = e(ref.get("key"))
            shown = (
                f'<a href="{e(url)}" rel="noopener noreferrer">{key}</a>'
                if url
                else key
            )
            parts.append(f"<li>{e(ref.get('system'))}: {shown}</li>")
        parts.append("</ul>")

    parts.append("<h2>Review</h2>")
    for key, title in _REVIEW:
        parts += [f"<h3>{title}</h3>", _html_block(record.get(key), "Not written yet.")]

    if report.problems:
        parts += ["<h2>Missing files</h2>", "<ul>"]
        parts += [f'<li class="problem">{e(p)}</li>' for p in report.problems]
        parts.append("</ul>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _h(value: Any) -> str:
    """User text escaped for HTML; nothing shows as ``-``."""
    if value is None or value == "":
        return "-"
    return html.escape(str(value), quote=True)


def _html_block(value: Any, empty: str) -> str:
    if value is None or not str(value).strip():
        return f'<p class="empty">{html.escape(empty)}</p>'
    return markdown_to_html(str(value))


def _html_table(
    head: Sequence[str], rows: Sequence[Sequence[Any]], empty: str | None = None
) -> str:
    if not rows:
        return f'<p class="empty">{html.escape(empty)}</p>' if empty else ""
    out = ["<table>", "<tr>" + "".join(f"<th>{_h(h)}</th>" for h in head) + "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{_h(cell)}</td>" for cell in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


# --- shared ------------------------------------------------------------------


def _snapshot(exhibit: Exhibit) -> Snapshot | None:
    media_type = _IMAGE_TYPES.get(exhibit.file.suffix.lower())
    if media_type is None:
        log.warning("%s is not a picture a report can show; skipped", exhibit.subject)
        return None
    data = b""
    try:
        if exhibit.file.stat().st_size <= MAX_INLINE_BYTES:
            data = exhibit.file.read_bytes()
    except OSError as exc:
        log.warning("cannot read %s at %s: %s", exhibit.subject, exhibit.file, exc)
    return Snapshot(exhibit.name, exhibit.caption, media_type, data)


def _clip_lines(
    record: Mapping[str, Any], exhibits: Sequence[Exhibit]
) -> list[ClipLine]:
    """The clips found on disk, then linked clips that were not found."""
    lines = [
        ClipLine(
            id=e.source.get("clip_id"),
            camera=e.source.get("camera"),
            start=e.source.get("start"),
            end=e.source.get("end"),
            sha256=e.recorded_sha256,
            via=str(e.source.get("via", "linked")),
            name=e.name,
        )
        for e in exhibits
        if e.kind == "clip"
    ]
    shown = {line.id for line in lines}
    for link in _list(record, "links"):
        clip = link.get("clip")
        if not isinstance(clip, dict) or clip.get("id") in shown:
            continue
        shown.add(clip.get("id"))
        via = (
            "linked" if link.get("kind") == "clip" else f"alert {link.get('target_id')}"
        )
        lines.append(
            ClipLine(
                id=clip.get("id"),
                camera=clip.get("camera"),
                start=clip.get("start"),
                end=clip.get("end"),
                sha256=clip.get("sha256"),
                via=via,
                name=None,
            )
        )
    return lines


def _list(record: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    value = record.get(key)
    return [item for item in value if isinstance(item, dict)] if value else []


def _linked(record: Mapping[str, Any], kind: str) -> list[dict[str, Any]]:
    """The details of the record's links of one kind (alert, clip or event)."""
    out = []
    for link in _list(record, "links"):
        if link.get("kind") != kind:
            continue
        detail = link.get(kind) or link.get("detail") or link.get("target")
        if isinstance(detail, dict):
            out.append(detail)
        else:
            out.append({"id": link.get("target_id")})
    return out


def _object(alert: Mapping[str, Any]) -> str:
    label = alert.get("label")
    score = alert.get("score")
    if label and isinstance(score, int | float):
        return f"{label} ({score:.2f})"
    return str(label or "")


def _safe_url(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    url = value.strip()
    if url.lower().startswith(("http://", "https://")) and not any(
        ch in url for ch in "<> \"'\n"
    ):
        return url
    return None


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _when(value: Any) -> str:
    when = _parse_time(value)
    return "-" if when is None else when.astimezone(UTC).isoformat()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _duration(value: timedelta | None) -> str:
    """``1 h 02 min 05 s``, ``2 min 05 s``, ``45 s``; ``-`` for none.

    Example:
        >>> _duration(timedelta(seconds=3725))
        '1 h 02 min 05 s'
    """
    if value is None:
        return "-"
    seconds = round(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours} h {minutes:02d} min {secs:02d} s"
    if minutes:
        return f"{sign}{minutes} min {secs:02d} s"
    return f"{sign}{secs} s"
