"""``mlcore pipeline compile | run | runs list | runs show``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from mlcore.cli import main

FLOW = textwrap.dedent(
    """
    from mlcore.pipeline import Dataset, Input, Output, component, pipeline

    @component
    def make(n: int, data: Output[Dataset]) -> int:
        data.write_text("\\n".join(str(i) for i in range(n)))
        print("made", n)
        return n

    @component(retries=1, retry_backoff=0.05)
    def count(data: Input[Dataset], fail: bool = False, tag: str = "x") -> int:
        if fail:
            raise ValueError("asked to fail")
        return len(data.read_text().splitlines())

    @pipeline
    def flow(n: int = 3, fail: bool = False, tag: str = "x", extra: list = []):
        m = make(n=n)
        count(data=m.outputs["data"], fail=fail, tag=tag)
    """
)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def flow_file(tmp_path: Path) -> Path:
    path = tmp_path / "flow.py"
    path.write_text(FLOW)
    return path


def test_compile_then_run_then_inspect(
    tmp_path: Path, flow_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "store")
    code, out, _ = cli(capsys, "pipeline", "compile", f"{flow_file}:flow", "-o", "flow.yaml")
    assert code == 0, out
    assert "compiled pipeline flow (2 steps) to flow.yaml" in out
    assert yaml.safe_load(Path("flow.yaml").read_text())["name"] == "flow"
    flow_file.unlink()  # the YAML runs on its own

    code, out, err = cli(
        capsys,
        "pipeline",
        "run",
        "flow.yaml",
        "--arg",
        "n=5",
        "--arg",
        "tag=007",
        "--arg",
        "extra=[1, 2]",
        "-x",
        "process",
        "-u",
        store,
    )
    assert code == 0, err
    assert "pipeline flow: SUCCEEDED" in out
    assert "count: SUCCEEDED" in err  # step transitions, when not on a terminal

    code, out, _ = cli(capsys, "pipeline", "runs", "list", "-u", store, "--json")
    (listed,) = json.loads(out)
    assert listed["status"] == "FINISHED"
    assert listed["steps"] == {"SUCCEEDED": 2}

    code, out, _ = cli(capsys, "pipeline", "runs", "show", listed["run_id"], "-u", store, "--json")
    shown = json.loads(out)
    assert shown["arguments"] == {"n": 5, "fail": False, "tag": "007", "extra": [1, 2]}
    assert [(s["step"], s["status"]) for s in shown["steps"]] == [
        ("make", "SUCCEEDED"),
        ("count", "SUCCEEDED"),
    ]
    code, out, _ = cli(capsys, "pipeline", "runs", "show", listed["run_id"], "-u", store)
    assert code == 0
    assert "count" in out and "SUCCEEDED" in out

    code, out, _ = cli(
        capsys,
        "pipeline",
        "run",
        "flow.yaml",
        "--arg",
        "n=5",
        "--arg",
        "tag=007",
        "--arg",
        "extra=[1, 2]",
        "-u",
        store,
        "--json",
    )
    rerun = json.loads(out)
    assert all(s["cached"] for s in rerun["steps"].values())


def test_a_failed_run_exits_1_and_shows_the_cause(
    tmp_path: Path, flow_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "store")
    code, out, err = cli(
        capsys, "pipeline", "run", f"{flow_file}:flow", "--arg", "fail=true", "-u", store
    )
    assert code == 1
    assert "pipeline flow: FAILED" in out
    assert "count: RETRYING: attempt 1 failed: ValueError: asked to fail" in err
    assert "count: FAILED: ValueError: asked to fail" in err
    run_id = out.split("runs show ")[1].strip()
    code, out, _ = cli(capsys, "pipeline", "runs", "show", run_id, "-u", store, "--json")
    steps = {s["step"]: s for s in json.loads(out)["steps"]}
    assert steps["count"]["status"] == "FAILED"
    assert steps["count"]["attempts"] == 2
    assert steps["count"]["error"] == "ValueError: asked to fail"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--arg", "nope=1"], "has no parameter 'nope'"),
        (["--arg", "n"], "write NAME=VALUE"),
        (["--arg", "n=three"], "must be int"),
        (["-x", "warp-drive"], "warp-drive"),
        (["-X", "workers=0", "-x", "process"], "workers must be a positive integer"),
    ],
)
def test_bad_run_arguments_are_errors(
    tmp_path: Path,
    flow_file: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    code, _, err = cli(
        capsys, "pipeline", "run", f"{flow_file}:flow", "-u", str(tmp_path / "store"), *args
    )
    assert code == 1
    assert message in err


def test_bad_sources_are_errors(
    tmp_path: Path, flow_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for source, message in [
        (f"{flow_file}:nope", "has no @pipeline named 'nope'; it has flow"),
        ("missing.yaml", "no pipeline file"),
        ("missing.py:flow", "no such file"),
        ("no.such.module:flow", "cannot import"),
        ("flow", "give a YAML spec"),
    ]:
        code, _, err = cli(capsys, "pipeline", "compile", source, "-o", "x.yaml")
        assert code == 1, source
        assert message in err, (source, err)


def test_runs_show_refuses_a_plain_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlcore import Tracker

    tracker = Tracker(str(tmp_path / "store"))
    with tracker.start_run("plain") as run:
        pass
    tracker.close()
    code, _, err = cli(capsys, "pipeline", "runs", "show", run.id, "-u", str(tmp_path / "store"))
    assert code == 1
    assert "not a pipeline run" in err


def test_the_installed_command_runs_a_pipeline(tmp_path: Path, flow_file: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlcore",
            "pipeline",
            "run",
            f"{flow_file}:flow",
            "-u",
            str(tmp_path / "store"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "SUCCEEDED"
