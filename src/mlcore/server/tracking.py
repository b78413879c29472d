"""The tracking server's ASGI app: the whole ``MetadataStore`` and registry as a JSON REST API
under ``/api/v1/`` (see :mod:`mlcore.stores.http_api`), an OpenAPI spec at ``/openapi.json``,
``/health``, ``/version`` and the artifact proxy.
"""

from __future__ import annotations

import collections
import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, TypeAdapter
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from mlcore import _validation as check
from mlcore._version import __version__
from mlcore.artifacts import resolve_artifact_store
from mlcore.errors import InvalidInputError, MlcoreError
from mlcore.server import mlflow_api
from mlcore.server.arrow_stream import arrow_response
from mlcore.server.artifact_proxy import (
    FILES,
    UPLOADS,
    ArtifactProxy,
    TooManyUploads,
    too_many_uploads,
)
from mlcore.server.run_views import RUN_VIEW_PATHS, add_run_views
from mlcore.server.stored_hashes import recorded_from_stored_bytes
from mlcore.server.uri_mapping import UriMapping
from mlcore.stores import TrackingStore, require_registry, resolve_store
from mlcore.stores.base import check_run_id
from mlcore.stores.http_api import READ, SEARCHES, JsonInt, Operation, operations
from mlcore.stores.paging import encode_page_token
from mlcore.ui import ASSETS, PAGE_PATHS, PAGE_PREFIXES, mount_ui
from mlcore.web import errors
from mlcore.web.forwarded import DEFAULT_TRUSTED_PROXIES
from mlcore.web.guard import DEFAULT_PUBLIC_PATHS, Access, BodyTypes, Guard

__all__ = [
    "ErrorBody",
    "IdempotencyKeyReused",
    "SearchModelsRequest",
    "SearchRunsRequest",
    "ServerOptions",
    "create_tracking_app",
    "idempotency_key_reused",
]

_JSON_CONFIG = ConfigDict(ser_json_inf_nan="constants")


@dataclass
class ServerOptions:
    """How a tracking server runs (also what its uvicorn workers are started with)."""

    store: str
    artifacts: str | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    allow_remote: bool = False
    max_body_mb: int = 64
    max_upload_gb: int = 1024
    #: the private directory for uploads in progress (created 0700); None: a fresh temp dir
    staging_dir: str | None = None
    #: a resumable upload untouched this long is removed
    upload_ttl_s: float = 24 * 3600
    #: upload bodies one client address may send at once (429 beyond)
    max_uploads_per_client: int = 64
    #: an upload whose client sends nothing this long is dropped (408), nothing stored
    upload_idle_timeout_s: float = 60.0
    #: ``Host`` names answered besides loopback names and addresses (``*``: any)
    allowed_hosts: list[str] = field(default_factory=list)
    #: peers whose forwarding headers count (IPs, CIDRs); None: loopback proxies only
    trusted_proxies: list[str] | None = None
    #: serve the web UI at ``/`` (its pages and assets need no token; its API calls do)
    ui: bool = True


class _Idempotency:
    """Answers to recent writes by ``Idempotency-Key``: a retried create is answered, not redone.

    An answer is kept under (route, key) with a hash of the request: the same key sent to another
    route or with another body is refused (:class:`IdempotencyKeyReused`), never answered with
    the first request's result.
    """

    def __init__(self, size: int = 10_000) -> None:
        self._answers: collections.OrderedDict[tuple[str, str], tuple[str, bytes]] = (
            collections.OrderedDict()
        )
        self._routes: dict[str, str] = {}
        self._lock = threading.Lock()
        self._size = size

    def get(self, route: str, key: str | None, request_hash: str) -> bytes | None:
        if not key:
            return None
        with self._lock:
            first_route = self._routes.get(key)
            if first_route is not None and first_route != route:
                raise IdempotencyKeyReused(
                    f"this Idempotency-Key was already used on {first_route}; "
                    "use a new key for each request"
                )
            found = self._answers.get((route, key))
        if found is None:
            return None
        if found[0] != request_hash:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used with a different request body; "
                "use a new key for each request"
            )
        return found[1]

    def put(self, route: str, key: str | None, request_hash: str, body: bytes) -> None:
        if not key:
            return
        with self._lock:
            self._answers[(route, key)] = (request_hash, body)
            self._routes[key] = route
            while len(self._answers) > self._size:
                (_, old_key), _ = self._answers.popitem(last=False)
                self._routes.pop(old_key, None)


class IdempotencyKeyReused(InvalidInputError):
    """An ``Idempotency-Key`` sent again with another route or body (answered 422)."""

    code = "IDEMPOTENCY_KEY_REUSED"


def idempotency_key_reused(_: Request, exc: Exception) -> JSONResponse:
    return errors.error_response(422, IdempotencyKeyReused.code, str(exc), "Idempotency-Key")


def _request_hash(body: Any) -> str:
    dumped = body.model_dump_json() if isinstance(body, BaseModel) else json.dumps(body)
    return hashlib.sha256(dumped.encode()).hexdigest()


class SearchRunsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    experiment_ids: list[str]
    filter: str | None = None
    order_by: list[str] | str | None = None
    max_results: JsonInt = 1000
    page_token: str | None = None
    view: str = "active"
    #: start at this row (a table jumping far down); ignored when ``page_token`` is given
    offset: JsonInt | None = None


class SearchModelsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filter: str | None = None
    order_by: list[str] | str | None = None
    max_results: JsonInt = 100
    page_token: str | None = None


def create_tracking_app(options: ServerOptions) -> Any:
    """The ASGI app (FastAPI inside the :class:`~mlcore.web.guard.Guard` middleware)."""
    store = resolve_store(options.store, artifact_uri=options.artifacts)
    root = store.default_artifact_root
    mapping = UriMapping(root)
    proxy = ArtifactProxy(
        resolve_artifact_store(root),
        options.staging_dir,
        upload_ttl=options.upload_ttl_s,
        uploads_per_client=options.max_uploads_per_client,
        idle_timeout=options.upload_idle_timeout_s,
    )
    answers = _Idempotency()

    app = FastAPI(
        title="mlcore tracking server",
        version=__version__,
        description="Experiment tracking, model registry and artifacts over HTTP. Errors are "
        '`{"error_code", "message", "field"}` with a stable code.',
    )
    app.state.store = store
    app.state.artifact_proxy = proxy
    app.add_exception_handler(TooManyUploads, too_many_uploads)
    app.add_exception_handler(IdempotencyKeyReused, idempotency_key_reused)
    app.add_exception_handler(MlcoreError, errors.scrubbing(_server_paths(options, root)))
    app.add_exception_handler(RequestValidationError, errors.validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, errors.unexpected_error)

    @app.get("/health", tags=["server"])
    async def health() -> dict[str, str]:  # async: answered even when every thread is busy
        return {"status": "ok"}

    @app.get("/version", tags=["server"])
    async def version() -> dict[str, str]:
        return {"version": __version__, "api": "v1"}

    for op in operations().values():
        _add_operation(app, op, store, mapping, answers)
    _add_searches(app, store, mapping)
    add_run_views(app, store, _ERROR_RESPONSES)
    _add_artifacts(app, proxy)
    mlflow_routes = mlflow_api.mount(app, store, proxy)  # MLflow's REST API, for its client
    if options.ui:
        mount_ui(app)  # last: its page paths never shadow an API route
    app.router.on_shutdown.append(store.close)
    app.router.on_shutdown.append(proxy.close)

    read_paths = (
        frozenset(
            [op.path for op in operations().values() if op.scope == READ]
            + [s.path for s in SEARCHES.values()]
            + list(RUN_VIEW_PATHS)
        )
        | mlflow_routes.read_paths
    )
    return Guard(
        app,
        tokens=dict(options.tokens),
        allow_remote=options.allow_remote,
        max_body_bytes=options.max_body_mb * 1024 * 1024,
        max_upload_bytes=options.max_upload_gb * 1024**3,
        upload_prefixes=(FILES, UPLOADS, *mlflow_routes.upload_prefixes),
        access=Access(
            public=DEFAULT_PUBLIC_PATHS | (PAGE_PATHS if options.ui else frozenset()),
            public_prefixes=(*PAGE_PREFIXES, ASSETS) if options.ui else (),
            read_paths=read_paths,
        ),
        bodies=BodyTypes(  # JSON, but for upload bytes
            raw=(("*", FILES), ("PUT", UPLOADS), *(("*", p) for p in mlflow_routes.upload_prefixes))
        ),
        error=mlflow_api.guard_error,
        allowed_hosts=options.allowed_hosts,
        trusted_proxies=(
            DEFAULT_TRUSTED_PROXIES if options.trusted_proxies is None else options.trusted_proxies
        ),
    )


def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's errors as JSON; a 405 says in ``Allow`` which methods its path accepts."""
    response = errors.http_error(request, exc)
    if getattr(exc, "status_code", None) == 405:
        response.headers["Allow"] = ", ".join(_allowed_methods(request))
    return response


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app accepts for the request's path."""
    from starlette.routing import Match

    allowed: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        methods = getattr(route, "methods", None)
        if match != Match.NONE and methods:
            allowed |= set(methods)
    return sorted(allowed)


def _server_paths(options: ServerOptions, root: str) -> dict[str, str]:
    """The server's own locations (store URI, database file, artifact root) -> what clients see
    instead in error messages."""
    from urllib.parse import unquote, urlsplit

    hidden: dict[str, str] = {}
    for text, placeholder in (
        (options.store, "<server store>"),
        (root, "<artifact root>"),
        (options.artifacts or "", "<artifact root>"),
    ):
        if not text:
            continue
        hidden[text] = placeholder
        parts = urlsplit(text)
        path = unquote(parts.path)
        if (parts.scheme in ("", "file") or parts.scheme.startswith("sqlite")) and len(path) > 1:
            hidden[path] = placeholder
            hidden[path.lstrip("/")] = placeholder  # sqlite:///relative.db
    return hidden


def _public_base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + FILES


def _check_points(points: list[Any]) -> None:
    for run_id, key in {(point[0], point[1]) for point in points}:  # each pair once
        check_run_id(run_id)
        check.check_key(key, "metric key")


def _add_operation(
    app: FastAPI, op: Operation, store: TrackingStore, mapping: UriMapping, answers: _Idempotency
) -> None:
    arrow = op.hook == "_metric_history"  # answered as an Arrow IPC stream
    adapter: TypeAdapter[Any] | None = None
    if op.result is not None and not arrow:
        adapter = TypeAdapter(op.result, config=_JSON_CONFIG if _needs_config(op.result) else None)

    def handler(body: Any, request: Request) -> Response:
        key = request.headers.get("idempotency-key") if op.dedupe else None
        request_hash = _request_hash(body) if key else ""
        cached = answers.get(op.path, key, request_hash)
        if cached is not None:
            return Response(cached, media_type="application/json")
        args = {name: getattr(body, name) for name in op.parameters}
        for name, value in args.items():
            check.check_request_values(value, name)
        args = mapping.incoming(args)
        args = recorded_from_stored_bytes(op.hook, args, store, mapping.root)
        if op.hook == "_log_metrics":
            _check_points(args["points"])
            if args["batch_id"] is not None and len(args["batch_id"]) > 48:
                raise InvalidInputError("batch_id is longer than 48 characters", field="batch_id")
        result = op.call(store, args)
        if arrow:
            return arrow_response(result)
        if adapter is None:
            content = b"{}"
        else:
            data = adapter.dump_python(result, mode="json")
            content = json.dumps(mapping.outgoing(data, _public_base(request))).encode()
        answers.put(op.path, key, request_hash, content)
        return Response(content, media_type="application/json")

    handler.__annotations__ = {"body": op.request, "request": Request, "return": Response}
    handler.__name__ = op.hook.strip("_")
    app.add_api_route(
        op.path,
        handler,
        methods=["POST"],
        response_model=None if arrow else _declared(op.result),
        response_class=Response if op.result is None or arrow else JSONResponse,
        tags=[op.scope],
        summary=op.hook.strip("_").replace("_", " "),
        responses=_ERROR_RESPONSES,
    )


def _declared(result: Any) -> Any:
    """The response model the spec declares for ``result``: a tuple of one type (as
    ``artifacts-of-run`` answers) is declared as a list of fixed length, since the tuple's
    ``prefixItems`` schema is not read alike by OpenAPI 3.1 tools (schemathesis refuses it)."""
    import typing

    from pydantic import Field

    args = typing.get_args(result)
    if typing.get_origin(result) is tuple and args and Ellipsis not in args and len(set(args)) == 1:
        size = len(args)
        return typing.Annotated[
            list.__class_getitem__(args[0]), Field(min_length=size, max_length=size)
        ]
    return result


def _needs_config(result: Any) -> bool:
    if result is None:
        return False
    return not (isinstance(result, type) and issubclass(result, BaseModel))


def _add_searches(app: FastAPI, store: TrackingStore, mapping: UriMapping) -> None:
    from mlcore.types import ModelVersion, RegisteredModel, Run

    # built once: a TypeAdapter builds its schema when made (milliseconds a page otherwise)
    adapters: dict[Any, TypeAdapter[Any]] = {
        Run: TypeAdapter(list[Run]),
        RegisteredModel: TypeAdapter(list[RegisteredModel]),
        ModelVersion: TypeAdapter(list[ModelVersion]),
    }

    def page(items: list[Any], item: Any, token: str | None, request: Request) -> Response:
        data = adapters[item].dump_python(items, mode="json")
        body = {"items": mapping.outgoing(data, _public_base(request)), "next_page_token": token}
        return Response(json.dumps(body).encode(), media_type="application/json")

    def search_runs(body: SearchRunsRequest, request: Request) -> Response:
        check.check_request_values(body.model_dump())
        found = store.search_runs(
            body.experiment_ids,
            body.filter,
            body.order_by,
            max_results=body.max_results,
            page_token=body.page_token or _offset_token(body.offset),
            view=body.view,
        )
        return page(list(found), Run, found.next_page_token, request)

    def search_registered_models(body: SearchModelsRequest, request: Request) -> Response:
        check.check_request_values(body.model_dump())
        found = require_registry(store).search_registered_models(
            body.filter, body.order_by, max_results=body.max_results, page_token=body.page_token
        )
        return page(list(found), RegisteredModel, found.next_page_token, request)

    def search_model_versions(body: SearchModelsRequest, request: Request) -> Response:
        check.check_request_values(body.model_dump())
        found = require_registry(store).search_model_versions(
            body.filter, body.order_by, max_results=body.max_results, page_token=body.page_token
        )
        return page(list(found), ModelVersion, found.next_page_token, request)

    for kind, handler, item in (
        ("runs", search_runs, Run),
        ("registered_models", search_registered_models, RegisteredModel),
        ("model_versions", search_model_versions, ModelVersion),
    ):
        handler.__annotations__["body"] = (
            SearchRunsRequest if kind == "runs" else SearchModelsRequest
        )
        handler.__annotations__["request"] = Request
        handler.__annotations__["return"] = Response
        app.add_api_route(
            SEARCHES[kind].path,
            handler,
            methods=["POST"],
            response_model=_page_model(item),
            tags=[READ],
            responses=_ERROR_RESPONSES,
        )


def _offset_token(offset: int | None) -> str | None:
    if offset is None or offset == 0:
        return None
    if offset < 0:
        raise InvalidInputError(f"offset must be >= 0, got {offset}", field="offset")
    return encode_page_token(offset)


def _page_model(item: Any) -> Any:
    from pydantic import create_model

    return create_model(
        f"{item.__name__}Page", items=(list[item], ...), next_page_token=(str | None, None)
    )


def _add_artifacts(app: FastAPI, proxy: ArtifactProxy) -> None:
    app.add_route(f"{FILES}/{{path:path}}", proxy.put, methods=["PUT"], include_in_schema=False)
    app.add_route(f"{FILES}/{{path:path}}", proxy.get, methods=["GET"], include_in_schema=False)
    app.add_route(
        f"{FILES}/{{path:path}}", proxy.delete, methods=["DELETE"], include_in_schema=False
    )
    app.add_route(UPLOADS, proxy.start_upload, methods=["POST"], include_in_schema=False)
    app.add_route(
        f"{UPLOADS}/{{upload_id}}", proxy.upload_status, methods=["GET"], include_in_schema=False
    )
    app.add_route(
        f"{UPLOADS}/{{upload_id}}", proxy.upload_part, methods=["PUT"], include_in_schema=False
    )
    app.add_route(
        f"{UPLOADS}/{{upload_id}}/complete",
        proxy.complete_upload,
        methods=["POST"],
        include_in_schema=False,
    )


class ErrorBody(BaseModel):
    error_code: str
    message: str
    field: str | None = None


_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "invalid input"},
    401: {"model": ErrorBody, "description": "no or wrong token"},
    403: {"model": ErrorBody, "description": "not allowed"},
    404: {"model": ErrorBody, "description": "not found"},
    409: {"model": ErrorBody, "description": "already exists or conflicts"},
    413: {"model": ErrorBody, "description": "body too large"},
    415: {"model": ErrorBody, "description": "the body is not application/json"},
    503: {"model": ErrorBody, "description": "the store is unavailable"},
}
