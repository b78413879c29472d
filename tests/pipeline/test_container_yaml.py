"""Plain YAML pipelines of container steps (the seed's Kubeflow ``kind: Pipeline`` and an
Argo ``Workflow`` DAG) read by ``Pipeline.from_yaml`` and run by ``mlcore pipeline run`` on
the host runtime."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlcore.cli import main as cli_main
from mlcore.pipeline import Pipeline

SEED = """\
apiVersion: kubeflow.org/v1alpha2
kind: Pipeline
metadata:
  name: ml-training-pipeline
spec:
  pipelineSpec:
    tasks:
    - name: preprocess-data
      container:
        image: my-preprocess:latest
        command: ["python", "preprocess.py"]
        args: ["--input", "gs://bucket/raw data.csv",
               "--output", "{{$.outputs.artifacts.preprocessed.path}}"]
      outputs:
        artifacts:
        - name: preprocessed
          path: /data/preprocessed.csv
    - name: train-model
      container:
        image: my-trainer:latest
        command: ["python", "train.py"]
        args: ["--data", "{{$.inputs.artifacts.preprocessed.path}}",
               "--model", "{{$.outputs.artifacts.model.path}}"]
      inputs:
        artifacts:
        - name: preprocessed
          task: preprocess-data
          path: /data/input.csv
      outputs:
        artifacts:
        - name: model
          path: /model/model.pkl
    - name: evaluate-model
      container:
        image: my-evaluator:latest
        command: ["python", "evaluate.py"]
        args: ["--model", "{{$.inputs.artifacts.model.path}}",
               "--metrics", "{{$.outputs.artifacts.metrics.path}}"]
      inputs:
        artifacts:
        - name: model
          task: train-model
          path: /model/input.pkl
"""

ARGO = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: distributed-training-
spec:
  entrypoint: distributed-training
  arguments:
    parameters:
    - name: rows
      value: "4"
  templates:
  - name: distributed-training
    dag:
      tasks:
      - name: preprocess
        template: preprocess-container
        arguments:
          parameters:
          - name: rows
            value: "{{workflow.parameters.rows}}"
      - name: train-distributed
        template: train-container
        dependencies: [preprocess]
        arguments:
          artifacts:
          - name: data
            from: "{{tasks.preprocess.outputs.artifacts.data}}"
      - name: evaluate
        template: evaluate-container
        dependencies: [train-distributed]
        arguments:
          parameters:
          - name: lines
            value: "{{tasks.train-distributed.outputs.parameters.lines}}"
  - name: preprocess-container
    inputs:
      parameters:
      - name: rows
    outputs:
      artifacts:
      - name: data
        path: /tmp/out/data.txt
    container:
      image: alpine:3
      command: [sh, -c]
      args: ["seq {{inputs.parameters.rows}} > /tmp/out/data.txt"]
  - name: train-container
    inputs:
      artifacts:
      - name: data
        path: /tmp/in/data.txt
    outputs:
      parameters:
      - name: lines
        valueFrom:
          path: /tmp/out/lines.txt
    container:
      image: alpine:3
      command: [sh, -c]
      args: ["wc -l < /tmp/in/data.txt | tr -d ' ' > /tmp/out/lines.txt"]
  - name: evaluate-container
    inputs:
      parameters:
      - name: lines
    container:
      image: alpine:3
      command: [sh, -c, "test {{inputs.parameters.lines}} -gt 0"]
"""


def test_the_seeds_kubeflow_yaml_reads_as_three_container_steps(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(SEED)
    spec = Pipeline.from_yaml(path).spec
    assert spec.name == "ml-training-pipeline"
    assert [t.name for t in spec.tasks] == ["preprocess-data", "train-model", "evaluate-model"]
    train = spec.task("train-model")
    assert train.arguments["preprocessed"].task == "preprocess-data"
    component = spec.components["train-model"]
    assert component.image == "my-trainer:latest" and component.container is not None
    assert component.container.args == [
        "--data",
        "{{$.inputs.artifacts['preprocessed'].path}}",
        "--model",
        "{{$.outputs.artifacts['model'].path}}",
    ]


def test_the_seeds_form_runs_on_the_host_runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = SEED.replace('["python", "preprocess.py"]', '["sh", "-c", "echo a,b > $4", "x"]')
    text = text.replace('["python", "train.py"]', '["sh", "-c", "cp $2 $4", "x"]')
    text = text.replace('["python", "evaluate.py"]', '["sh", "-c", "grep a, $2 > $4", "x"]')
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    monkeypatch.setenv("MLCORE_CONTAINER_RUNTIME", "host")
    result = Pipeline.from_yaml(path).run(tracking_uri=f"sqlite:///{tmp_path / 'm.db'}")
    assert result.status == "SUCCEEDED", {n: s.error for n, s in result.steps.items()}


def test_mlcore_pipeline_run_reads_an_argo_dag_of_container_templates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "workflow.yaml"
    path.write_text(ARGO)
    spec = Pipeline.from_yaml(path).spec
    assert spec.name == "distributed-training"
    assert spec.task("evaluate").after == ["train-distributed"]
    monkeypatch.setenv("MLCORE_CONTAINER_RUNTIME", "host")
    uri = f"sqlite:///{tmp_path / 'cli.db'}"
    code = cli_main(
        ["pipeline", "run", str(path), "--arg", "rows=5", "--tracking-uri", uri, "--json"]
    )
    printed = json.loads(capsys.readouterr().out)
    assert code == 0, printed
    assert printed["status"] == "SUCCEEDED"
    result = Pipeline.from_yaml(path)
    assert result.spec.task("preprocess").arguments["rows"].param == "rows"
