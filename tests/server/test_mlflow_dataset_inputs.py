"""Dataset inputs (``mlflow.log_input``) are one thing in mlcore, however they arrived: dataset
artifact versions the run used. An imported run's inputs read back through the ``mlflow``
client from ``mlcore server`` exactly as MLflow's own store answers them, and inputs the client
logs are mlcore lineage."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from mlcore.importers.mlflow import import_mlflow
from mlcore.server import Server
from mlcore.stores.artifact_versions_api import manifest_digest
from mlcore.stores.file import FileStore
from mlcore.tracking import Tracker
from tests.importers.mlflow_sources import make_source
from tests.peers import peer_python, run_peer

READ_INPUTS = """
import json, sys
from mlflow import MlflowClient
client = MlflowClient(sys.argv[1])
def inputs(run):
    return [
        {"name": d.dataset.name, "digest": d.dataset.digest,
         "source_type": d.dataset.source_type, "source": d.dataset.source,
         "schema": d.dataset.schema, "profile": d.dataset.profile,
         "tags": {t.key: t.value for t in d.tags}}
        for d in run.inputs.dataset_inputs
    ]
run = client.get_run(sys.argv[2])
found = client.search_runs([run.info.experiment_id], f"attributes.run_id = '{sys.argv[2]}'")
print(json.dumps({"get": inputs(run), "search": inputs(found[0]),
                  "tags": sorted(run.data.tags)}))
"""


def _read_inputs(tracking_uri: str, run_id: str) -> Any:
    script = f"import sys; sys.argv = ['x', {tracking_uri!r}, {run_id!r}]\n" + READ_INPUTS
    return run_peer("mlflow", script, env={"MLFLOW_ALLOW_FILE_STORE": "true"})


@pytest.fixture(scope="module", autouse=True)
def _mlflow_venv() -> None:
    peer_python("mlflow")


def test_an_imported_runs_inputs_read_back_through_the_mlflow_client_as_in_mlflow(
    tmp_path: Path,
) -> None:
    uri, ids = make_source("sqlite", tmp_path / "mlflow")
    in_mlflow = _read_inputs(uri, ids["parent"])  # what MLflow's own store answers
    assert in_mlflow["get"][0]["tags"] == {"mlflow.data.context": "training"}

    home = tmp_path / "mlcore"
    store = FileStore(str(home))
    assert import_mlflow(uri, store).problems == []
    assert import_mlflow(uri, store).runs_unchanged == 4  # again: no second version, no 2nd use
    (used,) = store.artifacts_of_run(ids["parent"])[1]
    assert (used.name, used.version, used.type) == ("train", 0, "dataset")
    store.close()

    server = Server.tracking(store=f"sqlite:///{home}/mlcore.db", artifacts=str(home / "art"))
    url = server.start()
    try:
        served = _read_inputs(url, ids["parent"])
    finally:
        server.stop()
    assert served["get"] == in_mlflow["get"]  # name, digest, source, schema, profile, context
    assert served["search"] == in_mlflow["get"]
    assert not any("input" in t for t in served["tags"])  # inputs are not tags


def test_inputs_the_client_logs_are_lineage_and_mlcore_inputs_show_to_the_client(
    server_url: str,
) -> None:
    got = run_peer(
        "mlflow",
        """
        import json, mlflow, pandas as pd
        mlflow.set_experiment("inputs-lineage")
        frame = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
        runs = []
        for _ in range(2):  # the same dataset twice: one version, used by both runs
            with mlflow.start_run() as run:
                dataset = mlflow.data.from_pandas(frame, name="my table/v1")
                mlflow.log_input(dataset, context="training")
                mlflow.log_input(dataset, context="training")  # logged again: nothing new
            runs.append(run.info.run_id)
        print(json.dumps(runs))
        """,
        env={"MLFLOW_TRACKING_URI": server_url},
    )
    tracker = Tracker(server_url)
    first, second = got
    (used,) = tracker.store.artifacts_of_run(first)[1]
    assert used.type == "dataset" and used.name == "my-table-v1"  # a name mlcore accepts
    assert used.metadata["mlflow_input"]["dataset"]["name"] == "my table/v1"  # kept as logged
    assert tracker.store.artifact_runs(used.name, used.version)[1] == [first, second]
    assert [v.qualified_name for v in tracker.store.artifacts_of_run(second)[1]] == [
        used.qualified_name
    ]

    # an artifact version mlcore recorded and a run used shows to the client as an input
    experiment = tracker.store.get_experiment_by_name("inputs-lineage")
    assert experiment is not None
    consumer = tracker.store.create_run(
        experiment.experiment_id, name="consumer", start_time=int(time.time() * 1000)
    )
    empty = manifest_digest([])
    tracker.store.create_artifact_version("features", "table", digest=empty, files=[])
    tracker.store.record_artifact_use("features:v0", consumer.info.run_id)
    shown = _read_inputs(server_url, consumer.info.run_id)["get"]
    assert [(d["name"], d["source_type"]) for d in shown] == [("features", "mlcore")]
    assert '"artifact:features:v0"' in shown[0]["source"]
