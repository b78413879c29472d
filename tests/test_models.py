"""Logging, registering and loading models as users do, on real frameworks."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlcore
import mlcore.onnx
import mlcore.sklearn
import mlcore.torch
import mlcore.xgboost
from mlcore.errors import (
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    PluginNotFoundError,
)


@pytest.fixture(autouse=True)
def home(tmp_path: Path) -> None:
    mlcore.set_tracking_uri(str(tmp_path / "store"))


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="module")
def forest(data: tuple[pd.DataFrame, pd.Series]) -> object:
    from sklearn.ensemble import RandomForestClassifier

    X, y = data
    return RandomForestClassifier(n_estimators=25, random_state=0, n_jobs=1).fit(X, y)


def test_the_design_doc_flow(data: tuple[pd.DataFrame, pd.Series], forest: object) -> None:
    X, _ = data
    mlcore.set_experiment("credit-scoring")
    with mlcore.start_run() as run:
        info = mlcore.log_model(
            forest, "model", input_example=X[:5], registered_model_name="credit"
        )
    assert info.model_uri == f"runs:/{run.id}/model"
    assert info.flavor == "sklearn"
    assert info.registered_model_version is not None
    assert info.registered_model_version.version == 1
    assert info.signature is not None
    assert info.signature.inputs.kind == "columns"

    registry = mlcore.Registry()
    registry.transition_stage("credit", 1, "Staging", archive_existing=True)
    registry.set_alias("credit", "champion", 1)
    registry.set_version_tag("credit", 1, "description", "trained on 2025-12")

    expected = forest.predict(X[:20])  # type: ignore[attr-defined]
    for uri in (
        "models:/credit@champion",
        "models:/credit/Staging",
        "models:/credit/1",
        "models:/credit/latest",
        info.model_uri,
    ):
        model = mlcore.load_model(uri)
        assert np.array_equal(model.predict(X[:20]), expected), uri
    native = mlcore.sklearn.load_model("models:/credit@champion")
    assert type(native).__name__ == "RandomForestClassifier"
    assert registry.get_version("credit", "@champion").tags == {"description": "trained on 2025-12"}
    run_tags = mlcore.get_run(run.id).data.tags
    assert "sklearn" in run_tags["mlcore.logged_models"]


def test_each_framework_logs_and_loads(data: tuple[pd.DataFrame, pd.Series]) -> None:
    import torch
    import xgboost
    from sklearn.linear_model import LogisticRegression

    X, y = data
    array = X.to_numpy(dtype=np.float32).copy()
    booster = xgboost.XGBClassifier(n_estimators=10, max_depth=3, n_jobs=2).fit(X, y)
    net = torch.nn.Sequential(torch.nn.Linear(30, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    proto = mlcore.onnx.export(LogisticRegression(max_iter=3000).fit(array, y), array[:10])
    with mlcore.start_run():
        xgb_info = mlcore.xgboost.log_model(booster, "xgb", input_example=X[:3])
        torch_info = mlcore.torch.log_model(net, "net", input_example=array[:3])
        onnx_info = mlcore.onnx.log_model(proto, "onnx", input_example=array[:3])
        py_info = mlcore.log_model(lambda frame: frame.iloc[:, 0] * 2, "fn", input_example=X[:3])
    assert np.array_equal(
        mlcore.xgboost.load_model(xgb_info.model_uri).predict(X[:5]), booster.predict(X[:5])
    )
    loaded_net = mlcore.torch.load_model(torch_info.model_uri)
    with torch.no_grad():
        assert torch.allclose(
            loaded_net(torch.as_tensor(array[:5])), net(torch.as_tensor(array[:5]))
        )
    session = mlcore.onnx.load_model(onnx_info.model_uri)
    assert type(session).__name__ == "InferenceSession"
    assert mlcore.load_model(onnx_info.model_uri).predict(X[:5].to_numpy()).shape == (5,)
    assert np.allclose(
        mlcore.load_model(py_info.model_uri).predict(X[:4]), X.iloc[:4, 0].to_numpy() * 2
    )
    with pytest.raises(InvalidInputError, match="is a xgboost model, not torch"):
        mlcore.torch.load_model(xgb_info.model_uri)


def test_a_tampered_model_in_the_store_is_refused(
    data: tuple[pd.DataFrame, pd.Series], forest: object, tmp_path: Path
) -> None:
    X, _ = data
    with mlcore.start_run() as run:
        info = mlcore.log_model(forest, "model", input_example=X[:2])
    store = mlcore.get_tracker().artifact_store(run.id)
    pickled = Path(store.uri("model/model.pkl").removeprefix("file://"))
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple[object, ...]:
            return (open, (str(marker), "w"))

    pickled.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(IntegrityError):
        mlcore.load_model(info.model_uri)
    # rewriting the manifest too does not help: its hash was recorded when it was logged
    import hashlib

    manifest = Path(store.uri("model/mlcore-model.yaml").removeprefix("file://"))
    spec = manifest.read_text()
    old = next(line.split(": ")[1] for line in spec.splitlines() if "model.pkl:" in line)
    manifest.write_text(spec.replace(old, hashlib.sha256(pickled.read_bytes()).hexdigest()))
    with pytest.raises(IntegrityError, match="manifest"):
        mlcore.load_model(info.model_uri)
    assert not marker.exists()


def test_predict_checks_the_signature(data: tuple[pd.DataFrame, pd.Series], forest: object) -> None:
    X, _ = data
    with mlcore.start_run():
        info = mlcore.log_model(forest, "model", input_example=X[:5])
    model = mlcore.load_model(info.model_uri)
    with pytest.raises(InvalidInputError, match="missing column.*'mean radius'"):
        model.predict(X.drop(columns=["mean radius"])[:3])
    with pytest.raises(InvalidInputError, match="unexpected column.*'extra'"):
        model.predict(X[:3].assign(extra=1.0))
    with pytest.raises(InvalidInputError, match="'mean radius' holds text"):
        model.predict(X[:3].assign(**{"mean radius": "big"}))
    with pytest.raises(InvalidInputError, match="30 columns"):
        model.predict(np.zeros((2, 5)))
    records = X[:3].to_dict("records")
    assert np.array_equal(model.predict(records), model.predict(X[:3]))


def test_bad_models_and_uris_are_typed_errors(forest: object) -> None:
    with mlcore.start_run():
        with pytest.raises(InvalidInputError, match="no flavor can save"):
            mlcore.log_model(object(), "model")
        with pytest.raises(PluginNotFoundError, match="flavor 'tensorflow'"):
            mlcore.log_model(forest, "model", flavor="tensorflow")
        with pytest.raises(InvalidInputError, match="cannot save"):
            mlcore.log_model(forest, "model", flavor="torch")
        with pytest.raises(InvalidInputError):
            mlcore.log_model(forest, "../escape")
    with pytest.raises(NotFoundError):
        mlcore.load_model("models:/nobody/1")
    with pytest.raises(NotFoundError):
        mlcore.load_model("runs:/" + "0" * 32 + "/model")
    with pytest.raises(InvalidInputError):
        mlcore.load_model("models:/bad/name/1")
    with pytest.raises(NotFoundError, match="not an mlcore model"):
        mlcore.load_model("/tmp")


def test_models_load_from_a_plain_directory(
    forest: object, tmp_path: Path, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, _ = data
    mlcore.sklearn.save_model(forest, tmp_path / "exported", input_example=X[:2])
    model = mlcore.load_model(str(tmp_path / "exported"), trust_unrecorded=True)
    assert np.array_equal(model.predict(X[:4]), forest.predict(X[:4]))  # type: ignore[attr-defined]
    uri = (tmp_path / "exported").as_uri()
    assert mlcore.load_model(uri, trust_unrecorded=True).spec.flavor == "sklearn"


@pytest.mark.parametrize(
    "kind", ["sklearn-classifier", "sklearn-regressor", "xgboost", "xgboost-booster", "torch"]
)
def test_onnx_export_matches_the_original(data: tuple[pd.DataFrame, pd.Series], kind: str) -> None:
    import onnxruntime
    import torch
    import xgboost
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression

    X, y = data
    array = X.to_numpy(dtype=np.float32)
    model: object
    if kind == "sklearn-classifier":
        model = LogisticRegression(max_iter=3000).fit(array, y)
    elif kind == "sklearn-regressor":
        model = GradientBoostingRegressor(n_estimators=20).fit(array, X["mean area"])
    elif kind == "xgboost":
        model = xgboost.XGBClassifier(n_estimators=10, n_jobs=2).fit(X, y)
    elif kind == "xgboost-booster":
        model = xgboost.train({"nthread": 2}, xgboost.DMatrix(array, y), 10)
    else:
        torch.manual_seed(0)
        model = torch.nn.Sequential(
            torch.nn.Linear(30, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)
        )
    proto = mlcore.onnx.export(model, array[:50])
    session = onnxruntime.InferenceSession(
        proto.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    got = session.run(None, {session.get_inputs()[0].name: array[:200]})[0]
    if kind == "torch":
        with torch.no_grad():
            expected = model(torch.as_tensor(array[:200])).numpy()  # type: ignore[operator]
    elif kind == "xgboost-booster":
        expected = model.predict(xgboost.DMatrix(array[:200]))  # type: ignore[attr-defined]
    else:
        expected = model.predict(X[:200] if kind == "xgboost" else array[:200])  # type: ignore[attr-defined]
    if "classifier" in kind or kind == "xgboost":
        assert np.array_equal(got.reshape(-1), np.asarray(expected).reshape(-1))
    else:
        assert np.allclose(got.reshape(-1), np.asarray(expected).reshape(-1), rtol=1e-5, atol=1e-5)


def test_onnx_export_refuses_what_it_cannot_convert() -> None:
    with pytest.raises(InvalidInputError, match="cannot export to ONNX"):
        mlcore.onnx.export(lambda x: x, np.zeros((2, 2)))
