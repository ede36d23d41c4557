"""Error answers: every failure as ``{"detail": "..."}`` a person can act on."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from watchfloor.api.schemas import ErrorOut
from watchfloor.config import redact
from watchfloor.rules.store import (
    DefinitionConflict,
    DefinitionError,
    DefinitionInvalid,
    DefinitionNotFound,
)

log = logging.getLogger(__name__)

# The objects whose bodies carry a name, by the path's second part.
_OBJECTS = {"zones": "zone", "lines": "line", "rules": "rule"}
_NO_OFFSET = (
    "has no UTC offset; give one, as in 2024-05-01T12:00:00Z or "
    "2024-05-01T14:00:00+02:00"
)


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries saying that these codes answer with :class:`ErrorOut`."""
    words = {
        404: "Not found",
        409: "Not allowed in the current state",
        416: "Range not satisfiable",
        422: "Invalid input; the detail names the field",
        503: "The database cannot be reached",
    }
    return {code: {"model": ErrorOut, "description": words[code]} for code in codes}


def install_error_handlers(app: FastAPI) -> None:
    """Answer validation, state and database errors as ``{"detail": ...}``."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(DefinitionError, _definition)
    app.add_exception_handler(OperationalError, _database)


def describe_validation(errors: list[dict[str, Any]], body: Any, path: str) -> str:
    """One line naming each invalid field and what is wrong with it.

    A body that defines a zone, line or rule is named after it, so the message
    reads like the site file's: ``zone 'dock': polygon[0]: ...``.
    """
    parts = path.strip("/").split("/")
    noun = _OBJECTS.get(parts[1]) if len(parts) > 1 and parts[0] == "api" else None
    name = body.get("name") if isinstance(body, dict) else None
    owner = f"{noun} {name!r}" if noun and isinstance(name, str) else None

    problems = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        where, field = (loc[0], loc[1:]) if loc else ("body", ())
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        kind = error.get("type")
        if kind == "extra_forbidden":
            message = "unknown key (check its spelling)"
        elif kind == "timezone_aware":
            message = f"{error.get('input')!r} {_NO_OFFSET}"
        elif kind == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "")
            message = f"the body is not valid JSON ({reason})".replace(" ()", "")
        elif kind == "missing" and where == "body" and not field:
            message = "a JSON body is required"
        if where == "body":
            dotted = _dotted(field)
            text = f"{dotted}: {message}" if dotted else message
            if owner and not message.startswith(owner):
                text = f"{owner}: {text}"
            elif noun and not owner:
                text = f"{noun}: {text}"
        else:
            text = f"{where} parameter {_dotted(field)!r}: {message}"
        problems.append(redact(text))
    return "; ".join(problems) or "invalid request"


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _detail(status: int, message: str, headers: dict[str, str] | None = None) -> Any:
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


async def _validation(request: Request, exc: Exception) -> Any:
    assert isinstance(exc, RequestValidationError)
    errors = [dict(error) for error in exc.errors()]
    return _detail(422, describe_validation(errors, exc.body, request.url.path))


async def _http(request: Request, exc: Exception) -> Any:
    assert isinstance(exc, HTTPException)
    message = str(exc.detail)
    if exc.status_code == 404 and message == "Not Found":
        message = f"no such path {request.url.path}; the API is listed at /openapi.json"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    headers = dict(exc.headers) if exc.headers else None
    return _detail(exc.status_code, message, headers)


async def _definition(request: Request, exc: Exception) -> Any:
    status = 400
    if isinstance(exc, DefinitionNotFound):
        status = 404
    elif isinstance(exc, DefinitionConflict):
        status = 409
    elif isinstance(exc, DefinitionInvalid):
        status = 422
    return _detail(status, str(exc))


async def _database(request: Request, exc: Exception) -> Any:
    log.error("database error on %s %s: %s", request.method, request.url.path, exc)
    return _detail(
        503, f"the database cannot be reached now; try again later ({_brief(exc)})"
    )


def _brief(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return redact(text[0]) if text else type(exc).__name__
