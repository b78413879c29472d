"""The stock ``mlflow`` client (its own virtualenv) against ``mlcore server``'s MLflow REST API:
what it logs is an ordinary mlcore run, what mlcore logs shows in ``mlflow.search_runs``, errors
are the ``MlflowException`` codes MLflow users catch, tokens and path checks still hold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mlcore.server import Server
from mlcore.tracking import Tracker
from tests.peers import peer_python, run_peer

WRITE_TOKEN = "w" * 24
READ_TOKEN = "r" * 24


@pytest.fixture(scope="module", autouse=True)
def _mlflow_venv() -> None:
    peer_python("mlflow")  # skips (or fails under MLCORE_REQUIRE_SERVICES=1) without it


def mlflow_run(url: str, script: str, token: str | None = None) -> object:
    env = {"MLFLOW_TRACKING_URI": url}
    if token:
        env["MLFLOW_TRACKING_TOKEN"] = token
    return run_peer("mlflow", script, env=env)


def test_fluent_runs_are_mlcore_runs(server_url: str) -> None:
    got = mlflow_run(
        server_url,
        """
        import json, mlflow
        from mlflow import MlflowClient
        mlflow.set_experiment("credit-scoring-model")
        with mlflow.start_run(run_name="xgboost-v2") as run:
            mlflow.log_param("learning_rate", 0.05)
            mlflow.log_params({"max_depth": 6, "n_estimators": 500})
            mlflow.log_metric("accuracy", 0.91)
            for step in range(5):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
            mlflow.log_metrics({"f1": 0.8, "auc": 0.93})
            mlflow.set_tag("team", "risk")
            mlflow.set_tags({"stage": "dev", "odd key": "x"})
            with mlflow.start_run(run_name="child", nested=True) as child:
                mlflow.log_metric("auc", 0.7)
        client = MlflowClient()
        history = client.get_metric_history(run.info.run_id, "loss")
        fetched = client.get_run(child.info.run_id)
        print(json.dumps({
            "run_id": run.info.run_id, "child_id": child.info.run_id,
            "history": [[m.step, m.value] for m in history],
            "child_parent": fetched.data.tags.get("mlflow.parentRunId"),
            "child_name": fetched.info.run_name, "status": fetched.info.status,
            "artifact_uri": fetched.info.artifact_uri,
        }))
        """,
    )
    assert isinstance(got, dict)
    assert got["history"] == [[s, 1.0 / (s + 1)] for s in range(5)]
    assert got["child_parent"] == got["run_id"] and got["child_name"] == "child"
    assert got["status"] == "FINISHED"
    assert got["artifact_uri"].startswith("mlflow-artifacts:/")
    tracker = Tracker(server_url)
    run = tracker.get_run(got["run_id"])
    assert run.info.name == "xgboost-v2" and run.info.status.value == "FINISHED"
    assert run.data.params == {"learning_rate": "0.05", "max_depth": "6", "n_estimators": "500"}
    assert run.data.metrics == {"accuracy": 0.91, "loss": 0.2, "f1": 0.8, "auc": 0.93}
    assert run.data.tags["team"] == "risk" and run.data.tags["odd key"] == "x"
    assert not any(k in run.data.tags for k in ("mlflow.runName", "mlflow.parentRunId"))
    assert run.info.user  # mlflow.user became the run's user
    assert tracker.get_run(got["child_id"]).info.parent_run_id == got["run_id"]
    loss = tracker.metric_history(got["run_id"], "loss")
    assert loss.column("value").to_pylist() == [1.0 / (s + 1) for s in range(5)]


def test_search_runs_filters_order_and_pages(server_url: str) -> None:
    tracker = Tracker(server_url)
    for name, model, auc, stage in [
        ("a", "xgb", 0.95, "dev"),
        ("b", "xgb", 0.85, "prod"),
        ("c", "rf", 0.91, "dev"),
        ("d", "lr", 0.70, None),
    ]:  # logged by mlcore, searched by mlflow
        with tracker.start_run(
            "searching",
            name=name,
            config={"model": model},
            tags={"stage": stage} if stage else None,
        ) as run:
            run.log_metric("val auc", auc)
    got = mlflow_run(
        server_url,
        """
        import json, mlflow
        from mlflow import MlflowClient
        def names(**kw):
            return list(mlflow.search_runs(experiment_names=["searching"], **kw)["tags.mlflow.runName"])
        client = MlflowClient()
        eid = client.get_experiment_by_name("searching").experiment_id
        first = client.search_runs([eid], order_by=["attributes.run_name ASC"], max_results=3)
        second = client.search_runs([eid], order_by=["attributes.run_name ASC"], max_results=3,
                                    page_token=first.token)
        print(json.dumps({
            "all": names(order_by=["metrics.`val auc` DESC"]),
            "metric": names(filter_string="metrics.`val auc` > 0.9", order_by=["attributes.run_name"]),
            "param_and_tag": names(filter_string="params.model = 'xgb' and tags.stage != 'prod'"),
            "in": names(filter_string="tag.stage IN ('dev', 'prod')", order_by=["run_name DESC"]),
            "like": names(filter_string="attributes.run_name ILIKE 'A%'"),
            "name_tag": names(filter_string="tags.mlflow.runName = 'c'"),
            "pages": [[r.info.run_name for r in first], first.token is not None,
                      [r.info.run_name for r in second], second.token],
        }))
        """,
    )
    assert got == {
        "all": ["a", "c", "b", "d"],
        "metric": ["a", "c"],
        "param_and_tag": ["a"],
        "in": ["c", "b", "a"],
        "like": ["a"],
        "name_tag": ["c"],
        "pages": [["a", "b", "c"], True, ["d"], None],
    }


def test_experiments_lifecycle_and_errors(server_url: str) -> None:
    got = mlflow_run(
        server_url,
        """
        import json
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException
        client = MlflowClient()
        def code(call):
            try:
                call()
            except MlflowException as exc:
                return exc.error_code
        eid = client.create_experiment("exp-life", tags={"owner": "ann"})
        client.set_experiment_tag(eid, "k", "v")
        client.rename_experiment(eid, "exp-life-2")
        duplicate = code(lambda: client.create_experiment("exp-life-2"))
        client.delete_experiment(eid)
        deleted = client.get_experiment(eid).lifecycle_stage
        active_names = [e.name for e in client.search_experiments()]
        deleted_names = [e.name for e in client.search_experiments(view_type=2)]
        client.restore_experiment(eid)
        found = client.search_experiments(filter_string="name LIKE 'exp-life%'")
        run = client.create_run(eid)
        missing = code(lambda: client.get_run("0" * 32))
        missing_experiment = code(lambda: client.get_experiment("987654"))
        client.log_param(run.info.run_id, "p", "1")
        conflict = code(lambda: client.log_param(run.info.run_id, "p", "2"))
        client.set_tag(run.info.run_id, "gone", "x")
        client.delete_tag(run.info.run_id, "gone")
        client.set_terminated(run.info.run_id, "KILLED")
        client.delete_run(run.info.run_id)
        after_delete = client.get_run(run.info.run_id).info.lifecycle_stage
        client.restore_run(run.info.run_id)
        print(json.dumps({
            "duplicate": duplicate, "deleted": deleted,
            "hidden": "exp-life-2" not in active_names, "in_deleted": "exp-life-2" in deleted_names,
            "found": [(e.name, e.tags) for e in found], "missing": missing,
            "missing_experiment": missing_experiment, "conflict": conflict,
            "after_delete": after_delete, "run_id": run.info.run_id,
            "name": run.info.run_name,
        }))
        """,
    )
    assert isinstance(got, dict)
    assert got["duplicate"] == "RESOURCE_ALREADY_EXISTS"
    assert got["deleted"] == "deleted" and got["hidden"] and got["in_deleted"]
    assert got["found"] == [["exp-life-2", {"owner": "ann", "k": "v"}]]
    assert got["missing"] == "RESOURCE_DOES_NOT_EXIST"
    assert got["missing_experiment"] == "RESOURCE_DOES_NOT_EXIST"
    assert got["conflict"] == "INVALID_PARAMETER_VALUE"
    assert got["after_delete"] == "deleted"
    run = Tracker(server_url).get_run(got["run_id"])
    assert run.info.status.value == "KILLED" and run.info.lifecycle_stage.value == "active"
    assert run.info.name == got["name"] and "gone" not in run.data.tags


def test_log_batch_beyond_mlflow_limits_is_invalid_parameter(server_url: str) -> None:
    active = Tracker(server_url).start_run("limits", name="r")
    run_id = active.info.run_id
    base = server_url + "/api/2.0/mlflow/runs/log-batch"
    metrics = [{"key": "m", "value": 1.0, "timestamp": 1, "step": i} for i in range(1001)]
    too_many = httpx.post(base, json={"run_id": run_id, "metrics": metrics})
    long_param = httpx.post(
        base, json={"run_id": run_id, "params": [{"key": "p", "value": "x" * 6001}]}
    )
    bad_value = httpx.post(
        base, json={"run_id": run_id, "metrics": [{"key": "m", "value": "high"}]}
    )
    for response in (too_many, long_param, bad_value):
        assert response.status_code == 400
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    active.end()
    assert Tracker(server_url).get_run(run_id).data.metrics == {}  # nothing stored
    missing = httpx.get(server_url + "/ajax-api/2.0/mlflow/runs/get", params={"run_id": "f" * 32})
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_artifacts_through_the_proxy(server_url: str, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello")
    (tmp_path / "sub" / "deep").mkdir(parents=True)
    (tmp_path / "sub" / "deep" / "b.txt").write_text("bee")
    got = mlflow_run(
        server_url,
        f"""
        import json, os, mlflow
        from mlflow import MlflowClient
        mlflow.set_experiment("arts")
        with mlflow.start_run() as run:
            mlflow.log_artifact({str(tmp_path / "a.txt")!r})
            mlflow.log_artifacts({str(tmp_path / "sub")!r}, artifact_path="dir")
            mlflow.log_text("some notes", "notes/n.txt")
        client = MlflowClient()
        out = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="dir")
        print(json.dumps({{
            "run_id": run.info.run_id,
            "top": [f.path for f in client.list_artifacts(run.info.run_id)],
            "sub": [f.path for f in client.list_artifacts(run.info.run_id, "dir/deep")],
            "got": open(os.path.join(out, "deep", "b.txt")).read(),
            "text": mlflow.artifacts.load_text(run.info.artifact_uri + "/notes/n.txt"),
        }}))
        """,
    )
    assert isinstance(got, dict)
    assert got["top"] == ["a.txt", "dir", "notes"]
    assert got["sub"] == ["dir/deep/b.txt"]
    assert got["got"] == "bee" and got["text"] == "some notes"
    tracker = Tracker(server_url)  # mlcore reads the same files, with their recorded hashes
    assert tracker.download_artifacts(got["run_id"], "a.txt", str(tmp_path / "back"))
    assert (tmp_path / "back" / "a.txt").read_text() == "hello"
    for attack in ("..%2f..%2fetc/passwd", "x/%2e%2e/%2e%2e/y", "..%252f..%252fz"):
        response = httpx.put(
            f"{server_url}/api/2.0/mlflow-artifacts/artifacts/{attack}", content=b"x"
        )
        assert response.status_code == 400, attack
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


@pytest.fixture(scope="module")
def token_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("tokens")
    srv = Server.tracking(
        store=f"sqlite:///{home}/mlcore.db",
        artifacts=str(home / "artifacts"),
        tokens={WRITE_TOKEN: "write", READ_TOKEN: "read"},
    )
    yield srv.start()
    srv.stop()


def test_tokens_and_scopes_apply(token_url: str) -> None:
    script = """
        import json, mlflow
        from mlflow.exceptions import MlflowException
        try:
            mlflow.set_experiment("scoped")
            with mlflow.start_run():
                mlflow.log_metric("m", 1.0)
            outcome = "ok"
        except MlflowException as exc:
            outcome = exc.error_code
        print(json.dumps({"outcome": outcome,
                          "runs": len(mlflow.search_runs(search_all_experiments=True))}))
    """
    assert mlflow_run(token_url, script, token=WRITE_TOKEN) == {"outcome": "ok", "runs": 1}
    assert mlflow_run(token_url, script, token=READ_TOKEN) == {
        "outcome": "PERMISSION_DENIED",
        "runs": 1,
    }
    anonymous = httpx.get(
        token_url + "/api/2.0/mlflow/experiments/get", params={"experiment_id": "1"}
    )
    assert anonymous.status_code == 401
    assert anonymous.json()["error_code"] == "UNAUTHENTICATED"


def test_dataset_inputs_and_sampled_histories(server_url: str) -> None:
    got = mlflow_run(
        server_url,
        """
        import json, mlflow, pandas as pd, requests
        from mlflow import MlflowClient
        mlflow.set_experiment("inputs")
        frame = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
        with mlflow.start_run() as run:
            mlflow.log_input(mlflow.data.from_pandas(frame, name="train"), context="training")
            for step in range(300):
                mlflow.log_metric("m", step, step=step)
        fetched = MlflowClient().get_run(run.info.run_id)
        uri = mlflow.get_tracking_uri() + "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval"
        bulk = requests.get(uri, params={"run_ids": [run.info.run_id], "metric_key": "m",
                                         "max_results": 10}).json()
        print(json.dumps({
            "inputs": [[d.dataset.name, [t.value for t in d.tags]]
                       for d in fetched.inputs.dataset_inputs],
            "steps": [m["step"] for m in bulk["metrics"]],
            "tags": sorted(fetched.data.tags),
        }))
        """,
    )
    assert isinstance(got, dict)
    assert got["inputs"] == [["train", ["training"]]]
    assert got["steps"] == [0, 33, 66, 100, 133, 166, 199, 233, 266, 299]  # first and last kept
    assert not any(t.startswith("mlcore.") for t in got["tags"])  # inputs are not tags to MLflow
