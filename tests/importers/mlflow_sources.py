"""Real MLflow stores for the import tests, written by the real ``mlflow`` in its venv."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from tests.peers import run_peer

__all__ = ["ADD_RUN", "POPULATE", "RUNNING", "add_run", "make_source", "running_run", "tree_digest"]

#: experiments, nested runs, FAILED/KILLED, params, tags, metric steps and NaN, artifact
#: files and folders, a dataset input, an MLflow 3 logged model, the registry
POPULATE = """
import json, os, sys, warnings
warnings.filterwarnings("ignore")
import mlflow, numpy as np, pandas as pd
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression
uri, root, work = sys.argv[1], sys.argv[2], sys.argv[3]
mlflow.set_tracking_uri(uri)
kwargs = {"artifact_location": root + "/demo"} if root else {}
mlflow.create_experiment("demo", tags={"team": "vision"}, **kwargs)
mlflow.set_experiment("demo")
os.makedirs(work + "/art/sub", exist_ok=True)
open(work + "/art/a.txt", "w").write("alpha")
open(work + "/art/sub/b.bin", "wb").write(bytes(range(256)) * 40)
ids = {}
with mlflow.start_run(run_name="parent") as parent:
    mlflow.log_params({"lr": 0.1, "layers": "3"})
    mlflow.set_tag("note", "hello")
    for step in range(5):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_metric("weird", float("nan"), step=7)
    mlflow.log_artifacts(work + "/art", "files")
    df = pd.DataFrame({"x": [1, 2], "y": [0, 1]})
    mlflow.log_input(mlflow.data.from_pandas(df, name="train"), context="training")
    model = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    info = mlflow.sklearn.log_model(model, name="clf")
    with mlflow.start_run(run_name="child", nested=True) as child:
        mlflow.log_metric("acc", 0.9, step=3)
    ids["parent"], ids["child"] = parent.info.run_id, child.info.run_id
for status in ("FAILED", "KILLED"):
    run = mlflow.start_run(run_name=status.lower())
    mlflow.log_param("p", status)
    mlflow.end_run(status)
    ids[status] = run.info.run_id
client = MlflowClient()
version = mlflow.register_model(f"runs:/{ids['parent']}/clf", "clf-model")
client.create_registered_model("empty-model", description="nothing yet", tags={"k": "v"})
client.transition_model_version_stage("clf-model", version.version, "Production")
client.set_registered_model_alias("clf-model", "champion", version.version)
client.set_model_version_tag("clf-model", version.version, "validated", "yes")
client.update_model_version("clf-model", version.version, description="first")
client.update_registered_model("clf-model", description="the classifier")
ids["model_id"] = info.model_id
print(json.dumps(ids))
"""

ADD_RUN = """
import json, sys, warnings
warnings.filterwarnings("ignore")
import mlflow
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("demo")
with mlflow.start_run(run_name="later") as run:
    mlflow.log_metric("loss", 0.01, step=1)
print(json.dumps(run.info.run_id))
"""


#: a run left RUNNING (the client, not the fluent API, so nothing ends it at exit), then
#: given more points and ended: ``start`` or ``finish``
RUNNING = """
import json, sys, warnings
warnings.filterwarnings("ignore")
from mlflow import MlflowClient
client = MlflowClient(sys.argv[1])
if sys.argv[2] == "start":
    experiment = client.get_experiment_by_name("demo").experiment_id
    run = client.create_run(experiment, run_name="still-going")
    for step in range(3):
        client.log_metric(run.info.run_id, "loss", 1.0 - step / 10, step=step)
    print(json.dumps(run.info.run_id))
else:
    for step in range(3, 6):
        client.log_metric(sys.argv[3], "loss", 1.0 - step / 10, step=step)
    client.set_terminated(sys.argv[3], "FINISHED")
    print(json.dumps(sys.argv[3]))
"""


def running_run(uri: str, action: str, run_id: str = "") -> str:
    tracking = f"file://{uri}" if "://" not in uri else uri
    env = {"MLFLOW_ALLOW_FILE_STORE": "true"}
    found: str = run_peer("mlflow", _argv(RUNNING, tracking, action, run_id), env=env)
    return found


def _argv(script: str, *args: str) -> str:
    return f"import sys; sys.argv = ['x', *{list(args)!r}]\n" + script


def make_source(kind: str, where: Path) -> tuple[str, dict[str, Any]]:
    """A populated MLflow store under ``where``: its URI and the ids the script printed."""
    where.mkdir(parents=True, exist_ok=True)
    if kind == "file":
        uri = str(where / "mlruns")
        script = _argv(POPULATE, f"file://{uri}", "", str(where / "work"))
    else:
        uri = f"sqlite:///{where / 'mlflow.db'}"
        script = _argv(POPULATE, uri, str(where / "artifacts"), str(where / "work"))
    env = {"MLFLOW_ALLOW_FILE_STORE": "true", "HOME": str(where)}
    ids = run_peer("mlflow", f"import os; os.chdir({str(where)!r})\n" + script, env=env)
    return uri, ids


def add_run(uri: str) -> str:
    tracking = f"file://{uri}" if "://" not in uri else uri
    env = {"MLFLOW_ALLOW_FILE_STORE": "true"}
    run_id: str = run_peer("mlflow", _argv(ADD_RUN, tracking), env=env)
    return run_id


def tree_digest(root: Path) -> dict[str, str]:
    """path -> sha256 of every file under ``root`` (and the folders, as empty strings)."""
    found = {}
    for current, dirs, names in os.walk(root):
        for name in dirs:
            found[os.path.relpath(os.path.join(current, name), root)] = ""
        for name in names:
            path = os.path.join(current, name)
            if os.path.islink(path):
                found[os.path.relpath(path, root)] = "link:" + os.readlink(path)
                continue
            with open(path, "rb") as handle:
                found[os.path.relpath(path, root)] = hashlib.sha256(handle.read()).hexdigest()
    return found
