"""KFP v2 IR out: ``compile(..., format="kfp")`` writes a PipelineSpec the real kfp SDK
parses strictly, loads as a component, compiles again and runs under ``kfp.local`` with the
results of the original KFP pipeline; KFP IR -> mlcore -> KFP IR keeps the DAG, the
components and the parameters; ``.tar.gz`` is a real gzipped tar."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlcore.errors import InvalidInputError
from mlcore.pipeline import Pipeline
from tests.peers import run_peer
from tests.pipeline.kfp_reference import as_json, kfp_compile, kfp_local_outputs_of
from tests.pipeline.kfp_samples import source

# Loads a PipelineSpec with kfp: protobuf parse refusing unknown fields, the component
# loader, kfp's compiler writing it again; prints the DAG as kfp sees it.
_LOAD = """
import json, warnings, yaml
warnings.simplefilter("ignore")
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2
from kfp import components, compiler
path = {path!r}
with open(path) as handle:
    data = yaml.safe_load(handle)
spec = json_format.ParseDict(data, pipeline_spec_pb2.PipelineSpec(), ignore_unknown_fields=False)
loaded = components.load_component_from_file(path)
compiler.Compiler().compile(loaded, path + ".again.yaml")
leaves = {{}}
def walk(dag, deps_outside):
    for name, task in dag.tasks.items():
        component = spec.components[task.component_ref.name]
        deps = sorted(set(task.dependent_tasks) | set(deps_outside))
        if component.WhichOneof("implementation") == "dag":
            walk(component.dag, deps)
        elif not name.startswith("importer"):
            definitions = component.input_definitions
            leaves[name] = {{
                "inputs": sorted(list(definitions.parameters) + list(definitions.artifacts)),
                "outputs": sorted(
                    list(component.output_definitions.parameters)
                    + list(component.output_definitions.artifacts)
                ),
                "trigger": task.trigger_policy.condition,
            }}
walk(spec.root.dag, [])
parameters = {{
    name: json_format.MessageToDict(definition)
    for name, definition in spec.root.input_definitions.parameters.items()
}}
print(json.dumps({{"name": loaded.name, "leaves": leaves, "parameters": parameters}}))
"""


def kfp_view(path: Path) -> dict[str, Any]:
    """What kfp reads from the IR at ``path`` (fails if kfp refuses it)."""
    return run_peer("kfp", _LOAD.format(path=str(path)))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def kfp_compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kfp-out") / "control_flow.yaml"
    return kfp_compile(source("control_flow", "kfp"), "control_flow", path)


def test_round_trip_keeps_the_dag_components_and_parameters(
    kfp_compiled: Path, tmp_path: Path
) -> None:
    ours = Pipeline.from_yaml(kfp_compiled).compile(tmp_path / "again.yaml", format="kfp")
    original, written = kfp_view(kfp_compiled), kfp_view(Path(ours))
    assert written["name"] == original["name"] == "control-flow"
    assert written["parameters"] == original["parameters"]
    assert set(written["leaves"]) == set(original["leaves"])
    for name, leaf in original["leaves"].items():
        assert written["leaves"][name]["inputs"] == leaf["inputs"], name
        assert written["leaves"][name]["outputs"] == leaf["outputs"], name
    # and mlcore reads its own KFP IR back to the same steps, dependencies and options
    first, second = Pipeline.from_yaml(kfp_compiled).spec, Pipeline.from_yaml(ours).spec
    assert {t.name: sorted(t.after) for t in first.tasks} == {
        t.name: sorted(t.after) for t in second.tasks
    }
    assert {t.name: sorted(t.exit_for or []) for t in first.tasks} == {
        t.name: sorted(t.exit_for or []) for t in second.tasks
    }
    for task in first.tasks:
        mine, theirs = second.task(task.name), task
        assert len(mine.conditions) == len(theirs.conditions), task.name
        assert (mine.loop is None) == (theirs.loop is None), task.name
        a, b = first.components[theirs.component], second.components[mine.component]
        assert (a.retries, a.cache, a.resources, a.env, a.image) == (
            b.retries,
            b.cache,
            b.resources,
            b.env,
            b.image,
        ), task.name
        assert a.code.source == b.code.source


def test_a_native_pipeline_compiled_to_kfp_runs_under_kfp_local_as_the_kfp_original(
    tmp_path: Path, kfp_control_flow: dict[int, dict[str, Any]]
) -> None:
    module = tmp_path / "native_control_flow.py"
    module.write_text(source("control_flow", "mlcore"))
    namespace: dict[str, Any] = {"__name__": "native_control_flow"}
    exec(compile(module.read_text(), str(module), "exec"), namespace)
    path = namespace["control_flow"].compile(tmp_path / "native.yaml", format="kfp")
    code = f"from kfp import components\np = components.load_component_from_file({path!r})\n"
    found = kfp_local_outputs_of(code, "p", {"seed": 3}, tmp_path / "root")
    expected = kfp_control_flow[3]
    assert set(found) == set(expected)
    assert as_json(found) == as_json(expected)


def test_tar_gz_is_a_gzipped_tar_holding_the_yaml(kfp_compiled: Path, tmp_path: Path) -> None:
    pipeline = Pipeline.from_yaml(kfp_compiled)
    target = pipeline.compile(tmp_path / "p.tar.gz", format="kfp")
    with tarfile.open(target, "r:gz") as archive:
        assert archive.getnames() == ["pipeline.yaml"]
        handle = archive.extractfile("pipeline.yaml")
        assert handle is not None
        data = yaml.safe_load(handle.read())
    assert data["pipelineInfo"]["name"] == "control-flow" and data["schemaVersion"] == "2.1.0"
    assert Pipeline.from_yaml(target).spec == Pipeline.from_yaml(tmp_path / "p.tar.gz").spec
    native = pipeline.compile(tmp_path / "native.tgz")
    assert Pipeline.from_yaml(native).spec == pipeline.spec


def test_an_unknown_format_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    from tests.pipeline import flows

    with pytest.raises(InvalidInputError, match="unknown pipeline format 'tfx'"):
        flows.training.compile(tmp_path / "out.yaml", format="tfx")
    assert list(tmp_path.iterdir()) == []


def test_container_components_are_written_as_kfp_container_executors(tmp_path: Path) -> None:
    from tests.pipeline.test_container_components import boxed

    path = boxed.compile(tmp_path / "boxed.yaml", format="kfp")
    view = kfp_view(Path(path))
    assert set(view["leaves"]) == {"say", "shout", "write-rows", "count"}
    data = yaml.safe_load(Path(path).read_text())
    say = data["deploymentSpec"]["executors"]["exec-say"]["container"]
    assert say["image"] == "alpine:3"
    assert say["args"] == [
        "echo {{$.inputs.parameters['message']}} > {{$.outputs.parameters['said'].output_file}}"
    ]
    # and back: mlcore reads its own IR to the same container command
    again = Pipeline.from_yaml(path).spec
    assert (
        again.components[again.task("say").component].container
        == boxed.spec.components[boxed.spec.task("say").component].container
    )
