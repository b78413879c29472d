"""How MLflow's JSON endpoints are served: each under ``/api/2.0`` and its ``/ajax-api/2.0``
twin; a GET reads its arguments from the query string, other methods from a JSON body; the
handler runs in a worker thread; any error comes back in MLflow's shape."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mlcore import _validation as check
from mlcore.artifacts import ArtifactStore
from mlcore.server.mlflow_api.errors import BAD_REQUEST, MlflowApiError, error_of, mlflow_error
from mlcore.server.mlflow_api.messages import ArtifactRoot
from mlcore.stores import TrackingStore

__all__ = ["PREFIXES", "Context", "Endpoint", "add_endpoints", "error_response", "int_arg"]

log = logging.getLogger("mlcore.server")

PREFIXES = ("/api/2.0", "/ajax-api/2.0")


@dataclass
class Context:
    """What handlers work on: the server's store, its artifact root and artifact store."""

    store: TrackingStore
    root: ArtifactRoot
    files: ArtifactStore
    #: run id -> until when (monotonic s) it is known to exist and be active: a stream of
    #: log-batch calls to one run looks the run up once a second, not once a call
    active_runs: dict[str, float] = field(default_factory=dict)


Handler = Callable[[Context, dict[str, Any]], Any]


@dataclass(frozen=True)
class Endpoint:
    method: str
    #: the path after the API prefix, e.g. ``/mlflow/runs/get``
    path: str
    handler: Handler
    #: a POST that only reads (a search): a read token may call it
    reads: bool = False


def error_response(exc: Exception, method: str, path: str) -> Response:
    status, code = error_of(exc)
    if status >= 500:
        log.error("unexpected error serving %s %s", method, path, exc_info=exc)
        return mlflow_error(status, "internal server error (see the server log)", code)
    return mlflow_error(status, str(exc), code)


async def _arguments(request: Request) -> dict[str, Any]:
    if request.method == "GET":
        found: dict[str, Any] = {}
        for key, value in request.query_params.multi_items():
            if key in found:
                previous = found[key]
                found[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
            else:
                found[key] = value
        return found
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise MlflowApiError("the request body is not valid JSON", BAD_REQUEST) from None
    if not isinstance(body, dict):
        raise MlflowApiError("the request body must be a JSON object", BAD_REQUEST)
    check.check_request_values(body)
    return body


def _route(endpoint: Endpoint, context: Context) -> Callable[[Request], Any]:
    async def serve(request: Request) -> Response:
        try:
            arguments = await _arguments(request)
            result = await run_in_threadpool(endpoint.handler, context, arguments)
        except Exception as exc:  # every error in MLflow's shape
            return error_response(exc, request.method, request.url.path)
        return Response(json.dumps(result or {}), media_type="application/json")

    return serve


def add_endpoints(app: Any, endpoints: list[Endpoint], context: Context) -> list[str]:
    """Mount ``endpoints`` under both prefixes; returns the paths of the POSTs that only read."""
    reads = []
    for endpoint in endpoints:
        for prefix in PREFIXES:
            path = prefix + endpoint.path
            app.add_route(
                path, _route(endpoint, context), methods=[endpoint.method], include_in_schema=False
            )
            if endpoint.reads:
                reads.append(path)
    return reads


def int_arg(arguments: dict[str, Any], name: str, default: int | None = None) -> int | None:
    """An integer argument (MLflow sends int64 as a JSON number or, in a query, a string)."""
    value = arguments.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise MlflowApiError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise MlflowApiError(f"{name} must be an integer, got {value!r:.60}")
