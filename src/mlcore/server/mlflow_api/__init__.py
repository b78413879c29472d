"""MLflow's REST API on the tracking server, so the stock ``mlflow`` client works unchanged.

:func:`mount` adds the routes to the server's FastAPI app (outside its OpenAPI spec) and says
what the :class:`~mlcore.web.guard.Guard` needs to know about them: which POSTs only read,
which paths take raw upload bodies, and how refusals look (MLflow's error shape). Modules:
:mod:`.errors`, :mod:`.messages`, :mod:`.filters`, :mod:`.routes`, :mod:`.tracking`,
:mod:`.artifacts`, :mod:`.logged_models`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from mlcore.web.errors import plain_error

__all__ = ["MlflowRoutes", "guard_error", "mount"]


@dataclass(frozen=True)
class MlflowRoutes:
    """What the guard needs to know about the mounted MLflow routes."""

    #: POST paths that only read (searches): a read token may call them
    read_paths: frozenset[str]
    #: path prefixes whose bodies are raw bytes of any type and up to the upload limit
    upload_prefixes: tuple[str, ...]


def guard_error(
    path: str, status: int, code: str, message: str, headers: Mapping[str, str]
) -> Response:
    """The guard's refusals: MLflow's shape on MLflow's paths, mlcore's elsewhere."""
    from mlcore.server.mlflow_api.errors import mlflow_error
    from mlcore.server.mlflow_api.routes import PREFIXES

    if path.startswith(PREFIXES):
        return mlflow_error(status, message, headers=headers)
    return plain_error(path, status, code, message, headers)


def mount(app: Any, store: Any, proxy: Any) -> MlflowRoutes:
    """Add MLflow's endpoints over ``store`` and the artifact ``proxy`` to ``app``."""
    from mlcore.server.mlflow_api import artifacts, logged_models, tracking
    from mlcore.server.mlflow_api.messages import ArtifactRoot
    from mlcore.server.mlflow_api.routes import Context, add_endpoints

    context = Context(store, ArtifactRoot(store.default_artifact_root), proxy.store)
    reads = add_endpoints(
        app, tracking.endpoints() + artifacts.endpoints() + logged_models.endpoints(), context
    )
    uploads = artifacts.add_file_routes(app, context, proxy)
    return MlflowRoutes(read_paths=frozenset(reads), upload_prefixes=uploads)
