"""Zones, lines and rules in force: the site file's, then those made through the API.

The site file's objects come first and are read-only; objects made through the
API are stored in the database as JSON of the site file's schema, so one set
of validators and messages serves both. A stored object that no longer fits
the site (its camera or zone is gone, or a site object of the same name hides
it) is kept and listed with its problem, but is left out of the rule set that
cameras evaluate.

The engine reloads its rules with :func:`current_rule_set`; the API changes
them through :class:`DefinitionStore`.

Limitations:
    Checks and writes of one change share a transaction, but a zone deleted
    while another request makes a rule that names it can leave that rule
    without its zone; :func:`current_rule_set` then leaves the rule out and
    logs why, and the listing shows the problem.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, cast

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from watchfloor.config import LineConfig, RuleConfig, SiteConfig, ZoneConfig
from watchfloor.models.database import Database
from watchfloor.models.rules import LineRow, RuleRow, ZoneRow

log = logging.getLogger(__name__)

Kind = Literal["zone", "line", "rule"]
Source = Literal["site", "api"]
AnyConfig = ZoneConfig | LineConfig | RuleConfig
AnyRow = ZoneRow | LineRow | RuleRow

_ROWS: dict[Kind, type[ZoneRow] | type[LineRow] | type[RuleRow]] = {
    "zone": ZoneRow,
    "line": LineRow,
    "rule": RuleRow,
}
_CONFIGS: dict[Kind, type[ZoneConfig] | type[LineConfig] | type[RuleConfig]] = {
    "zone": ZoneConfig,
    "line": LineConfig,
    "rule": RuleConfig,
}
KINDS: tuple[Kind, ...] = ("zone", "line", "rule")
PLURALS: dict[Kind, str] = {"zone": "zones", "line": "lines", "rule": "rules"}


class DefinitionError(Exception):
    """A change to a zone, line or rule was refused; the message says why."""


class DefinitionNotFound(DefinitionError):
    """No zone, line or rule has that name."""


class DefinitionConflict(DefinitionError):
    """The change clashes with what exists (a name, the site file, a user)."""


class DefinitionInvalid(DefinitionError):
    """The definition is well formed but does not fit the site."""


@dataclass(frozen=True)
class Definition:
    """One zone, line or rule as the API lists it.

    Attributes:
        kind: ``zone``, ``line`` or ``rule``.
        name: Its name.
        source: ``site`` (the site file; read-only) or ``api`` (the database).
        config: The validated definition; None when a stored one no longer
            validates.
        created_by: Who made it through the API (None for the site file's).
        created_at: When it was made through the API.
        updated_at: When it was last changed through the API.
        problem: Why cameras do not use it, or None when they do.
    """

    kind: Kind
    name: str
    source: Source
    config: AnyConfig | None
    created_by: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    problem: str | None = None


def current_rule_set(
    site: SiteConfig, db: Database
) -> tuple[list[ZoneConfig], list[LineConfig], list[RuleConfig]]:
    """The zones, lines and rules cameras evaluate now: site file's first, then API's.

    Objects made through the API that no longer fit the site are left out,
    with a warning in the log.

    Example:
        >>> zones, lines, rules = current_rule_set(site, db)  # doctest: +SKIP
    """
    with db.session() as session:
        merged = _merge(site, session)
    for item in merged.values():
        if item.problem and item.source == "api":
            log.warning("%s %r is not used: %s", item.kind, item.name, item.problem)
    usable = [item.config for item in merged.values() if item.problem is None]
    return (
        [c for c in usable if isinstance(c, ZoneConfig)],
        [c for c in usable if isinstance(c, LineConfig)],
        [c for c in usable if isinstance(c, RuleConfig)],
    )


class DefinitionStore:
    """Lists and changes a site's zones, lines and rules.

    Args:
        site: The site; its file's objects are read-only here.
        db: Where objects made through the API are kept.
    """

    def __init__(self, site: SiteConfig, db: Database) -> None:
        self.site = site
        self.db = db

    def list(self, kind: Kind) -> list[Definition]:
        """Every object of ``kind``: the site file's first, then the API's by name."""
        with self.db.session() as session:
            merged = _merge(self.site, session)
        return [item for (k, _), item in merged.items() if k == kind]

    def get(self, kind: Kind, name: str) -> Definition:
        """The object of ``kind`` called ``name``.

        Raises:
            DefinitionNotFound: None has that name.
        """
        with self.db.session() as session:
            merged = _merge(self.site, session)
        item = merged.get((kind, name))
        if item is None:
            raise DefinitionNotFound(_unknown(kind, name, merged))
        return item

    def create(self, config: AnyConfig, by: str = "local") -> Definition:
        """Store a new zone, line or rule made through the API.

        Raises:
            DefinitionConflict: The name is taken, in the site file or the
                database.
            DefinitionInvalid: Its camera, zone or line does not exist.
        """
        kind = _kind_of(config)
        with self.db.session() as session:
            merged = _merge(self.site, session)
            existing = merged.get((kind, config.name))
            if existing is not None:
                raise DefinitionConflict(_taken(existing))
            _check_fits(kind, config, self.site, merged)
            row = _ROWS[kind](name=config.name, definition=_dump(config), created_by=by)
            session.add(row)
            _flush(session, kind, config.name)
        log.info("%s %r made through the API by %s", kind, config.name, by)
        return self.get(kind, config.name)

    def replace(self, config: AnyConfig, by: str = "local") -> Definition:
        """Replace the definition of an API-made object of the same name.

        Raises:
            DefinitionNotFound: No object of that kind and name exists.
            DefinitionConflict: It is defined in the site file.
            DefinitionInvalid: Its camera, zone or line does not exist.
        """
        kind = _kind_of(config)
        with self.db.session() as session:
            merged = _merge(self.site, session)
            existing = merged.get((kind, config.name))
            if existing is None:
                raise DefinitionNotFound(
                    _unknown(kind, config.name, merged)
                    + f"; make it with POST /api/{PLURALS[kind]}"
                )
            if existing.source == "site":
                raise DefinitionConflict(_read_only(kind, config.name))
            _check_fits(kind, config, self.site, merged)
            row = _row(session, kind, config.name)
            row.definition = _dump(config)
            row.updated_at = datetime.now(UTC)
        log.info("%s %r changed through the API by %s", kind, config.name, by)
        return self.get(kind, config.name)

    def delete(self, kind: Kind, name: str) -> None:
        """Remove an API-made object.

        Raises:
            DefinitionNotFound: None of that kind has that name.
            DefinitionConflict: It is defined in the site file, or a rule uses it.
        """
        with self.db.session() as session:
            merged = _merge(self.site, session)
            existing = merged.get((kind, name))
            if existing is None:
                raise DefinitionNotFound(_unknown(kind, name, merged))
            if existing.source == "site":
                raise DefinitionConflict(_read_only(kind, name))
            users = _rules_using(kind, name, self.site, session)
            if users:
                names = ", ".join(repr(user) for user in users)
                noun = "rule" if len(users) == 1 else "rules"
                those = "that rule" if len(users) == 1 else "those rules"
                raise DefinitionConflict(
                    f"{kind} {name!r} is used by {noun} {names}; delete or change "
                    f"{those} first"
                )
            session.delete(_row(session, kind, name))
        log.info("%s %r deleted through the API", kind, name)


def _merge(site: SiteConfig, session: Session) -> dict[tuple[Kind, str], Definition]:
    """Site objects, then stored ones, each with why cameras cannot use it."""
    merged: dict[tuple[Kind, str], Definition] = {}
    site_items: list[tuple[Kind, AnyConfig]] = [
        *(("zone", zone) for zone in site.zones),
        *(("line", line) for line in site.lines),
        *(("rule", rule) for rule in site.rules),
    ]
    for kind, config in site_items:
        merged[(kind, config.name)] = Definition(kind, config.name, "site", config)

    stored = [_stored(kind, row) for kind in KINDS for row in _rows(session, kind)]

    cameras = {camera.name for camera in site.cameras}
    # Zones and lines first, so a rule's check sees which of them are usable.
    for item in sorted(stored, key=lambda d: d.kind == "rule"):
        key = (item.kind, item.name)
        if key in merged:
            log.warning(
                "%s %r of the site file hides the API-made one of that name",
                item.kind,
                item.name,
            )
            continue
        problem = item.problem or _misfit(item.kind, item.config, cameras, merged)
        merged[key] = Definition(
            item.kind,
            item.name,
            item.source,
            item.config,
            item.created_by,
            item.created_at,
            item.updated_at,
            problem,
        )
    return merged


def _stored(kind: Kind, row: AnyRow) -> Definition:
    config: AnyConfig | None = None
    problem = None
    try:
        config = _CONFIGS[kind].model_validate(json.loads(row.definition))
    except (ValueError, ValidationError) as exc:
        problem = f"its stored definition is no longer valid: {_first_error(exc)}"
    return Definition(
        kind,
        row.name,
        "api",
        config,
        row.created_by,
        row.created_at,
        row.updated_at,
        problem,
    )


def _misfit(
    kind: Kind,
    config: AnyConfig | None,
    cameras: set[str],
    merged: dict[tuple[Kind, str], Definition],
) -> str | None:
    """Why a valid definition does not fit the site, or None."""
    if isinstance(config, ZoneConfig | LineConfig) and config.camera not in cameras:
        known = ", ".join(sorted(cameras)) or "none"
        return (
            f"{kind} {config.name!r} is on camera {config.camera!r}, which the "
            f"site does not have (cameras: {known})"
        )
    if isinstance(config, RuleConfig):
        targets: list[tuple[Kind, str | None]] = [
            ("zone", config.zone),
            ("line", config.line),
        ]
        for target_kind, target in targets:
            if target is None:
                continue
            found = merged.get((target_kind, target))
            if found is None:
                known = _names(target_kind, merged)
                return (
                    f"rule {config.name!r} names {target_kind} {target!r}, which "
                    f"does not exist ({target_kind}s: {known})"
                )
            if found.problem is not None:
                return (
                    f"rule {config.name!r} names {target_kind} {target!r}, which "
                    f"is not usable: {found.problem}"
                )
    return None


def _check_fits(
    kind: Kind,
    config: AnyConfig,
    site: SiteConfig,
    merged: dict[tuple[Kind, str], Definition],
) -> None:
    problem = _misfit(kind, config, {c.name for c in site.cameras}, merged)
    if problem is not None:
        raise DefinitionInvalid(problem)


def _rules_using(
    kind: Kind, name: str, site: SiteConfig, session: Session
) -> list[str]:
    """Names of the rules (site file's or stored) that watch this zone or line."""
    if kind == "rule":
        return []
    users = [
        rule.name
        for rule in site.rules
        if (rule.zone if kind == "zone" else rule.line) == name
    ]
    for row in _rows(session, "rule"):
        try:
            data = json.loads(row.definition)
        except ValueError:
            continue
        if isinstance(data, dict) and data.get(kind) == name:
            users.append(row.name)
    return users


def _rows(session: Session, kind: Kind) -> list[AnyRow]:
    row_type = _ROWS[kind]
    rows = session.scalars(select(row_type).order_by(row_type.name)).all()
    return cast(list[AnyRow], list(rows))


def _row(session: Session, kind: Kind, name: str) -> AnyRow:
    row_type = _ROWS[kind]
    query = select(row_type).where(row_type.name == name).with_for_update()
    return cast(AnyRow, session.scalars(query).one())


def _flush(session: Session, kind: Kind, name: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise DefinitionConflict(
            f"{kind} {name!r} was just made by another request; choose another name"
        ) from exc


def _kind_of(config: AnyConfig) -> Kind:
    if isinstance(config, ZoneConfig):
        return "zone"
    if isinstance(config, LineConfig):
        return "line"
    return "rule"


def _dump(config: AnyConfig) -> str:
    return json.dumps(config.model_dump(mode="json"), sort_keys=True)


def _names(kind: Kind, merged: dict[tuple[Kind, str], Definition]) -> str:
    names = sorted(name for (k, name) in merged if k == kind)
    return ", ".join(names) or "none"


def _unknown(kind: Kind, name: str, merged: dict[tuple[Kind, str], Definition]) -> str:
    return f"no {kind} named {name!r} (known {PLURALS[kind]}: {_names(kind, merged)})"


def _taken(existing: Definition) -> str:
    if existing.source == "site":
        return (
            f"{existing.kind} {existing.name!r} is already defined in the site "
            "file; choose another name"
        )
    return (
        f"{existing.kind} {existing.name!r} already exists; change it with "
        f"PUT /api/{PLURALS[existing.kind]}/{existing.name} or choose another name"
    )


def _read_only(kind: Kind, name: str) -> str:
    return (
        f"{kind} {name!r} is defined in the site file and cannot be changed "
        "through the API; edit the site file instead"
    )


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    return str(exc)
