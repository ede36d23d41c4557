"""``/api/zones``, ``/api/lines``, ``/api/rules``: the site's and API-made ones.

Bodies have the site file's schema, so the same checks give the same messages.
Objects of the site file are listed with ``source: "site"`` and cannot be
changed here; those made here are stored in the database (``source: "api"``).
Cameras apply any change on their next frame.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from watchfloor.api.deps import ApiContext, Context
from watchfloor.api.errors import responses
from watchfloor.api.schemas import LineOut, RuleOut, ZoneOut
from watchfloor.config import LineConfig, RuleConfig, ZoneConfig
from watchfloor.rules.store import Definition, DefinitionInvalid, Kind

router = APIRouter(responses=responses(422))


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


def _delete(context: ApiContext, kind: Kind, name: str) -> Response:
    context.definitions.delete(kind, name)
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
def create_zone(context: Context, zone: ZoneConfig) -> ZoneOut:
    """Make a zone. 409 when the name is taken; 422 for an unknown camera."""
    return _zone(_changed(context, context.definitions.create(zone)))


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
def replace_zone(context: Context, name: str, zone: ZoneConfig) -> ZoneOut:
    """Replace a zone made here; the site file's answer 409."""
    _same_name("zone", name, zone.name)
    return _zone(_changed(context, context.definitions.replace(zone)))


@router.delete(
    "/api/zones/{name}", status_code=204, tags=["zones"], responses=responses(404, 409)
)
def delete_zone(context: Context, name: str) -> Response:
    """Delete a zone made here; 409 while a rule uses it."""
    return _delete(context, "zone", name)


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
def create_line(context: Context, line: LineConfig) -> LineOut:
    """Make a line. 409 when the name is taken; 422 for an unknown camera."""
    return _line(_changed(context, context.definitions.create(line)))


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
def replace_line(context: Context, name: str, line: LineConfig) -> LineOut:
    """Replace a line made here; the site file's answer 409."""
    _same_name("line", name, line.name)
    return _line(_changed(context, context.definitions.replace(line)))


@router.delete(
    "/api/lines/{name}", status_code=204, tags=["lines"], responses=responses(404, 409)
)
def delete_line(context: Context, name: str) -> Response:
    """Delete a line made here; 409 while a rule uses it."""
    return _delete(context, "line", name)


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
def create_rule(context: Context, rule: RuleConfig) -> RuleOut:
    """Make a rule. 409 when the name is taken; 422 for a missing zone or line."""
    return _rule(_changed(context, context.definitions.create(rule)))


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
def replace_rule(context: Context, name: str, rule: RuleConfig) -> RuleOut:
    """Replace a rule made here; the site file's answer 409."""
    _same_name("rule", name, rule.name)
    return _rule(_changed(context, context.definitions.replace(rule)))


@router.delete(
    "/api/rules/{name}", status_code=204, tags=["rules"], responses=responses(404, 409)
)
def delete_rule(context: Context, name: str) -> Response:
    """Delete a rule made here."""
    return _delete(context, "rule", name)


def _same_name(kind: Kind, path_name: str, body_name: str) -> None:
    if path_name != body_name:
        raise DefinitionInvalid(
            f"{kind} {path_name!r}: the body names {kind} {body_name!r}; a PUT "
            f"keeps the name, so give name {path_name!r} (to rename, delete and "
            "make it again)"
        )
