"""mlcore: the whole machine-learning lifecycle in one embeddable library.

Fluent API for notebooks and scripts::

    import mlcore

    mlcore.set_experiment("credit-scoring")
    with mlcore.start_run(name="xgb-v2", config={"lr": 0.05}) as run:
        mlcore.log_param("max_depth", 6)
        mlcore.log_metric("auc", 0.91, step=3)

Client classes for tools that embed mlcore (no global state): :class:`Tracker`.

``import mlcore`` loads only the standard library; the store, pyarrow, pydantic and friends
are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlcore._fluent import (
    active_run,
    config,
    define_metric,
    end_run,
    finish,
    flush,
    get_artifact_uri,
    get_run,
    get_tracker,
    get_tracking_uri,
    init,
    load_model,
    log,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_metric,
    log_metrics,
    log_model,
    log_param,
    log_params,
    log_text,
    metric_history,
    register_model,
    save,
    search_runs,
    set_experiment,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_run,
    unwatch,
    use_artifact,
    watch,
)
from mlcore.errors import (
    AlreadyExistsError,
    IntegrityError,
    InvalidInputError,
    MlcoreError,
    NotFoundError,
    ParamConflictError,
    PluginError,
    PluginNotFoundError,
    StoreError,
    UnsupportedError,
)

if TYPE_CHECKING:
    from mlcore.flavors import LoadedModel
    from mlcore.registry import Registry
    from mlcore.tracking import ActiveRun, Artifact, Config, ModelInfo, Tracker
    from mlcore.tracking.media import Histogram, Html, Image, Table
    from mlcore.types import (
        Experiment,
        FileInfo,
        LineageGraph,
        Metric,
        ModelStage,
        ModelVersion,
        RegisteredModel,
        Run,
        RunData,
        RunInfo,
        RunStatus,
    )

from mlcore._version import __version__

# Public names served lazily by __getattr__, so that importing mlcore stays cheap.
_LAZY = {
    "Tracker": "mlcore.tracking",
    "ActiveRun": "mlcore.tracking",
    "Artifact": "mlcore.tracking",
    "Config": "mlcore.tracking",
    "ModelInfo": "mlcore.tracking",
    "Image": "mlcore.tracking.media",
    "Table": "mlcore.tracking.media",
    "Histogram": "mlcore.tracking.media",
    "Html": "mlcore.tracking.media",
    "Registry": "mlcore.registry",
    "Server": "mlcore.server",
    "Sweep": "mlcore.sweep",
    "LoadedModel": "mlcore.flavors",
    "ModelVersion": "mlcore.types",
    "RegisteredModel": "mlcore.types",
    "ModelStage": "mlcore.types",
    "LineageGraph": "mlcore.types",
    "Experiment": "mlcore.types",
    "FileInfo": "mlcore.types",
    "Metric": "mlcore.types",
    "Run": "mlcore.types",
    "RunData": "mlcore.types",
    "RunInfo": "mlcore.types",
    "RunStatus": "mlcore.types",
}

__all__ = [
    "ActiveRun",
    "AlreadyExistsError",
    "Artifact",
    "Config",
    "Experiment",
    "FileInfo",
    "Histogram",
    "Html",
    "Image",
    "IntegrityError",
    "InvalidInputError",
    "LineageGraph",
    "LoadedModel",
    "Metric",
    "MlcoreError",
    "ModelInfo",
    "ModelStage",
    "ModelVersion",
    "NotFoundError",
    "ParamConflictError",
    "PluginError",
    "PluginNotFoundError",
    "RegisteredModel",
    "Registry",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    "Server",
    "StoreError",
    "Sweep",
    "Table",
    "Tracker",
    "UnsupportedError",
    "__version__",
    "active_run",
    "autolog",
    "config",
    "define_metric",
    "end_run",
    "finish",
    "flush",
    "get_artifact_uri",
    "get_run",
    "get_tracker",
    "get_tracking_uri",
    "init",
    "load_model",
    "log",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "log_text",
    "metric_history",
    "register_model",
    "save",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
    "sweep",
    "unwatch",
    "use_artifact",
    "watch",
]


# Submodules served on first use: ``mlcore.sklearn.load_model(...)`` works after a plain
# ``import mlcore``; ``mlcore.autolog`` is a callable package (``mlcore.autolog()``).
_LAZY_MODULES = frozenset({"autolog", "sklearn", "xgboost", "torch", "onnx", "sweep"})


def __getattr__(name: str) -> Any:
    import importlib

    if name == "run":  # W&B's ``wandb.run``: the active run, or None
        return active_run()
    if name == "summary":  # W&B's ``wandb.summary``: the active run's summary
        current = active_run()
        if current is None:
            raise AttributeError("mlcore.summary: no active run; call mlcore.init() first")
        return current.summary

    if name in _LAZY_MODULES:
        return importlib.import_module(f"mlcore.{name}")
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'mlcore' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _LAZY_MODULES)
