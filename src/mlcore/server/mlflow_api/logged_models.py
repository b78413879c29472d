"""MLflow 3's logged models (``/mlflow/logged-models/...``): not stored by mlcore yet. A
search finds none (the client searches when it lists a run's artifacts); creating one is
refused with ``NOT_IMPLEMENTED``."""

from __future__ import annotations

from typing import Any

from mlcore.server.mlflow_api.errors import MlflowApiError
from mlcore.server.mlflow_api.routes import Context, Endpoint

__all__ = ["endpoints"]


def search_logged_models(context: Context, arguments: dict[str, Any]) -> Any:
    return {"models": []}


def create_logged_model(context: Context, arguments: dict[str, Any]) -> Any:
    raise MlflowApiError(
        "MLflow 3's logged models are not supported by this server yet", "NOT_IMPLEMENTED"
    )


def endpoints() -> list[Endpoint]:
    return [
        Endpoint("POST", "/mlflow/logged-models/search", search_logged_models, reads=True),
        Endpoint("POST", "/mlflow/logged-models", create_logged_model),
    ]
