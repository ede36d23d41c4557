"""``/api/zones``, ``/api/lines``, ``/api/rules``: the site's and API-made ones.

Bodies have the site file's schema, so the same checks give the same messages.
Objects of the site file are listed with ``source: "site"`` and cannot be
changed here; those made here are stored in the database (``source: "api"``).
Cameras apply any change on their next frame. Every change is written to the
audit log as done by the ``X-Watchfloor-Actor`` header's name (else ``local``).

Limitations:
    The store commits a change before its audit entry is written, in a second
    transaction: a crash between the two leaves the change without its entry.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response

from watchfloor.api.deps import ApiContext, Context
from watchfloor.api.errors import responses
from watchfloor.api.schemas import LineOut, RuleOut, ZoneOut
from watchfloor.config import LineConfig, RuleConfig, ZoneConfig
from watchfloor.incidents import audit
from watchfloor.rules.store import (
    AnyConfig,
    Definition,
    DefinitionInvalid,
    DefinitionNotFound,
    Kind,
)

router = APIRouter(responses=responses(422))

Actor = Annotated[
    str | None,
    Header(
        alias="X-Watchfloor-Actor",
        description="Who makes the change, for the audit log (default 'local').",
    ),
]


def _fields(item: Definition) -> dict[str, object]:
    return {
        "name": item.name,
        "source": item.source,
        "definition": item.config,
        "created_by": item.created_by,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "problem": item.problem,
    }


def _zone(item: Definition) -> ZoneOut:
    return ZoneOut.model_validate(_fields(item))


def _line(item: Definition) -> LineOut:
    return LineOut.model_validate(_fields(item))


def _rule(item: Definition) -> RuleOut:
    return RuleOut.model_validate(_fields(item))


def _who(actor: str | None) -> str:
    return (actor or "").strip() or audit.DEFAULT_ACTOR


def _state(item: Definition | None) -> dict[str, Any] | None:
    """What the audit log keeps of a definition."""
    if item is None:
        return None
    config = item.config.model_dump(mode="json") if item.config else None
    return {"source": item.source, "definition": config}


def _audit(
    context: ApiContext,
    actor: str,
    action: str,
    kind: Kind,
    name: str,
    before: Definition | None,
    after: Definition | None,
) -> None:
    with context.db.session() as session:
        audit.append(
            session,
            actor,
            f"{kind}.{action}",
            f"{kind}:{name}",
            _state(before),
            _state(after),
        )


def _create(context: ApiContext, config: AnyConfig, actor: str | None) -> Definition:
    who = _who(actor)
    item = context.definitions.create(config, by=who)
    _audit(context, who, "create", item.kind, item.name, None, item)
    return _changed(context, item)


def _replace(
    context: ApiContext, kind: Kind, config: AnyConfig, actor: str | None
) -> Definition:
    who = _who(actor)
    try:
        before: Definition | None = context.definitions.get(kind, config.name)
    except DefinitionNotFound:
        before = None  # replace() refuses it, saying how to make one
    item = context.definitions.replace(config, by=who)
    _audit(context, who, "replace", kind, item.name, before, item)
    return _changed(context, item)


def _delete(
    context: ApiContext, kind: Kind, name: str, actor: str | None = None
) -> Response:
    who = _who(actor)
    before = context.definitions.get(kind, name)
    context.definitions.delete(kind, name)
    _audit(context, who, "delete", kind, name, before, None)
    context.notify_rules_changed()
    return Response(status_code=204)


def _changed(context: ApiContext, item: Definition) -> Definition:
    context.notify_rules_changed()
    return item


# Zones ------------------------------------------------------------------------


@router.get("/api/zones", response_model=list[ZoneOut], tags=["zones"])
def list_zones(context: Context) -> list[ZoneOut]:
    """Every zone: the site file's first, then those made here, by name."""
    return [_zone(item) for item in context.definitions.list("zone")]


@router.post(
    "/api/zones",
    response_model=ZoneOut,
    status_code=201,
    tags=["zones"],
    responses=responses(409),
)
def create_zone(context: Context, zone: ZoneConfig, actor: Actor = None) -> ZoneOut:
    """Make a zone. 409 when the name is taken; 422 for an unknown camera."""
    return _zone(_create(context, zone, actor))


@router.get(
    "/api/zones/{name}",
    response_model=ZoneOut,
    tags=["zones"],
    responses=responses(404),
)
def get_zone(context: Context, name: str) -> ZoneOut:
    """One zone by name."""
    return _zone(context.definitions.get("zone", name))


@router.put(
    "/api/zones/{name}",
    response_model=ZoneOut,
    tags=["zones"],
    responses=responses(404, 409),
)
def replace_zone(
    context: Context, name: str, zone: ZoneConfig, actor: Actor = None
) -> ZoneOut:
    """Replace a zone made here; the site file's answer 409."""
    _same_name("zone", name, zone.name)
    return _zone(_replace(context, "zone", zone, actor))


@router.delete(
    "/api/zones/{name}", status_code=204, tags=["zones"], responses=responses(404, 409)
)
def delete_zone(context: Context, name: str, actor: Actor = None) -> Response:
    """Delete a zone made here; 409 while a rule uses it."""
    return _delete(context, "zone", name, actor)


# Lines ------------------------------------------------------------------------


@router.get("/api/lines", response_model=list[LineOut], tags=["lines"])
def list_lines(context: Context) -> list[LineOut]:
    """Every line: the site file's first, then those made here, by name."""
    return [_line(item) for item in context.definitions.list("line")]


@router.post(
    "/api/lines",
    response_model=LineOut,
    status_code=201,
    tags=["lines"],
    responses=responses(409),
)
def create_line(context: Context, line: LineConfig, actor: Actor = None) -> LineOut:
    """Make a line. 409 when the name is taken; 422 for an unknown camera."""
    return _line(_create(context, line, actor))


@router.get(
    "/api/lines/{name}",
    response_model=LineOut,
    tags=["lines"],
    responses=responses(404),
)
def get_line(context: Context, name: str) -> LineOut:
    """One line by name."""
    return _line(context.definitions.get("line", name))


@router.put(
    "/api/lines/{name}",
    response_model=LineOut,
    tags=["lines"],
    responses=responses(404, 409),
)
def replace_line(
    context: Context, name: str, line: LineConfig, actor: Actor = None
) -> LineOut:
    """Replace a line made here; the site file's answer 409."""
    _same_name("line", name, line.name)
    return _line(_replace(context, "line", line, actor))


@router.delete(
    "/api/lines/{name}", status_code=204, tags=["lines"], responses=responses(404, 409)
)
def delete_line(context: Context, name: str, actor: Actor = None) -> Response:
    """Delete a line made here; 409 while a rule uses it."""
    return _delete(context, "line", name, actor)


# Rules ------------------------------------------------------------------------


@router.get("/api/rules", response_model=list[RuleOut], tags=["rules"])
def list_rules(context: Context) -> list[RuleOut]:
    """Every rule: the site file's first, then those made here, by name."""
    return [_rule(item) for item in context.definitions.list("rule")]


@router.post(
    "/api/rules",
    response_model=RuleOut,
    status_code=201,
    tags=["rules"],
    responses=responses(409),
)
def create_rule(context: Context, rule: RuleConfig, actor: Actor = None) -> RuleOut:
    """Make a rule. 409 when the name is taken; 422 for a missing zone or line."""
    return _rule(_create(context, rule, actor))


@router.get(
    "/api/rules/{name}",
    response_model=RuleOut,
    tags=["rules"],
    responses=responses(404),
)
def get_rule(context: Context, name: str) -> RuleOut:
    """One rule by name."""
    return _rule(context.definitions.get("rule", name))


@router.put(
    "/api/rules/{name}",
    response_model=RuleOut,
    tags=["rules"],
    responses=responses(404, 409),
)
def replace_rule(
    context: Context, name: str, rule: RuleConfig, actor: Actor = None
) -> RuleOut:
    """Replace a rule made here; the site file's answer 409."""
    _same_name("rule", name, rule.name)
    return _rule(_replace(context, "rule", rule, actor))


@router.delete(
    "/api/rules/{name}", status_code=204, tags=["rules"], responses=responses(404, 409)
)
def delete_rule(context: Context, name: str, actor: Actor = None) -> Response:
    """Delete a rule made here."""
    return _delete(context, "rule", name, actor)


def _same_name(kind: Kind, path_name: str, body_name: str) -> None:
    if path_name != body_name:
        raise DefinitionInvalid(
            f"{kind} {path_name!r}: the body names {kind} {body_name!r}; a PUT "
            f"keeps the name, so give name {path_name!r} (to rename, delete and "
            "make it again)"
        )
