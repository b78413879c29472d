"""JSON errors with a stable code, never a stack trace: ``{"error_code", "message", "field"}``.

:func:`error_response` builds one; the handlers turn exceptions into them (install them with
``app.add_exception_handler``). An app whose clients read errors in another shape gives the
:class:`~mlcore.web.guard.Guard` its own :data:`ErrorResponder`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mlcore.errors import (
    AlreadyExistsError,
    IntegrityError,
    InvalidInputError,
    MlcoreError,
    NotFoundError,
    PluginNotFoundError,
    StoreError,
    UnsupportedError,
)

__all__ = [
    "ErrorResponder",
    "error_body",
    "error_response",
    "http_error",
    "mlcore_error",
    "plain_error",
    "scrubbing",
    "status_of",
    "unexpected_error",
    "validation_error",
]

log = logging.getLogger("mlcore.server")

#: (request path, status, code, message, headers) -> the error response for that path
ErrorResponder = Callable[[str, int, str, str, Mapping[str, str]], Response]

_STATUS: list[tuple[type[MlcoreError], int]] = [
    (NotFoundError, 404),
    (AlreadyExistsError, 409),
    (IntegrityError, 409),
    (InvalidInputError, 400),
    (PluginNotFoundError, 400),
    (UnsupportedError, 501),  # the server's store lacks that interface (tracking-only)
    (StoreError, 503),  # the backend is down or refused: a client retries
]

#: error codes of HTTP statuses that no mlcore error names
HTTP_CODES = {
    400: "INVALID_INPUT",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "TIMEOUT",
    413: "TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS",
}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error_code": code, "message": message}
    if field is not None:
        body["field"] = field
    return body


def error_response(
    status: int, code: str, message: str, field: str | None = None, **headers: str
) -> JSONResponse:
    return JSONResponse(
        error_body(code, message, field), status_code=status, headers=headers or None
    )


def plain_error(
    _path: str, status: int, code: str, message: str, headers: Mapping[str, str]
) -> Response:
    """The :data:`ErrorResponder` of apps whose every route answers the plain shape."""
    return error_response(status, code, message, **headers)


def status_of(exc: MlcoreError) -> int:
    """The HTTP status of an mlcore error (500 for one no client can fix)."""
    return next((s for cls, s in _STATUS if isinstance(exc, cls)), 500)


def mlcore_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MlcoreError)
    return error_response(status_of(exc), exc.code, str(exc), getattr(exc, "field", None))


def scrubbing(hidden: Mapping[str, str]) -> Callable[[Request, Exception], JSONResponse]:
    """An :func:`mlcore_error` handler that replaces each of the server's own strings (its
    database path, its artifact root) with a neutral placeholder before a client sees it."""
    secrets = sorted(((k, v) for k, v in hidden.items() if k), key=lambda kv: -len(kv[0]))

    def handler(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, MlcoreError)
        message = str(exc)
        for secret, placeholder in secrets:
            message = message.replace(secret, placeholder)
        return error_response(status_of(exc), exc.code, message, getattr(exc, "field", None))

    return handler


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
    """Starlette's ``HTTPException`` as JSON, keeping its headers (a 405's ``Allow``)."""
    status = int(getattr(exc, "status_code", 500))
    code = HTTP_CODES.get(status, "HTTP_ERROR")
    detail = getattr(exc, "detail", None)
    if detail == "There was an error parsing the body":  # FastAPI's, e.g. JSON nested too deeply
        detail = "the request body could not be parsed (not JSON, or nested too deeply)"
    response = error_response(status, code, str(detail or "request refused"))
    response.headers.update(dict(getattr(exc, "headers", None) or {}))
    return response


def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error serving %s %s", request.method, request.url.path)
    return error_response(500, "INTERNAL_ERROR", "internal server error (see the server log)")
