"""Container components: ``@dsl.container_component`` returning ``dsl.ContainerSpec``, run
through a container runtime, or on the host when ``MLCORE_CONTAINER_RUNTIME=host``; with no
runtime, the step fails naming what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlcore.pipeline import dsl
from mlcore.pipeline.dsl import Dataset, Input, Output, OutputPath


@dsl.container_component
def say(message: str, said: OutputPath(str)):  # type: ignore[no-untyped-def, valid-type]
    return dsl.ContainerSpec(
        image="alpine:3", command=["sh", "-c"], args=[f"echo {message} > {said}"]
    )


@dsl.container_component
def write_rows(n: int, rows: Output[Dataset]):  # type: ignore[no-untyped-def]
    return dsl.ContainerSpec(image="alpine:3", command=["sh", "-c", f"seq {n} > {rows.path}"])


@dsl.component
def shout(text: str) -> str:
    return text.upper()


@dsl.component
def count(rows: Input[Dataset]) -> int:
    with open(rows.path) as handle:
        return len(handle.read().split())


@dsl.pipeline
def boxed(message: str = "hello", n: int = 3):
    shout(text=say(message=message).outputs["said"])
    count(rows=write_rows(n=n).outputs["rows"])


def test_the_spec_holds_kfp_placeholders() -> None:
    spec = say.spec
    assert spec.image == "alpine:3"
    assert spec.container is not None
    assert spec.container.args == [
        "echo {{$.inputs.parameters['message']}} > {{$.outputs.parameters['said'].output_file}}"
    ]


@pytest.mark.parametrize("executor", ["local", "process"])
def test_host_runtime_runs_the_command_and_python_steps_read_its_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, executor: str
) -> None:
    monkeypatch.setenv("MLCORE_CONTAINER_RUNTIME", "host")
    result = boxed.run(
        {"message": "hi there"}, executor=executor, tracking_uri=f"sqlite:///{tmp_path}/m.db"
    )
    assert result.status == "SUCCEEDED"
    assert result.steps["say"].outputs["said"] == "hi there"
    assert result.steps["shout"].outputs["Output"] == "HI THERE"
    assert result.steps["count"].outputs["Output"] == 3


def test_without_a_runtime_the_step_fails_naming_docker_podman_and_the_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLCORE_CONTAINER_RUNTIME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker, no podman
    result = boxed.run(tracking_uri=f"sqlite:///{tmp_path}/m.db")
    assert result.status == "FAILED"
    error = result.steps["say"].error or ""
    assert "ContainerRuntimeError" in error
    assert "docker" in error and "podman" in error and "MLCORE_CONTAINER_RUNTIME=host" in error
    assert result.steps["shout"].status != "SUCCEEDED"
