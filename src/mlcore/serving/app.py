"""The model-serving ASGI app (Starlette): MLflow's scoring protocol and KServe's OIP v2.

=====================================================  ==========================================
``GET /ping``, ``GET /health``, ``GET /version``        liveness and what is served
``POST /invocations``                                   MLflow payloads (JSON, CSV)
``GET /v2``, ``/v2/health/live``, ``/v2/health/ready``  OIP server metadata and health
``GET /v2/models/{name}[/versions/{v}][/ready]``        OIP model metadata and readiness
``POST /v2/models/{name}[/versions/{v}]/infer``         OIP inference
``GET /metrics``                                        Prometheus text format
=====================================================  ==========================================

Bad input is a 400 whose JSON body says what is wrong (``{"error_code", "message"}``, and
``"error"`` on the ``/v2`` routes as KServe clients read it); an oversized body is a 413, an
unknown model a 404. Nothing in a response reveals a stack trace.

Who may call is the tracking server's rule (:class:`mlcore.web.guard.Guard`): with tokens, every
route but the probes (``/ping``, ``/health``, ``/version``, ``/metrics``, ``/v2/health/*``)
needs a bearer token, and a read token suffices (predictions change nothing); without tokens,
only loopback clients are served unless ``allow_remote``. Only loopback host names, IP
addresses and ``allowed_hosts`` are answered (DNS rebinding), and forwarding headers count only
from ``trusted_proxies``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from mlcore._version import __version__
from mlcore.errors import InvalidInputError, MlcoreError, NotFoundError
from mlcore.serving import oip
from mlcore.serving.batching import BatchingOptions, MicroBatcher
from mlcore.serving.metrics import CONTENT_TYPE, ServingMetrics
from mlcore.serving.payloads import (
    CSV_TYPES,
    UnsupportedMediaType,
    parse_invocation,
    predictions_body,
)
from mlcore.serving.runtime import Accelerate, ServedModel
from mlcore.web.bodies import TOO_LARGE, BodyTooLarge, read_body
from mlcore.web.errors import HTTP_CODES, error_body
from mlcore.web.forwarded import DEFAULT_TRUSTED_PROXIES
from mlcore.web.guard import Access, BodyTypes, Guard
from mlcore.web.hosts import HostPolicy, check_network_options
from mlcore.web.tokens import check_tokens

__all__ = [
    "ACCESS",
    "BODIES",
    "OPTIONS_ENV",
    "ServingOptions",
    "app_from_env",
    "create_app",
    "create_app_from_options",
]

log = logging.getLogger("mlcore.serving")

OPTIONS_ENV = "MLCORE_SERVING_OPTIONS"

#: who may call what: the probes are public, and nothing needs more than a read token
ACCESS = Access(
    public=frozenset({"/ping", "/health", "/version", "/metrics"}),
    public_prefixes=("/v2/health/",),
    read_only=True,
)


#: what bodies may be: JSON, and CSV tables for ``/invocations`` (neither a type a web page may
#: send without a CORS preflight)
BODIES = BodyTypes(also=(("/invocations", CSV_TYPES),))


@dataclass(frozen=True)
class ServingOptions:
    """Everything ``mlcore serve`` passes to each worker process."""

    model_uri: str
    name: str | None = None
    tracking_uri: str | None = None
    max_batch_size: int = 32
    max_wait_ms: float = 2.0
    accelerate: Accelerate = "auto"
    log_predictions: float = 0.0
    max_body_mb: int = 64
    #: token -> "read"/"write" (either may predict); none: loopback clients only
    tokens: dict[str, str] = field(default_factory=dict)
    allow_remote: bool = False
    #: ``Host`` names answered besides loopback names and addresses (``*``: any)
    allowed_hosts: tuple[str, ...] = ()
    #: peers whose forwarding headers count (IPs, CIDRs); None: loopback proxies only
    trusted_proxies: tuple[str, ...] | None = None

    def to_env(self) -> str:
        return json.dumps(asdict(self))


def _error(
    status: int,
    code: str,
    message: str,
    *,
    oip_route: bool = False,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = error_body(code, message)
    if oip_route:
        body["error"] = message
    return JSONResponse(body, status_code=status, headers=dict(headers or {}) or None)


def _refusal(
    path: str, status: int, code: str, message: str, headers: Mapping[str, str]
) -> Response:
    """The guard's refusals (401, 403), in the OIP shape on the ``/v2`` routes."""
    return _error(status, code, message, oip_route=path.startswith("/v2"), headers=headers)


class _Service:
    """The handlers, sharing one model, batcher, metrics and prediction logger."""

    def __init__(self, model: ServedModel, options: ServingOptions) -> None:
        from mlcore.serving.prediction_log import PredictionLogger

        self.model = model
        self.options = options
        self.limit = options.max_body_mb * 1024 * 1024
        self.metrics = ServingMetrics(model)
        self.batcher = MicroBatcher(
            model.predict_prepared,
            BatchingOptions(options.max_batch_size, options.max_wait_ms),
            on_batch=self.metrics.batch,
        )
        self.logger = (
            PredictionLogger(model, options.log_predictions, tracking_uri=options.tracking_uri)
            if options.log_predictions
            else None
        )

    def close(self) -> None:
        self.batcher.close()
        if self.logger is not None:
            self.logger.close()

    # -- prediction --------------------------------------------------------------------------------
    async def _predict(
        self,
        request: Request,
        endpoint: str,
        parse: Callable[[bytes], tuple[Any, Any]],
        respond: Callable[[Any, Any], Response],
        *,
        oip_route: bool = False,
    ) -> Response:
        started = time.perf_counter()
        try:
            body = await read_body(request, self.limit)
            prepared, context = parse(body)
            output = await self.batcher.predict(prepared)
            response = respond(output, context)
            if self.logger is not None and self.logger.sample():
                self.logger.record(prepared, output)
        except BodyTooLarge as exc:
            response = _error(413, TOO_LARGE, str(exc), oip_route=oip_route)
        except UnsupportedMediaType as exc:
            response = _error(415, exc.code, str(exc), oip_route=oip_route)
        except InvalidInputError as exc:
            response = _error(400, exc.code, str(exc), oip_route=oip_route)
        except MlcoreError as exc:
            response = _error(500, exc.code, str(exc), oip_route=oip_route)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            # the model itself refused the input (e.g. a framework's own shape check)
            log.info("the model refused a request: %s", exc)
            response = _error(
                400,
                "MODEL_REFUSED_INPUT",
                f"the model could not predict on this input: {type(exc).__name__}: {exc}",
                oip_route=oip_route,
            )
        except Exception:
            log.exception("prediction failed")
            response = _error(
                500, "INTERNAL_ERROR", "prediction failed (see the server log)", oip_route=oip_route
            )
        self.metrics.request(endpoint, response.status_code, time.perf_counter() - started)
        return response

    async def invocations(self, request: Request) -> Response:
        content_type = request.headers.get("content-type")

        def parse(body: bytes) -> tuple[Any, Any]:
            return parse_invocation(body, content_type, self.model), None

        def respond(output: Any, _: Any) -> Response:
            return Response(predictions_body(output), media_type="application/json")

        return await self._predict(request, "invocations", parse, respond)

    async def infer(self, request: Request) -> Response:
        refusal = self._check_model(request)
        if refusal is not None:
            return refusal

        def parse(body: bytes) -> tuple[Any, Any]:
            return oip.parse_infer(body, self.model)

        def respond(output: Any, infer_request: Any) -> Response:
            body = oip.infer_response(self.model, output, infer_request)
            return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")

        return await self._predict(request, "infer", parse, respond, oip_route=True)

    # -- metadata ----------------------------------------------------------------------------------
    def _check_model(self, request: Request) -> Response | None:
        name = request.path_params["name"]
        version = request.path_params.get("version")
        if name != self.model.name:
            return _error(
                404,
                NotFoundError.code,
                f"model {name!r} is not served here (this server serves {self.model.name!r})",
                oip_route=True,
            )
        if version is not None and version != self.model.version:
            return _error(
                404,
                NotFoundError.code,
                f"version {version!r} of {name!r} is not served here (this server serves "
                f"version {self.model.version})",
                oip_route=True,
            )
        return None

    async def model_metadata(self, request: Request) -> Response:
        return self._check_model(request) or JSONResponse(oip.model_metadata(self.model))

    async def model_ready(self, request: Request) -> Response:
        return self._check_model(request) or JSONResponse({"name": self.model.name, "ready": True})

    async def server_metadata(self, _: Request) -> Response:
        return JSONResponse({"name": "mlcore", "version": __version__, "extensions": []})

    async def live(self, _: Request) -> Response:
        return JSONResponse({"live": True})

    async def ready(self, _: Request) -> Response:
        return JSONResponse({"ready": True})

    async def ping(self, _: Request) -> Response:
        return PlainTextResponse("\n")

    async def health(self, _: Request) -> Response:
        return JSONResponse({"status": "ok", "model": self.model.name, "ready": True})

    async def version(self, _: Request) -> Response:
        return JSONResponse(
            {
                "mlcore": __version__,
                "model": {
                    "name": self.model.name,
                    "version": self.model.version,
                    "uri": self.model.uri,
                    "flavor": self.model.flavor,
                    "runtime": self.model.runtime,
                },
            }
        )

    async def prometheus(self, _: Request) -> Response:
        return Response(self.metrics.render(), media_type=CONTENT_TYPE)


def create_app(
    model: str | ServedModel,
    *,
    tracking_uri: str | None = None,
    name: str | None = None,
    batching: dict[str, Any] | BatchingOptions | bool | None = None,
    accelerate: Accelerate = "auto",
    log_predictions: float = 0.0,
    max_body_mb: int = 64,
    tokens: Mapping[str, str] | None = None,
    allow_remote: bool = False,
    allowed_hosts: Sequence[str] = (),
    trusted_proxies: Sequence[str] | None = None,
) -> Starlette:
    """The serving app for ``model`` (a model URI, or an already loaded :class:`ServedModel`).

    Args:
        batching: ``{"max_batch_size": 32, "max_wait_ms": 2}`` (the default), or ``False`` to
            run every request on its own.
        accelerate: ``"auto"`` compiles scikit-learn classifiers to ONNX when the compiled model
            predicts the same labels; ``"onnx"`` insists (float32 scores); ``"off"``.
        log_predictions: the fraction of requests whose inputs and predictions are logged to the
            store (for ``mlcore monitor drift``).
        max_body_mb: the largest request body accepted.
        tokens: ``{token: "read" or "write"}`` (as ``mlcore.web.tokens.load_tokens`` reads them
            from ``MLCORE_SERVER_TOKENS`` or a tokens file); every route but the probes then
            needs ``Authorization: Bearer <token>``, and either scope may predict.
        allow_remote: without tokens, serve non-loopback clients too (trusted networks only).
        allowed_hosts: ``Host`` names answered besides loopback names and IP addresses
            (``name``, ``name:port``, ``*.domain``, ``*``), against DNS rebinding.
        trusted_proxies: IPs/CIDRs of reverse proxies whose forwarding headers name the
            client (default: loopback ones).

    Raises:
        NotFoundError: the model does not exist.
        InvalidInputError: bad options.
    """
    if isinstance(batching, BatchingOptions):
        batch_options = batching
    elif batching is False:
        batch_options = BatchingOptions(max_batch_size=1, max_wait_ms=0)
    elif isinstance(batching, dict):
        unknown = set(batching) - {"max_batch_size", "max_wait_ms"}
        if unknown:
            raise InvalidInputError(
                f"unknown batching option(s) {sorted(unknown)}; use max_batch_size, max_wait_ms",
                field="batching",
            )
        batch_options = BatchingOptions(**batching)
    elif batching is None or batching is True:
        batch_options = BatchingOptions()
    else:
        raise InvalidInputError("batching must be a dict, True or False", field="batching")
    if not isinstance(max_body_mb, int) or max_body_mb < 1:
        raise InvalidInputError("max_body_mb must be a positive integer", field="max_body_mb")
    uri = model.uri if isinstance(model, ServedModel) else model
    options = ServingOptions(
        model_uri=uri,
        name=name,
        tracking_uri=tracking_uri,
        max_batch_size=batch_options.max_batch_size,
        max_wait_ms=batch_options.max_wait_ms,
        accelerate=accelerate,
        log_predictions=log_predictions,
        max_body_mb=max_body_mb,
        tokens=check_tokens(tokens or {}),
        allow_remote=allow_remote,
        allowed_hosts=tuple(allowed_hosts),
        trusted_proxies=None if trusted_proxies is None else tuple(trusted_proxies),
    )
    check_network_options(options.allowed_hosts, options.trusted_proxies)
    return create_app_from_options(options, model if isinstance(model, ServedModel) else None)


def create_app_from_options(options: ServingOptions, model: ServedModel | None = None) -> Starlette:
    if model is None:
        from mlcore.tracking import Tracker

        with Tracker(options.tracking_uri) as tracker:
            model = ServedModel.load(
                options.model_uri, tracker=tracker, name=options.name, accelerate=options.accelerate
            )
    service = _Service(model, options)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            service.close()

    def route(path: str, handler: Callable[[Request], Awaitable[Response]], method: str) -> Route:
        return Route(path, handler, methods=[method])

    routes = [
        route("/ping", service.ping, "GET"),
        route("/health", service.health, "GET"),
        route("/version", service.version, "GET"),
        route("/metrics", service.prometheus, "GET"),
        route("/invocations", service.invocations, "POST"),
        route("/v2", service.server_metadata, "GET"),
        route("/v2/health/live", service.live, "GET"),
        route("/v2/health/ready", service.ready, "GET"),
    ]
    for base in ("/v2/models/{name}", "/v2/models/{name}/versions/{version}"):
        routes += [
            route(base, service.model_metadata, "GET"),
            route(base + "/ready", service.model_ready, "GET"),
            route(base + "/infer", service.infer, "POST"),
        ]

    async def not_found(request: Request, exc: Exception) -> Response:
        status = int(getattr(exc, "status_code", 404))
        code = HTTP_CODES.get(status, "HTTP_ERROR")
        return _error(
            status,
            code,
            f"{request.method} {request.url.path}: {getattr(exc, 'detail', 'not found')}",
            oip_route=request.url.path.startswith("/v2"),
            headers=getattr(exc, "headers", None),  # a 405's Allow
        )

    hosts = HostPolicy(options.allowed_hosts)
    guard = Middleware(
        Guard,
        tokens=dict(options.tokens),
        allow_remote=options.allow_remote,
        max_body_bytes=None,  # the handlers read bodies up to service.limit
        access=ACCESS,
        bodies=BODIES,
        error=_refusal,
        token_hint="send Authorization: Bearer <token>",
        allowed_hosts=hosts,
        trusted_proxies=(
            DEFAULT_TRUSTED_PROXIES if options.trusted_proxies is None else options.trusted_proxies
        ),
    )
    app = Starlette(
        routes=routes,
        middleware=[guard],
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: not_found},
    )
    app.state.served_model = model
    app.state.service = service
    app.state.hosts = hosts  # a server extends it with the name it binds
    return app


def app_from_env() -> Starlette:
    """The app a uvicorn worker builds (``--workers`` > 1): options come in the environment."""
    return create_app_from_options(ServingOptions(**json.loads(os.environ[OPTIONS_ENV])))
