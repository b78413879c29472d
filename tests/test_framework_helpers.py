"""The per-framework modules (``mlcore.sklearn``, ``xgboost``, ``torch``, ``onnx``) share one
shape: the same core functions, signatures and module names, each fixed to its flavor."""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import mlcore
from mlcore.errors import InvalidInputError
from tests.conftest import run_python

FRAMEWORKS = ("sklearn", "xgboost", "torch", "onnx")
CORE = ("log_model", "save_model", "load_model")
EXPORTS = {
    "sklearn": {"autolog", "load_model", "log_model", "save_model"},
    "xgboost": {"autolog", "load_model", "log_model", "save_model"},
    "torch": {"autolog", "load_model", "log_model", "save_model", "unwatch", "watch"},
    "onnx": {"export", "load_model", "log_model", "save_model"},
}


def helper(name: str) -> ModuleType:
    return importlib.import_module(f"mlcore.{name}")


@pytest.fixture(autouse=True)
def home(tmp_path: Path) -> None:
    mlcore.set_tracking_uri(str(tmp_path / "store"))


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_all_names_exactly_the_published_functions(name: str) -> None:
    module = helper(name)
    assert set(module.__all__) == EXPORTS[name]
    assert len(module.__all__) == len(set(module.__all__))
    for function_name in module.__all__:
        assert callable(getattr(module, function_name)), function_name
    assert name == module.FLAVOR


def test_every_module_has_the_same_core_functions_and_signatures() -> None:
    reference = helper("sklearn")
    for name in FRAMEWORKS:
        module = helper(name)
        for function_name in CORE:
            function = getattr(module, function_name)
            expected = inspect.signature(getattr(reference, function_name))
            assert inspect.signature(function) == expected, (name, function_name)
            # help() and tracebacks name the framework module, not the factory
            assert function.__module__ == f"mlcore.{name}"
            assert function.__name__ == function.__qualname__ == function_name
            assert function.__doc__
    # MLflow's spellings too (issue 18): name= for artifact_path (default still "model"),
    # and the model under the module's MLflow keyword (sk_model=...) through **options
    assert str(inspect.signature(reference.log_model)) == (
        "(model: 'Any' = None, artifact_path: 'str | None' = None, *, name: 'str | None' = None, "
        "**options: 'Any') -> 'ModelInfo'"
    )
    assert list(inspect.signature(reference.load_model).parameters) == ["model_uri"]
    for name in ("sklearn", "xgboost", "torch"):
        autolog = helper(name).autolog
        assert list(inspect.signature(autolog).parameters) == ["disable", "options"]
        assert autolog.__module__ == f"mlcore.{name}"
    assert not hasattr(helper("onnx"), "autolog")


def test_each_module_keeps_its_own_docstrings() -> None:
    assert "nn.Module" in (helper("torch").log_model.__doc__ or "")
    assert "eval mode" in (helper("torch").load_model.__doc__ or "")
    assert "Lightning" in (helper("torch").autolog.__doc__ or "")
    assert "InferenceSession" in (helper("onnx").load_model.__doc__ or "")
    assert "mlcore.log_model" in (helper("sklearn").log_model.__doc__ or "")


def test_importing_a_helper_does_not_import_its_framework() -> None:
    result = run_python(
        "import json, sys\n"
        "import mlcore.sklearn, mlcore.xgboost, mlcore.torch\n"
        "print(json.dumps([m for m in ('sklearn', 'xgboost', 'torch', 'numpy') "
        "if m in sys.modules]))\n"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_sklearn_logs_its_flavor_and_loads_the_native_model(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    X = np.arange(20, dtype=float).reshape(10, 2)
    model = LinearRegression().fit(X, X @ [1.0, 2.0])
    with mlcore.start_run() as run:
        info = mlcore.sklearn.log_model(model, "model")
    assert info.flavor == "sklearn"
    assert info.model_uri == f"runs:/{run.id}/model"
    native = mlcore.sklearn.load_model(info.model_uri)
    assert type(native) is LinearRegression
    assert np.allclose(native.predict(X), model.predict(X))

    spec = mlcore.sklearn.save_model(model, tmp_path / "saved")
    assert spec.flavor == "sklearn"
    with pytest.raises(InvalidInputError, match="the xgboost flavor cannot save"):
        mlcore.xgboost.save_model(model, tmp_path / "refused")
    with pytest.raises(InvalidInputError, match="is a sklearn model, not onnx"):
        mlcore.onnx.load_model(info.model_uri)


def test_xgboost_and_torch_log_their_flavor_and_load_back() -> None:
    import torch
    import xgboost

    X = np.random.default_rng(0).random((30, 4)).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int)
    booster = xgboost.XGBClassifier(n_estimators=3, max_depth=2, n_jobs=1).fit(X, y)
    net = torch.nn.Linear(4, 1)
    with mlcore.start_run():
        xgb_info = mlcore.xgboost.log_model(booster, "xgb")
        torch_info = mlcore.torch.log_model(net, "net")
    assert (xgb_info.flavor, torch_info.flavor) == ("xgboost", "torch")
    assert np.array_equal(
        mlcore.xgboost.load_model(xgb_info.model_uri).predict(X), booster.predict(X)
    )
    loaded = mlcore.torch.load_model(torch_info.model_uri)
    with torch.no_grad():
        assert torch.allclose(loaded(torch.as_tensor(X)), net(torch.as_tensor(X)))


def test_onnx_exports_logs_and_loads_a_session() -> None:
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(1).random((40, 3)).astype(np.float32)
    y = (X[:, 1] > 0.5).astype(int)
    proto = mlcore.onnx.export(LogisticRegression().fit(X, y), X[:10])
    with mlcore.start_run():
        info = mlcore.onnx.log_model(proto, "onnx")
    assert info.flavor == "onnx"
    assert type(mlcore.onnx.load_model(info.model_uri)).__name__ == "InferenceSession"
