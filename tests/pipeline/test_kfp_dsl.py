"""KFP's DSL names from mlcore: KFP code ported by changing its imports runs on ``local``
and ``process`` with the results ``kfp.local`` gives, and the KFP task options land in the
IR."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest

from mlcore.errors import InvalidInputError
from mlcore.pipeline import Pipeline, dsl
from tests.pipeline.kfp_reference import as_json
from tests.pipeline.kfp_samples import source


def _load(tmp_path: Path, sample: str) -> dict[str, Any]:
    path = tmp_path / f"{sample}_mlcore.py"
    path.write_text(source(sample, "mlcore"))
    return runpy.run_path(str(path), run_name="mlcore_sample")


def parameter_outputs(pipeline: Pipeline, result: Any) -> dict[str, dict[str, Any]]:
    found = {}
    for name, step in result.steps.items():
        if step.status != "SUCCEEDED":
            continue
        component = pipeline.spec.components[pipeline.spec.task(step.task).component]
        kept = {o.name for o in component.outputs if o.kind == "parameter"}
        found[name] = {k: v for k, v in step.outputs.items() if k in kept}
    return found


@pytest.mark.parametrize("executor", ["local", "process"])
def test_kfp_control_flow_sample_matches_kfp_local(
    tmp_path: Path, executor: str, kfp_control_flow: dict[int, dict[str, Any]]
) -> None:
    pipeline = _load(tmp_path, "control_flow")["control_flow"]
    uri = f"sqlite:///{tmp_path / 'mlcore.db'}"
    for seed in (2, 3):
        result = pipeline.run({"seed": seed}, executor=executor, tracking_uri=uri)
        assert result.status == "SUCCEEDED"
        ours = parameter_outputs(pipeline, result)
        expected = {  # kfp.local's parameter outputs (its artifacts are files, ours URIs)
            step: {k: v for k, v in values.items() if k in ours.get(step, {})}
            for step, values in kfp_control_flow[seed].items()
        }
        assert as_json(ours) == as_json(expected)  # the same steps ran, with the same outputs
    # the branch that did not hold is skipped, and says why
    assert result.steps["announce"].status == "SKIPPED"
    assert result.steps["announce-2"].outputs["Output"] == "tails it is"


def test_kfp_task_options_land_in_the_ir(tmp_path: Path) -> None:
    pipeline = _load(tmp_path, "control_flow")["control_flow"]
    spec = pipeline.spec
    square = spec.components[spec.task("square").component]
    assert square.retries == 2
    assert square.resources == {"cpu": "1", "memory": "256M"}
    assert spec.components[spec.task("flip-coin").component].cache is False
    assert spec.components[spec.task("total").component].env == {"MODE": "test"}
    assert spec.task("announce").display_name == "say-heads"
    # Elif and Else negate the branches before them
    assert [c.op for c in spec.task("announce-3").conditions] == ["!=", "!="]
    again = Pipeline.from_yaml(pipeline.to_yaml())
    assert again.spec == spec


def test_task_options_are_per_task_not_per_component() -> None:
    @dsl.component
    def work(x: int) -> int:
        return x

    @dsl.pipeline
    def two(x: int = 1):
        work(x=x).set_retry(3, backoff_duration="2s").set_accelerator_type(
            "nvidia.com/gpu"
        ).set_accelerator_limit(2)
        work(x=x)

    first = two.spec.components[two.spec.task("work").component]
    second = two.spec.components[two.spec.task("work-2").component]
    assert (first.retries, first.retry_backoff, first.resources) == (
        3,
        2.0,
        {"nvidia.com/gpu": "2"},
    )
    assert (second.retries, second.resources) == (0, {})
    assert first.code.digest == second.code.digest  # one cache key for both
    assert len(two.spec.components) == 2


def test_elif_and_else_need_an_if_before_them() -> None:
    @dsl.component
    def echo(x: int) -> int:
        return x

    with pytest.raises(InvalidInputError, match="must come right after an If"):

        @dsl.pipeline
        def orphan(x: int = 1):
            with dsl.Else():
                echo(x=x)

    with pytest.raises(InvalidInputError, match="must come right after an If"):

        @dsl.pipeline
        def broken(x: int = 1):
            e = echo(x=x)
            with dsl.If(e.output > 1):
                echo(x=x)
            echo(x=x)  # a step between the If and the Elif
            with dsl.Elif(e.output > 0):
                echo(x=x)


def test_importer_passes_an_existing_file_as_an_artifact(tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_text("a\nb\nc")

    @dsl.component
    def lines(text: dsl.Input[dsl.Dataset]) -> int:
        return len(open(text.path).read().split("\n"))

    @dsl.pipeline
    def imported(uri: str):
        raw = dsl.importer(artifact_uri=uri, artifact_class=dsl.Dataset, reimport=False)
        lines(text=raw.output)

    result = imported.run({"uri": str(data)}, tracking_uri="sqlite:///:memory:")
    assert result.steps["lines"].outputs["Output"] == 3


def test_packages_to_install_missing_locally_fails_the_step_naming_them() -> None:
    @dsl.component(base_image="python:3.11", packages_to_install=["no-such-package-xyz==1.0"])
    def needs() -> int:
        return 1

    @dsl.component(packages_to_install=["pyyaml"])
    def has() -> int:
        return 2

    @dsl.pipeline
    def deps():
        needs()
        has()

    assert deps.spec.components[deps.spec.task("needs").component].image == "python:3.11"
    result = deps.run(tracking_uri="sqlite:///:memory:")
    assert result.steps["needs"].status == "FAILED"
    assert "no-such-package-xyz==1.0" in (result.steps["needs"].error or "")
    assert result.steps["has"].outputs["Output"] == 2
