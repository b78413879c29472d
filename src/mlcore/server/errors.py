"""JSON errors with a stable code, never a stack trace: ``{"error_code", "message", "field"}``."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from mlcore.errors import (
    AlreadyExistsError,
    IntegrityError,
    InvalidInputError,
    MlcoreError,
    NotFoundError,
    PluginNotFoundError,
    StoreError,
)

log = logging.getLogger("mlcore.server")

_STATUS: list[tuple[type[MlcoreError], int]] = [
    (NotFoundError, 404),
    (AlreadyExistsError, 409),
    (IntegrityError, 409),
    (InvalidInputError, 400),
    (PluginNotFoundError, 400),
    (StoreError, 503),  # the backend is down or refused: a client retries
]


def error_response(
    status: int, code: str, message: str, field: str | None = None, **headers: str
) -> JSONResponse:
    body: dict[str, Any] = {"error_code": code, "message": message}
    if field is not None:
        body["field"] = field
    return JSONResponse(body, status_code=status, headers=headers or None)


def mlcore_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MlcoreError)
    status = next((s for cls, s in _STATUS if isinstance(exc, cls)), 500)
    return error_response(status, exc.code, str(exc), getattr(exc, "field", None))


def validation_error(_: Request, exc: Exception) -> JSONResponse:
    errors: list[dict[str, Any]] = getattr(exc, "errors", list)()
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    field = ".".join(loc) or None
    message = first.get("msg", "invalid request")
    if first.get("type") == "json_invalid":
        message, field = "the request body is not valid JSON", None
    elif field:
        message = f"{field}: {message}"
    return error_response(400, "INVALID_INPUT", message, field)


def http_error(_: Request, exc: Exception) -> JSONResponse:
    status = int(getattr(exc, "status_code", 500))
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "TOO_LARGE"}.get(status, "HTTP_ERROR")
    detail = getattr(exc, "detail", None)
    return error_response(status, code, str(detail or "request refused"))


def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error serving %s %s", request.method, request.url.path)
    return error_response(500, "INTERNAL_ERROR", "internal server error (see the server log)")
