"""The public surface is exactly what we mean to publish (httpx-style guard)."""

from __future__ import annotations

import mlcore
import mlcore.errors

EXPECTED = {
    # fluent API
    "active_run",
    "config",
    "end_run",
    "flush",
    "get_artifact_uri",
    "get_run",
    "get_tracker",
    "get_tracking_uri",
    "log",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "metric_history",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
    # models, registry, artifacts, autolog
    "log_model",
    "load_model",
    "register_model",
    "use_artifact",
    "autolog",
    "Registry",
    "Server",
    # sweeps (design §1): mlcore.sweep(...) returns a Sweep
    "Sweep",
    "sweep",
    "Artifact",
    "ModelInfo",
    "LoadedModel",
    "ModelVersion",
    "RegisteredModel",
    "ModelStage",
    "LineageGraph",
    # W&B's run calls and media (issue 20)
    "init",
    "finish",
    "define_metric",
    "watch",
    "unwatch",
    "save",
    "Image",
    "Table",
    "Histogram",
    "Html",
    # client classes and entities
    "Tracker",
    "ActiveRun",
    "Config",
    "Experiment",
    "FileInfo",
    "Metric",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    # errors
    "MlcoreError",
    "NotFoundError",
    "AlreadyExistsError",
    "InvalidInputError",
    "ParamConflictError",
    "PluginError",
    "PluginNotFoundError",
    "IntegrityError",
    "StoreError",
    "UnsupportedError",
    "__version__",
}


def test_all_is_exactly_the_public_api() -> None:
    assert set(mlcore.__all__) == EXPECTED
    assert len(mlcore.__all__) == len(set(mlcore.__all__))


def test_every_public_name_resolves() -> None:
    for name in mlcore.__all__:
        assert getattr(mlcore, name) is not None, name
    assert "Tracker" in dir(mlcore)


def test_framework_modules_are_reachable_from_a_plain_import() -> None:
    for name in ("sklearn", "xgboost", "torch", "onnx"):
        module = getattr(mlcore, name)
        assert callable(module.load_model)
        assert callable(module.log_model)
    assert callable(mlcore.onnx.export)
    assert callable(mlcore.torch.watch)
    assert callable(mlcore.autolog)
    assert callable(mlcore.autolog.configure)  # the package is callable and still a package


def test_unknown_attribute_is_an_attribute_error() -> None:
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mlcore.nope


def test_error_tree() -> None:
    errors = mlcore.errors
    assert issubclass(errors.NotFoundError, LookupError)
    assert issubclass(errors.InvalidInputError, ValueError)
    assert issubclass(errors.ParamConflictError, errors.InvalidInputError)
    assert issubclass(errors.PluginNotFoundError, LookupError)
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, errors.MlcoreError), name
    codes = {
        getattr(errors, n).code for n in errors.__all__ if isinstance(getattr(errors, n), type)
    }
    assert len(codes) == len([n for n in errors.__all__ if isinstance(getattr(errors, n), type)])


def test_every_public_module_says_what_it_exports() -> None:
    """Each public module (no leading underscore in its dotted path) declares ``__all__``,
    and every name it lists exists in the module."""
    import importlib
    import pkgutil

    missing, dangling = [], []
    for info in pkgutil.walk_packages(mlcore.__path__, "mlcore."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts) or ".migrations" in info.name:
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional framework (lightning...) that is not installed
            continue
        names = getattr(module, "__all__", None)
        if names is None:
            missing.append(info.name)
            continue
        dangling += [f"{info.name}.{n}" for n in names if not hasattr(module, n)]
    assert missing == [], f"public modules without __all__: {missing}"
    assert dangling == [], f"names in __all__ that do not exist: {dangling}"
