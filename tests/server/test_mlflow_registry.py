"""The stock ``mlflow`` client's model registry and MLflow 3 logged models against ``mlcore
server``: the registry flows of the seed documents (register, stages, aliases, version tags,
search, loading registered models) run unchanged, and every value reads back through
``mlcore.Registry`` too."""

from __future__ import annotations

from typing import Any

import pytest

from mlcore.registry import Registry
from mlcore.tracking import Tracker
from tests.peers import peer_python, run_peer


@pytest.fixture(scope="module", autouse=True)
def _mlflow_venv() -> None:
    peer_python("mlflow")  # skips (or fails under MLCORE_REQUIRE_SERVICES=1) without it


def mlflow_run(url: str, script: str) -> Any:
    return run_peer("mlflow", script, env={"MLFLOW_TRACKING_URI": url})


def test_registry_flows_of_the_seed_documents(server_url: str) -> None:
    got = mlflow_run(
        server_url,
        """
        import json, os, tempfile, mlflow
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException
        client = MlflowClient()
        def code(call):
            try:
                call()
            except MlflowException as exc:
                return exc.error_code
        folder = tempfile.mkdtemp()
        with open(os.path.join(folder, "MLmodel"), "w") as f:
            f.write("flavors: {}\\n")
        mlflow.set_experiment("registry-seed")
        with mlflow.start_run() as run:
            mlflow.log_artifacts(folder, artifact_path="model")
        name = "credit-scoring-production"
        v1 = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
        v2 = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
        client.transition_model_version_stage(name=name, version=v1.version, stage="Staging")
        client.set_model_version_tag(name=name, version=v1.version, key="description",
                                     value="XGBoost model trained on 2025-12 dataset")
        client.transition_model_version_stage(name, v1.version, "Production")
        client.transition_model_version_stage(name, v2.version, "production",
                                              archive_existing_versions=True)
        client.set_registered_model_alias(name, "champion", v2.version)
        client.set_registered_model_alias(name, "old", v1.version)
        client.delete_registered_model_alias(name, "old")
        client.set_registered_model_tag(name, "team", "risk")
        client.update_registered_model(name, description="credit scoring")
        client.update_model_version(name, v2.version, description="second")
        by_alias = client.get_model_version_by_alias(name, "champion")
        model = client.get_registered_model(name)
        latest = client.get_latest_versions(name, stages=["Production", "Archived"])
        found = client.search_model_versions(f"name = '{name}'", order_by=["version_number DESC"])
        by_run = client.search_model_versions(f"run_id = '{run.info.run_id}'")
        models = client.search_registered_models(filter_string="name LIKE 'credit%'")
        uri = client.get_model_version_download_uri(name, v2.version)
        client.create_registered_model("to-rename", tags={"k": "v"})
        client.rename_registered_model("to-rename", "renamed")
        client.delete_registered_model_tag("renamed", "k")
        client.create_registered_model("gone")
        client.delete_registered_model("gone")
        errors = {
            "missing_model": code(lambda: client.get_registered_model("nope")),
            "missing_version": code(lambda: client.get_model_version(name, "99")),
            "missing_alias": code(lambda: client.get_model_version_by_alias(name, "none")),
            "duplicate": code(lambda: client.create_registered_model(name)),
            "bad_stage": code(lambda: client.transition_model_version_stage(name, "1", "Live")),
            "bad_source": code(lambda: client.create_model_version(name, "file:///etc")),
        }
        print(json.dumps({
            "run_id": run.info.run_id,
            "versions": [v1.version, v2.version],
            "source": v1.source,
            "by_alias": by_alias.version,
            "aliases": model.aliases,
            "tags": model.tags,
            "description": model.description,
            "latest": [[v.version, v.current_stage] for v in latest],
            "found": [[v.version, v.current_stage, v.tags, v.description] for v in found],
            "by_run": sorted(v.version for v in by_run),
            "models": [m.name for m in models],
            "uri": uri,
            "renamed": client.get_registered_model("renamed").tags,
            "gone": code(lambda: client.get_registered_model("gone")),
            "errors": errors,
        }))
        """,
    )
    name = "credit-scoring-production"
    assert got["versions"] == ["1", "2"]
    assert got["source"].startswith("mlflow-artifacts:/") and got["source"].endswith("/model")
    assert got["by_alias"] == "2" and got["aliases"] == {"champion": "2"}
    assert got["tags"] == {"team": "risk"} and got["description"] == "credit scoring"
    assert got["latest"] == [["2", "Production"], ["1", "Archived"]]
    assert got["found"] == [
        ["2", "Production", {}, "second"],
        ["1", "Archived", {"description": "XGBoost model trained on 2025-12 dataset"}, None],
    ]
    assert got["by_run"] == ["1", "2"]
    assert got["models"] == [name]
    assert got["uri"] == got["source"]
    assert got["renamed"] == {} and got["gone"] == "RESOURCE_DOES_NOT_EXIST"
    assert got["errors"] == {
        "missing_model": "RESOURCE_DOES_NOT_EXIST",
        "missing_version": "RESOURCE_DOES_NOT_EXIST",
        "missing_alias": "RESOURCE_DOES_NOT_EXIST",
        "duplicate": "RESOURCE_ALREADY_EXISTS",
        "bad_stage": "INVALID_PARAMETER_VALUE",
        "bad_source": "INVALID_PARAMETER_VALUE",
    }
    registry = Registry(tracker=Tracker(server_url))  # the same registry, read by mlcore
    model = registry.get_model(name)
    assert model.description == "credit scoring" and model.tags == {"team": "risk"}
    assert model.aliases == {"champion": 2}
    first, second = registry.get_version(name, 1), registry.get_version(name, 2)
    assert first.stage.value == "Archived" and second.stage.value == "Production"
    assert first.tags == {"description": "XGBoost model trained on 2025-12 dataset"}
    assert first.run_id == got["run_id"] and second.description == "second"
    assert registry.get_version(name, "@champion").version == 2
    assert registry.get_model("renamed").tags == {}


def test_mlcore_versions_read_through_mlflow(server_url: str) -> None:
    registry = Registry(tracker=Tracker(server_url))
    registry.create_model("made-by-mlcore", description="from mlcore", tags={"owner": "ann"})
    got = mlflow_run(
        server_url,
        """
        import json
        from mlflow import MlflowClient
        model = MlflowClient().get_registered_model("made-by-mlcore")
        print(json.dumps([model.description, model.tags, model.latest_versions]))
        """,
    )
    assert got == ["from mlcore", {"owner": "ann"}, []]


def test_sklearn_log_model_register_and_load(server_url: str) -> None:
    got = mlflow_run(
        server_url,
        """
        import json, mlflow, numpy as np
        from mlflow import MlflowClient
        from sklearn.linear_model import LogisticRegression
        X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
        y = np.array([0, 1, 0, 1])
        model = LogisticRegression().fit(X, y)
        with mlflow.start_run() as run:  # no experiment set: MLflow's default, id "0"
            mlflow.log_param("C", 1.0)
            info = mlflow.sklearn.log_model(model, name="m", registered_model_name="credit")
        run_id = run.info.run_id
        second = mlflow.register_model(f"runs:/{run_id}/m", "credit")
        expected = model.predict(X).tolist()
        loads = {
            "models_version": mlflow.sklearn.load_model("models:/credit/1").predict(X).tolist(),
            "models_id": mlflow.sklearn.load_model(f"models:/{info.model_id}").predict(X).tolist(),
            "runs": mlflow.pyfunc.load_model(f"runs:/{run_id}/m").predict(X).tolist(),
            "second": mlflow.pyfunc.load_model("models:/credit/2").predict(X).tolist(),
        }
        client = MlflowClient()
        client.transition_model_version_stage("credit", "2", "Production")
        client.set_registered_model_alias("credit", "champion", "1")
        for uri in ("models:/credit/Production", "models:/credit@champion", "models:/credit/latest"):
            loads[uri] = mlflow.pyfunc.load_model(uri).predict(X).tolist()
        found = client.search_logged_models(experiment_ids=[run.info.experiment_id],
                                            filter_string="name = 'm'")
        version = client.get_model_version("credit", "1")
        print(json.dumps({
            "expected": expected, "loads": loads, "run_id": run_id,
            "experiment_id": run.info.experiment_id,
            "default_name": client.get_experiment("0").name,
            "default_runs": len(mlflow.search_runs()),
            "model_id": info.model_id, "found": [m.model_id for m in found],
            "status": str(client.get_logged_model(info.model_id).status),
            "version_source": version.source, "version_run": version.run_id,
            "second_source": second.source,
            "location": client.get_logged_model(info.model_id).artifact_location,
        }))
        """,
    )
    assert all(v == got["expected"] for v in got["loads"].values()), got["loads"]
    assert got["default_name"] == "Default" and got["default_runs"] == 1
    assert got["found"] == [got["model_id"]] and "READY" in got["status"]
    assert got["version_source"] == got["location"] == got["second_source"]
    assert got["version_run"] == got["run_id"]
    tracker = Tracker(server_url)  # the same store: mlcore's default experiment, its registry
    run = tracker.get_run(got["run_id"])
    assert run.data.params == {"C": "1.0"}
    default = tracker.store.get_experiment_by_name("Default")
    assert default is not None and run.info.experiment_id == default.experiment_id
    registry = Registry(tracker=tracker)
    versions = registry.search_versions("name = 'credit'", ["version ASC"])
    assert [(v.version, v.run_id) for v in versions] == [(1, got["run_id"]), (2, got["run_id"])]
    assert versions[0].source.endswith(f"/models/{got['model_id']}/artifacts")
