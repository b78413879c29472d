"""MLflow-shaped errors: ``{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": ...}`` with the
HTTP status MLflow's server gives that code, so the ``mlflow`` client raises the
``MlflowException`` its users already catch."""

from __future__ import annotations

from collections.abc import Mapping

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
    "ALREADY_EXISTS",
    "BAD_REQUEST",
    "DOES_NOT_EXIST",
    "INTERNAL_ERROR",
    "INVALID_PARAMETER",
    "MlflowApiError",
    "error_of",
    "mlflow_error",
]

DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
INVALID_PARAMETER = "INVALID_PARAMETER_VALUE"
BAD_REQUEST = "BAD_REQUEST"
INTERNAL_ERROR = "INTERNAL_ERROR"

#: MLflow's HTTP status of each error code it uses
_STATUS = {
    DOES_NOT_EXIST: 404,
    ALREADY_EXISTS: 400,
    INVALID_PARAMETER: 400,
    BAD_REQUEST: 400,
    "INVALID_STATE": 400,
    "ENDPOINT_NOT_FOUND": 404,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_IMPLEMENTED": 501,
    "TEMPORARILY_UNAVAILABLE": 503,
    INTERNAL_ERROR: 500,
}

#: the MLflow code of a status an mlcore guard answers (401, 403, 413, 415, 429, ...)
_CODE_OF_STATUS = {
    400: BAD_REQUEST,
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "ENDPOINT_NOT_FOUND",
    408: "REQUEST_LIMIT_EXCEEDED",
    413: "REQUEST_LIMIT_EXCEEDED",
    415: BAD_REQUEST,
    429: "REQUEST_LIMIT_EXCEEDED",
    501: "NOT_IMPLEMENTED",
    503: "TEMPORARILY_UNAVAILABLE",
}


class MlflowApiError(Exception):
    """An error raised by the MLflow routes themselves, with MLflow's code."""

    def __init__(self, message: str, code: str = INVALID_PARAMETER) -> None:
        super().__init__(message)
        self.code = code


def error_of(exc: Exception) -> tuple[int, str]:
    """(HTTP status, MLflow error code) of an exception a handler raised."""
    if isinstance(exc, MlflowApiError):
        return _STATUS.get(exc.code, 400), exc.code
    checks: list[tuple[type[MlcoreError], str]] = [
        (NotFoundError, DOES_NOT_EXIST),
        (AlreadyExistsError, ALREADY_EXISTS),
        (InvalidInputError, INVALID_PARAMETER),
        (PluginNotFoundError, INVALID_PARAMETER),
        (IntegrityError, "INVALID_STATE"),
        (UnsupportedError, "NOT_IMPLEMENTED"),
        (StoreError, "TEMPORARILY_UNAVAILABLE"),
    ]
    for cls, code in checks:
        if isinstance(exc, cls):
            return _STATUS[code], code
    return 500, INTERNAL_ERROR


def mlflow_error(
    status: int, message: str, code: str | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    """An error response in MLflow's shape."""
    code = code or _CODE_OF_STATUS.get(status, BAD_REQUEST if status < 500 else INTERNAL_ERROR)
    return JSONResponse(
        {"error_code": code, "message": message}, status_code=status, headers=dict(headers or {})
    )
