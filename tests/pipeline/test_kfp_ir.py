"""KFP v2 IR in: a PipelineSpec compiled by the real kfp SDK runs on mlcore (API and CLI)
with the results kfp.local gives; what mlcore cannot run yet is refused, named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlcore.cli import main as cli_main
from mlcore.errors import InvalidInputError
from mlcore.pipeline import Pipeline
from tests.pipeline.kfp_reference import as_json, kfp_compile
from tests.pipeline.kfp_samples import source
from tests.pipeline.test_kfp_dsl import parameter_outputs


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kfp-ir") / "control_flow.yaml"
    return kfp_compile(source("control_flow", "kfp"), "control_flow", path)


@pytest.mark.parametrize("executor", ["local", "process"])
def test_kfp_compiled_pipeline_runs_as_under_kfp_local(
    compiled: Path, tmp_path: Path, executor: str, kfp_control_flow: dict[int, dict[str, Any]]
) -> None:
    pipeline = Pipeline.from_yaml(compiled)
    uri = f"sqlite:///{tmp_path / 'mlcore.db'}"
    for seed in (2, 3):
        result = pipeline.run({"seed": seed}, executor=executor, tracking_uri=uri)
        assert result.status == "SUCCEEDED"
        ours = parameter_outputs(pipeline, result)
        expected = {
            step: {k: v for k, v in values.items() if k in ours.get(step, {})}
            for step, values in kfp_control_flow[seed].items()
        }
        assert as_json(ours) == as_json(expected)


def test_kfp_ir_keeps_loops_conditions_exit_handlers_and_task_options(compiled: Path) -> None:
    spec = Pipeline.from_yaml(compiled).spec
    assert spec.name == "control-flow"
    assert {p.name: p.default for p in spec.parameters} == {"seed": 2, "n": 4}
    square = spec.task("square")
    assert square.loop is not None and spec.loops[square.loop].parallelism == 2
    assert spec.components[square.component].retries == 2
    assert spec.components[square.component].resources == {"cpu": "1", "memory": "256M"}
    assert spec.components[spec.task("flip-coin").component].cache is False
    assert spec.components[spec.task("total").component].env == {"MODE": "test"}
    assert spec.task("total").arguments["values"].collect == "square"
    assert [c.op for c in spec.task("announce-2").conditions] == ["!=", "=="]
    assert set(spec.task("goodbye").exit_for or []) >= {"flip-coin", "square", "describe"}
    # mlcore writes it back as its own spec, which reads again the same
    assert Pipeline.from_yaml(Pipeline(spec).to_yaml()).spec == spec


def test_cli_runs_a_kfp_compiled_yaml(
    compiled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"sqlite:///{tmp_path / 'cli.db'}"
    code = cli_main(
        ["pipeline", "run", str(compiled), "--arg", "seed=3", "--tracking-uri", uri, "--json"]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["status"] == "SUCCEEDED"


def test_a_kfp_compiled_container_component_runs_on_the_host_runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # was refused by name before container components existed
    code = (
        "from kfp import dsl\n"
        "from kfp.dsl import OutputPath\n\n"
        "@dsl.container_component\n"
        "def hello(name: str, greeting: OutputPath(str)):\n"
        "    return dsl.ContainerSpec(image='alpine:3', command=['sh', '-c'],\n"
        "                             args=[f'echo hello {name} > {greeting}'])\n\n"
        "@dsl.component\n"
        "def shout(text: str) -> str:\n"
        "    return text.upper()\n\n"
        "@dsl.pipeline\n"
        "def boxed(name: str = 'kfp'):\n"
        "    shout(text=hello(name=name).outputs['greeting'])\n"
    )
    path = kfp_compile(code, "boxed", tmp_path / "boxed.yaml")
    pipeline = Pipeline.from_yaml(path)
    hello = pipeline.spec.components[pipeline.spec.task("hello").component]
    assert hello.image == "alpine:3" and hello.container is not None
    monkeypatch.setenv("MLCORE_CONTAINER_RUNTIME", "host")
    result = pipeline.run(tracking_uri=f"sqlite:///{tmp_path / 'm.db'}")
    assert result.status == "SUCCEEDED"
    assert result.steps["shout"].outputs["Output"] == "HELLO KFP"


def test_a_yaml_that_is_neither_format_says_what_is_read(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text("apiVersion: v1\nkind: Something\n")
    with pytest.raises(InvalidInputError, match="KFP v2 PipelineSpec"):
        Pipeline.from_yaml(path)
