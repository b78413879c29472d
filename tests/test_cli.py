"""The ``mlcore`` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlcore import Tracker
from mlcore.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def populated(tmp_path: Path) -> str:
    uri = str(tmp_path / "store")
    tracker = Tracker(uri)
    for i, model in enumerate(["xgb", "rf", "xgb"]):
        with tracker.start_run("credit", name=f"run-{i}", config={"model": model}) as run:
            run.log_metric("auc", 0.8 + i / 100)
            run.log_text("x", "notes/readme.md")
    tracker.create_experiment("empty")
    tracker.close()
    return uri


def test_quickstart_logs_a_real_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "quickstart")
    assert code == 0
    assert "Logged run" in out
    assert "runs show" in out
    assert str(tmp_path / ".mlcore") in out
    tracker = Tracker(str(tmp_path / ".mlcore"))
    (run,) = tracker.search_runs("quickstart")
    assert run.info.status.value == "FINISHED"
    assert run.data.metrics["test_accuracy"] > 0.8
    assert tracker.metric_history(run.id, "train_loss").num_rows == 30
    assert {f.path for f in tracker.artifact_store(run.id).walk()} == {
        "model/README.md",
        "model/weights.json",
    }
    tracker.close()


def test_experiments_list(populated: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--tracking-uri", populated, "experiments", "list")
    assert code == 0
    assert "credit" in out and "empty" in out
    code, out, _ = run_cli(capsys, "experiments", "list", "-u", populated, "--json")
    assert {e["name"] for e in json.loads(out)} == {"credit", "empty"}


def test_runs_list_with_filter_and_order(
    populated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        capsys,
        "-u",
        populated,
        "--json",
        "runs",
        "list",
        "--experiment",
        "credit",
        "--filter",
        "params.model = 'xgb'",
        "--order-by",
        "metrics.auc DESC",
    )
    assert code == 0
    data = json.loads(out)
    assert [r["info"]["name"] for r in data["runs"]] == ["run-2", "run-0"]
    assert data["next_page_token"] is None
    code, out, _ = run_cli(capsys, "-u", populated, "runs", "list", "-n", "1")
    assert code == 0
    assert "run-2" in out and "auc" in out and "more runs match" in out


def test_runs_show(populated: str, capsys: pytest.CaptureFixture[str]) -> None:
    tracker = Tracker(populated)
    run_id = tracker.search_runs(filter="attributes.run_name = 'run-1'")[0].id
    tracker.close()
    code, out, _ = run_cli(capsys, "-u", populated, "runs", "show", run_id)
    assert code == 0
    assert run_id in out and "auc" in out and "notes/readme.md" in out and "credit" in out
    code, out, _ = run_cli(capsys, "-u", populated, "runs", "show", run_id, "--json")
    data = json.loads(out)
    assert data["data"]["params"] == {"model": "rf"}
    assert data["artifacts"][0]["path"] == "notes/readme.md"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["runs", "list", "--filter", "metrics.auc >"], "invalid filter at column 14"),
        (["runs", "show", "0" * 32], "not found"),
        (["runs", "list", "--experiment", "nope"], "experiment 'nope' not found"),
        (["--tracking-uri", "ftp://x", "runs", "list"], "no tracking store"),
    ],
)
def test_errors_are_one_line_not_tracebacks(
    populated: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    if "--tracking-uri" not in args:
        args = ["-u", populated, *args]
    code, _, err = run_cli(capsys, *args)
    assert code == 1
    assert message in err
    assert "Traceback" not in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["runs"])
    assert caught.value.code == 2


def test_the_installed_command_and_python_dash_m(tmp_path: Path) -> None:
    for command in (["mlcore"], [sys.executable, "-m", "mlcore"]):
        if command == ["mlcore"]:
            command = [str(Path(sys.executable).with_name("mlcore"))]
        result = subprocess.run(
            [*command, "--version"], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0 and result.stdout.startswith("mlcore ")


@pytest.fixture
def registry_store(tmp_path: Path) -> str:
    uri = str(tmp_path / "registry-store")
    tracker = Tracker(uri)

    class Model:
        def predict(self, rows: object) -> object:
            return rows

    data = tmp_path / "d.csv"
    data.write_text("a\n1\n")
    from mlcore import Artifact

    with tracker.start_run("exp") as run:
        run.log_model(Model(), "model", registered_model_name="credit")
        artifact = Artifact("ds", "dataset")
        artifact.add_file(data)
        run.log_artifact(artifact, aliases=["best"])
    from mlcore import Registry

    Registry(tracker=tracker).set_alias("credit", "champion", 1)
    tracker.close()
    return uri


def test_models_and_artifacts_commands(
    registry_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "-u", registry_store, "models", "list")
    assert code == 0
    assert "credit" in out
    assert "@champion: v1" in out
    code, out, _ = run_cli(capsys, "-u", registry_store, "--json", "models", "show", "credit")
    data = json.loads(out)
    assert [v["version"] for v in data["versions"]] == [1]
    code, out, _ = run_cli(
        capsys, "-u", registry_store, "models", "show", "credit", "-v", "@champion"
    )
    assert "runs:/" in out
    code, _, err = run_cli(capsys, "-u", registry_store, "models", "show", "credit", "-v", "9")
    assert code == 1
    assert "no version 9" in err
    code, out, _ = run_cli(capsys, "-u", registry_store, "artifacts", "list", "--type", "dataset")
    assert "ds" in out
    assert "best" in out
    code, out, _ = run_cli(capsys, "-u", registry_store, "--json", "artifacts", "show", "ds:best")
    assert json.loads(out)[0]["files"][0]["path"] == "d.csv"
    code, out, _ = run_cli(capsys, "-u", registry_store, "artifacts", "show", "ds")
    assert "v0" in out
