"""Argo out: ``compile(..., format="argo")`` writes a ``Workflow`` that Hera's models of
Argo's published schema accept field for field; mlcore reads a container-only one back to
the same DAG (its tasks, dependencies and arguments)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mlcore.pipeline import Pipeline
from tests.peers import run_peer
from tests.pipeline import flows
from tests.pipeline.test_container_components import boxed

# Validate with hera's Workflow model (generated from Argo's JSON schema): unknown fields are
# dropped by the model, so dumping it back must give the document unchanged.
_VALIDATE = """
import json
from hera.workflows.models import Workflow
with open({path!r}) as handle:
    data = json.load(handle)
model = Workflow.model_validate(data)
again = json.loads(model.json(by_alias=True, exclude_none=True))
print(json.dumps({{"same": again == data, "again": again}}))
"""


def validate(path: str) -> dict[str, Any]:
    return run_peer("argo", _VALIDATE.format(path=path))  # type: ignore[no-any-return]


@pytest.mark.parametrize("pipeline", [boxed, flows.training], ids=["containers", "python"])
def test_the_workflow_validates_against_argos_schema(pipeline: Pipeline, tmp_path: Path) -> None:
    path = pipeline.compile(tmp_path / "wf.yaml", format="argo")
    data = yaml.safe_load(Path(path).read_text())
    assert data["kind"] == "Workflow" and data["apiVersion"] == "argoproj.io/v1alpha1"
    checked = validate(pipeline.compile(tmp_path / "wf.json", format="argo"))
    assert checked["same"], checked["again"]
    dag = next(t for t in data["spec"]["templates"] if "dag" in t)
    assert {t["name"] for t in dag["dag"]["tasks"]} == {t.name for t in pipeline.spec.tasks}
    assert len(data["spec"]["templates"]) == 1 + len(pipeline.spec.components)


def test_mlcore_reads_its_workflow_back_to_the_same_dag(tmp_path: Path) -> None:
    path = boxed.compile(tmp_path / "wf.yaml", format="argo")
    again = Pipeline.from_yaml(path)
    assert {t.name: sorted(t.after) for t in again.spec.tasks} == {
        "say": [],
        "shout": ["say"],
        "write-rows": [],
        "count": ["write-rows"],
    }
    assert again.spec.task("shout").arguments["text"].task == "say"
    assert again.spec.task("count").arguments["rows"].output == "rows"


def test_a_python_components_template_runs_its_function(tmp_path: Path) -> None:
    import subprocess
    import sys

    from mlcore.pipeline.argo import write_argo_workflow

    workflow = write_argo_workflow(boxed.spec)
    template = next(t for t in workflow["spec"]["templates"] if t["name"].startswith("shout"))
    container = template["container"]
    args = [  # what Argo does: fill the parameter; the /mlcore files are under tmp_path here
        a.replace("{{inputs.parameters.text}}", "hey").replace("/mlcore", str(tmp_path))
        for a in container["args"]
    ]
    done = subprocess.run([sys.executable, *container["command"][1:], *args], check=False)
    assert done.returncode == 0
    assert (tmp_path / "outputs" / "parameters" / "Output").read_text() == "HEY"
    outputs = template["outputs"]["parameters"]
    assert outputs == [
        {"name": "Output", "valueFrom": {"path": "/mlcore/outputs/parameters/Output"}}
    ]
