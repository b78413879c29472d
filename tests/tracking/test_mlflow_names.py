"""MLflow's names work where they mean the same (issue 18, section 4): the seed documents'
MLflow snippets run on mlcore with only the import changed, and giving both spellings of one
argument is a TypeError that changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mlcore
import mlcore.sklearn
import mlcore.xgboost
from mlcore.registry import Registry
from mlcore.tracking import Tracker
from mlcore.types import Metric

MlflowClient = Registry  # what a user moving over binds `client = MlflowClient()` to


@pytest.fixture(autouse=True)
def store(tmp_path: Path) -> str:
    uri = str(tmp_path / "store")
    mlcore.set_tracking_uri(uri)
    return uri


def _data() -> tuple[Any, Any]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    return frame, (frame["a"] > 0).astype(int)


def test_seed_tracking_and_registry_flow_runs_with_mlflow_names() -> None:
    """Seed 000, "MLflow Best Practices" and "Using MLflow Model Registry"."""
    import xgboost as xgb

    x, y = _data()
    mlcore.set_experiment("credit-scoring-model")
    with mlcore.start_run(run_name="xgboost-v2-optimized") as run:
        mlcore.log_param("learning_rate", 0.05)
        mlcore.log_param("max_depth", 2)
        model = xgb.XGBClassifier(n_estimators=5, max_depth=2, learning_rate=0.05).fit(x, y)
        mlcore.log_metric("accuracy", float((model.predict(x) == y).mean()))
        mlcore.xgboost.log_model(model, "model")
    assert mlcore.get_run(run.id).info.name == "xgboost-v2-optimized"

    client = MlflowClient()
    model_uri = f"runs:/{run.id}/model"
    model_name = "credit-scoring-production"
    model_version = mlcore.register_model(model_uri, model_name)
    client.transition_model_version_stage(
        name=model_name, version=model_version.version, stage="Staging"
    )
    client.set_model_version_tag(
        name=model_name, version=model_version.version, key="description", value="XGBoost"
    )
    staged = client.get_model_version(model_name, model_version.version)
    assert staged.current_stage == "Staging" and staged.tags["description"] == "XGBoost"


def test_seed_comprehensive_logging_flow_runs_with_mlflow_names() -> None:
    """Seed 000, "Good: Comprehensive experiment logging"."""
    from sklearn.linear_model import LogisticRegression

    x, y = _data()
    config = {"C": 1.0, "solver": "lbfgs"}
    mlcore.set_experiment("production-models")
    with mlcore.start_run(run_name="production-v2.1"):
        mlcore.log_params(config)
        mlcore.log_metrics({"accuracy": 0.9})
        mlcore.log_dict(config, "config.yaml")
        model = LogisticRegression(C=config["C"]).fit(x, y)
        mlcore.sklearn.log_model(model, "model")
        client = MlflowClient()
        version = client.create_model_version(
            name="production-model", source=mlcore.get_artifact_uri("model")
        )
    assert client.load_model("production-model", version.version).predict(x).tolist() == (
        model.predict(x).tolist()
    )


def test_log_model_takes_mlflow_3_name_and_the_flavor_model_keywords() -> None:
    from sklearn.linear_model import LogisticRegression

    x, y = _data()
    model = LogisticRegression().fit(x, y)
    with mlcore.start_run() as run:
        info = mlcore.sklearn.log_model(sk_model=model, name="classifier", input_example=x[:3])
        generic = mlcore.log_model(model, name="generic")
        handle = run.log_model(model, name="on-handle")
    assert info.model_uri == f"runs:/{run.id}/classifier"
    assert generic.artifact_path == "generic" and handle.artifact_path == "on-handle"
    loaded = mlcore.sklearn.load_model(info.model_uri)
    assert loaded.predict(x).tolist() == model.predict(x).tolist()
    with mlcore.start_run():
        assert mlcore.log_model(model).artifact_path == "model"  # the default is unchanged


def test_flavor_modules_take_their_mlflow_model_keyword(tmp_path: Path) -> None:
    import torch
    import xgboost as xgb

    x, y = _data()
    booster = xgb.XGBClassifier(n_estimators=3).fit(x, y)
    mlcore.xgboost.save_model(xgb_model=booster, path=tmp_path / "xgb")
    net = torch.nn.Linear(3, 1)
    spec = mlcore.torch.save_model(pytorch_model=net, path=tmp_path / "torch")
    assert spec.flavor == "torch"
    with mlcore.start_run():
        info = mlcore.xgboost.log_model(xgb_model=booster, name="booster")
    assert info.flavor == "xgboost"
    with pytest.raises(TypeError, match="missing the model"):
        mlcore.sklearn.save_model(path=tmp_path / "nothing")


def test_both_spellings_of_one_argument_are_a_type_error_that_creates_nothing(
    tmp_path: Path,
) -> None:
    from sklearn.linear_model import LogisticRegression

    x, y = _data()
    model = LogisticRegression().fit(x, y)
    with pytest.raises(TypeError, match="both name= and run_name="):
        mlcore.start_run(name="a", run_name="b")
    assert mlcore.active_run() is None
    assert mlcore.search_runs(output_format="list") == []
    with mlcore.start_run() as run:
        with pytest.raises(TypeError, match="both artifact_path= and name="):
            mlcore.log_model(model, "m", name="n")
        with pytest.raises(TypeError, match="both model= and sk_model="):
            mlcore.sklearn.log_model(model, sk_model=model)
    assert mlcore.Tracker(str(tmp_path / "store")).list_artifacts(run.id) == []
    with pytest.raises(TypeError, match="both filter= and filter_string="):
        mlcore.search_runs(filter="params.a = '1'", filter_string="params.a = '2'")
    with pytest.raises(TypeError, match="both experiment_ids= and experiment_names="):
        mlcore.search_runs(experiment_ids=["0"], experiment_names=["Default"])
    with pytest.raises(TypeError, match="archive_existing= and archive_existing_versions="):
        Registry().transition_stage("m", 1, "Production", True, archive_existing_versions=True)


def test_search_runs_takes_mlflow_arguments_and_output_formats() -> None:
    mlcore.set_experiment("a")
    for lr in (0.1, 0.2, 0.3):
        with mlcore.start_run(run_name=f"lr-{lr}"):
            mlcore.log_param("lr", lr)
            mlcore.log_metric("loss", lr * 2)
    mlcore.set_experiment("b")
    with mlcore.start_run(run_name="other"):
        mlcore.log_param("lr", 0.1)

    frame = mlcore.search_runs(
        experiment_names=["a"], filter_string="params.lr != '0.2'", output_format="pandas"
    )
    assert isinstance(frame, pd.DataFrame)
    assert sorted(frame["run_name"]) == ["lr-0.1", "lr-0.3"]
    assert sorted(frame["metrics.loss"]) == [0.2, pytest.approx(0.6)]
    runs = mlcore.search_runs(experiment_names=["a", "b"], output_format="list", max_results=3)
    assert type(runs) is list and len(runs) == 3
    a_id = mlcore.get_tracker().get_experiment_by_name("a").experiment_id  # type: ignore[union-attr]
    page = mlcore.search_runs(experiment_ids=[a_id], filter_string="params.lr = '0.2'")
    assert [r.info.name for r in page] == ["lr-0.2"]
    tracker = mlcore.get_tracker()
    assert len(tracker.search_runs(experiment_names=["b"], filter_string="")) == 1
    with pytest.raises(mlcore.errors.InvalidInputError, match="output_format"):
        mlcore.search_runs(output_format="table")  # type: ignore[call-overload]


def test_tracker_search_experiments_and_get_metric_history(store: str) -> None:
    tracker = Tracker(store)
    first = tracker.create_experiment("credit-2024", tags={"team": "risk"}).experiment_id
    tracker.create_experiment("credit-2025", tags={"team": "growth"})
    tracker.create_experiment("churn")
    names = [e.name for e in tracker.search_experiments(filter_string="name LIKE 'credit%'")]
    assert sorted(names) == ["credit-2024", "credit-2025"]
    risk = tracker.search_experiments(filter_string="tags.team = 'risk'")
    assert [e.experiment_id for e in risk] == [first]
    ordered = tracker.search_experiments(order_by=["name DESC"], max_results=2)
    assert [e.name for e in ordered] == ["credit-2025", "credit-2024"]
    tracker.delete_experiment(first)
    assert "credit-2024" not in [e.name for e in tracker.search_experiments()]
    assert "credit-2024" in [e.name for e in tracker.search_experiments(view_type="all")]

    with tracker.start_run(run_name="history") as run:
        for step, value in enumerate([0.5, 0.25, 0.125]):
            run.log_metric("loss", value, step=step)
    history = tracker.get_metric_history(run.id, "loss")
    assert all(isinstance(m, Metric) for m in history)
    assert [(m.key, m.step, m.value) for m in history] == [
        ("loss", 0, 0.5),
        ("loss", 1, 0.25),
        ("loss", 2, 0.125),
    ]
    tracker.close()


def test_registry_answers_to_mlflow_client_method_names() -> None:
    from sklearn.linear_model import LogisticRegression

    x, y = _data()
    with mlcore.start_run() as run:
        mlcore.sklearn.log_model(LogisticRegression().fit(x, y), name="model")
    client = MlflowClient()
    for _ in range(3):
        client.create_model_version("credit", f"runs:/{run.id}/model")
    client.transition_model_version_stage("credit", 1, "Production")
    moved = client.transition_model_version_stage(
        "credit", 2, "Production", archive_existing_versions=True
    )
    assert moved.current_stage == "Production"
    assert client.get_model_version("credit", 1).current_stage == "Archived"
    assert [v.version for v in client.get_latest_versions("credit", ["Production"])] == [2]

    found = client.search_model_versions("name = 'credit'", max_results=2)
    assert len(found) == 2 and found.next_page_token is not None
    client.update_model_version("credit", 3, "third")
    assert client.get_model_version("credit", 3).description == "third"
    client.set_model_version_tag("credit", 3, "k", "v")
    client.delete_model_version_tag("credit", 3, "k")
    assert client.get_model_version("credit", 3).tags == {}
    client.delete_model_version("credit", 3)
    assert {v.version for v in client.search_model_versions("name = 'credit'")} == {1, 2}

    download = client.get_model_version_download_uri("credit", 2)
    assert download == mlcore.get_tracker().artifact_store(run.id).uri("model")

    client.set_registered_model_alias("credit", "champion", 2)
    client.delete_registered_model_alias("credit", "champion")
    assert client.get_registered_model("credit").aliases == {}
    client.set_registered_model_tag("credit", "team", "risk")
    client.update_registered_model("credit", "scores credit")
    model = client.get_registered_model("credit")
    assert model.tags == {"team": "risk"} and model.description == "scores credit"
    client.delete_registered_model_tag("credit", "team")
    client.rename_registered_model("credit", "credit-v2")
    assert [m.name for m in client.search_registered_models("name LIKE 'credit%'")] == ["credit-v2"]
    assert client.get_registered_model("credit-v2").tags == {}
    client.delete_registered_model("credit-v2")
    assert list(client.search_registered_models()) == []
