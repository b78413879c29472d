"""The YAML IR: readable, versioned, round-trips, and runs again without the Python module."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from mlcore.errors import InvalidInputError
from mlcore.pipeline import Pipeline, PipelineSpec
from tests.conftest import run_python
from tests.pipeline import flows

MODULE = textwrap.dedent(
    """
    import os
    from mlcore.pipeline import Dataset, Input, Output, component, for_each, pipeline

    SUFFIX = "!"          # a module global the components use


    def shout(text):      # a helper the components use
        return text.upper() + SUFFIX


    @component
    def write(text: str, out: Output[Dataset]) -> int:
        out.write_text(shout(text))
        return len(text)


    @component(retries=1)
    def read(data: Input[Dataset]) -> str:
        return data.read_text()


    @pipeline(name="portable")
    def portable(text: str = "hi"):
        w = write(text=text)
        with for_each([1, 2]) as i:
            read(data=w.outputs["out"])
    """
)


def test_compile_writes_readable_versioned_yaml(tmp_path: Path) -> None:
    path = flows.training.compile(tmp_path / "training.yaml")
    text = Path(path).read_text()
    data = yaml.safe_load(text)
    assert data["format"] == "mlcore.pipeline/v1"
    assert data["name"] == "training"
    assert [t["name"] for t in data["tasks"]] == ["make-data", "summarize", "train", "evaluate"]
    train = next(c for key, c in data["components"].items() if key.startswith("train-"))
    assert train["code"]["module"] == "tests.pipeline.flows"
    assert train["code"]["importable"] is True
    assert "def train(" in train["code"]["source"]  # the source, readable as a block
    assert "|" in text.split("source:", 1)[1].splitlines()[0]


def test_yaml_round_trip_is_exact(tmp_path: Path) -> None:
    for pipeline in (flows.training, flows.fan, flows.gated, flows.guarded, flows.fan_from_step):
        path = pipeline.compile(tmp_path / f"{pipeline.name}.yaml")
        assert Pipeline.from_yaml(path).spec == pipeline.spec
        assert Pipeline.from_yaml(pipeline.to_yaml()).spec == pipeline.spec


def test_runs_from_yaml_when_the_module_is_gone(tmp_path: Path) -> None:
    """Compile in one process from an importable module, delete the module, run the YAML in
    another process on the process executor."""
    package = tmp_path / "src"
    package.mkdir()
    (package / "mypipes.py").write_text(MODULE)
    compiled = tmp_path / "portable.yaml"
    done = run_python(
        f"import sys; sys.path.insert(0, {str(package)!r}); import mypipes; "
        f"mypipes.portable.compile({str(compiled)!r})"
    )
    assert done.returncode == 0, done.stderr
    (package / "mypipes.py").unlink()
    store = tmp_path / "store"
    ran = run_python(
        "import json; from mlcore.pipeline import Pipeline; from mlcore.tracking import Tracker\n"
        f"p = Pipeline.from_yaml({str(compiled)!r})\n"
        f"r = p.run({{'text': 'abc'}}, executor='process', tracker=Tracker({str(store)!r}))\n"
        "print(json.dumps({n: [s.status, s.outputs.get('Output'), s.error] "
        "for n, s in r.steps.items()}))",
        cwd=tmp_path,
    )
    assert ran.returncode == 0, ran.stderr
    steps = json.loads(ran.stdout.strip().splitlines()[-1])
    assert steps["write"] == ["SUCCEEDED", 3, None]
    assert steps["read[0]"] == ["SUCCEEDED", "ABC!", None]
    assert steps["read[1]"][0] == "SUCCEEDED"


def test_runs_from_yaml_compiled_from_a_main_script(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(MODULE + f"\nportable.compile({str(tmp_path / 'main.yaml')!r})\n")
    done = run_python(f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')")
    assert done.returncode == 0, done.stderr
    script.unlink()
    pipeline = Pipeline.from_yaml(tmp_path / "main.yaml")
    component = next(iter(pipeline.spec.components.values()))
    assert component.code.importable is False
    assert component.code.pickle
    from mlcore.tracking import Tracker

    tracker = Tracker(str(tmp_path / "store"))
    try:
        result = pipeline.run({"text": "yo"}, tracker=tracker, executor="process")
    finally:
        tracker.close()
    assert result.status == "SUCCEEDED"
    assert result.steps["read[1]"].outputs["Output"] == "YO!"


def test_a_spec_with_only_source_still_runs(tmp_path: Path) -> None:
    """Hand-written or stripped specs: the source alone is enough for self-contained code."""
    from mlcore.tracking import Tracker

    data = yaml.safe_load(flows.gated.to_yaml())
    for component in data["components"].values():
        component["code"].update({"module": "gone.module", "importable": False})
        component["code"].pop("pickle", None)
    pipeline = Pipeline.from_yaml(yaml.safe_dump(data))
    tracker = Tracker(str(tmp_path / "store"))
    try:
        result = pipeline.run({"value": 0.9}, tracker=tracker)
    finally:
        tracker.close()
    assert result.status == "SUCCEEDED"
    assert result.steps["echo"].outputs["Output"] == "deploy"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format="mlcore.pipeline/v9"), "unsupported pipeline format"),
        (lambda d: d["tasks"][1]["arguments"]["data"].update(output="nope"), "no output 'nope'"),
        (lambda d: d["tasks"][0].update(after=["evaluate"]), "cycle"),
        (lambda d: d["tasks"][1].update(component="missing-1234"), "unknown component"),
        (lambda d: d["tasks"][2]["arguments"]["lr"].update(param="lrr"), "unknown pipeline"),
        (lambda d: d["tasks"].append(dict(d["tasks"][0])), "share a name"),
        (lambda d: d["tasks"][0].update(colour="red"), "invalid pipeline spec"),
    ],
)
def test_bad_specs_are_refused(mutate: object, message: str) -> None:
    data = yaml.safe_load(flows.training.to_yaml())
    mutate(data)  # type: ignore[operator]
    with pytest.raises(InvalidInputError, match=message):
        Pipeline.from_yaml(yaml.safe_dump(data))


def test_unreadable_input_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="not valid YAML"):
        PipelineSpec.from_yaml("a: [")
    with pytest.raises(InvalidInputError, match="mapping"):
        PipelineSpec.from_yaml("- 1")
    with pytest.raises(InvalidInputError, match="cannot read"):
        Pipeline.from_yaml(tmp_path / "missing.yaml")


def test_a_script_without_main_guard_runs_on_the_process_executor(tmp_path: Path) -> None:
    """Workers never re-import the main module (unlike multiprocessing's spawn)."""
    script = tmp_path / "flow.py"
    script.write_text(
        MODULE
        + textwrap.dedent(
            f"""
            from mlcore.tracking import Tracker
            print("module body ran")
            result = portable.run({{"text": "x"}}, executor="process",
                                  tracker=Tracker({str(tmp_path / "store")!r}))
            print("status", result.status)
            """
        )
    )
    import subprocess

    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("module body ran") == 1
    assert "status SUCCEEDED" in done.stdout


def test_compile_writes_json_for_a_json_name_and_it_loads_back(tmp_path: Path) -> None:
    for pipeline in (flows.training, flows.fan):
        path = pipeline.compile(tmp_path / f"{pipeline.name}.json")
        data = json.loads(Path(path).read_text())
        assert data["format"] == "mlcore.pipeline/v1" and data["name"] == pipeline.name
        assert Pipeline.from_yaml(path).spec == pipeline.spec
    path = flows.training.compile(tmp_path / "training.YML")
    assert yaml.safe_load(Path(path).read_text())["name"] == "training"


@pytest.mark.parametrize("name", ["x.zip", "x.txt", "x.yaml.gz"])  # .tar.gz is written now
def test_compile_refuses_a_format_it_cannot_write_and_creates_no_file(
    tmp_path: Path, name: str
) -> None:
    target = tmp_path / "out" / name
    with pytest.raises(InvalidInputError, match=r"\.yaml.*\.json") as caught:
        flows.training.compile(target)
    assert name in str(caught.value)
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []
