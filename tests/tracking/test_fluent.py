"""The fluent API as a data scientist uses it."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import yaml

import mlcore
from mlcore.errors import InvalidInputError, NotFoundError, ParamConflictError
from mlcore.types import RunStatus


@pytest.fixture(autouse=True)
def home(tmp_path: Path) -> Path:
    mlcore.set_tracking_uri(str(tmp_path / "store"))
    return tmp_path / "store"


def test_default_store_is_dot_mlcore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlcore import _fluent

    _fluent._state.tracking_uri = None
    _fluent._state.tracker = None
    with mlcore.start_run() as run:
        mlcore.log_metric("x", 1.0)
    assert (tmp_path / ".mlcore" / "mlcore.db").is_file()
    assert mlcore.get_tracking_uri() == ".mlcore"
    assert mlcore.get_run(run.id).info.artifact_uri.startswith(
        (tmp_path / ".mlcore" / "artifacts").as_uri()
    )


def test_env_var_picks_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlcore import _fluent

    monkeypatch.setenv("MLCORE_TRACKING_URI", f"sqlite:///{tmp_path}/env.db")
    _fluent._state.tracking_uri = None
    _fluent._state.tracker = None
    with mlcore.start_run():
        pass
    assert (tmp_path / "env.db").is_file()


def test_the_design_doc_example(tmp_path: Path) -> None:
    mlcore.set_experiment("credit-scoring")
    with mlcore.start_run(
        name="xgb-v2", tags={"team": "risk"}, config={"lr": 0.05}, notes="new features"
    ) as run:
        mlcore.log_param("max_depth", 6)
        mlcore.log_params({"n_estimators": 500})
        mlcore.log_metric("auc", 0.91, step=3)
        mlcore.log_metrics({"f1": 0.8}, step=3)
        mlcore.log({"loss": 0.2, "val_acc": 0.9})
        mlcore.set_tag("stage", "dev")
        mlcore.set_tags({"owner": "ana"})
        (tmp_path / "plot.png").write_bytes(b"\x89PNG fake")
        mlcore.log_artifact(tmp_path / "plot.png", artifact_path="plots")
        mlcore.log_dict({"lr": 0.05, "layers": [1, 2]}, "config.yaml")
        mlcore.log_text("some notes", "notes.md")
        with mlcore.start_run(name="fold-1", nested=True) as child:
            mlcore.log_metric("auc", 0.88)
            assert mlcore.active_run() is child
        assert mlcore.active_run() is run
        assert run.config.lr == 0.05
        assert mlcore.config.lr == 0.05
    assert mlcore.active_run() is None

    stored = mlcore.get_run(run.id)
    assert stored.info.name == "xgb-v2"
    assert stored.info.status is RunStatus.FINISHED
    assert stored.info.end_time is not None
    assert stored.data.params == {"lr": "0.05", "max_depth": "6", "n_estimators": "500"}
    assert stored.data.metrics == {"auc": 0.91, "f1": 0.8, "loss": 0.2, "val_acc": 0.9}
    assert stored.data.tags["team"] == "risk"
    assert stored.data.tags["mlcore.note"] == "new features"
    assert stored.data.tags["stage"] == "dev"
    assert stored.config == {"lr": 0.05}
    child_run = mlcore.get_run(child.id)
    assert child_run.info.parent_run_id == run.id
    assert child_run.info.status is RunStatus.FINISHED

    tracker = mlcore.get_tracker()
    paths = {f.path for f in tracker.artifact_store(run.id).walk()}
    assert paths == {"plots/plot.png", "config.yaml", "notes.md"}
    assert yaml.safe_load(tracker.artifact_store(run.id).get_bytes("config.yaml")) == {
        "lr": 0.05,
        "layers": [1, 2],
    }
    experiment = tracker.get_experiment(stored.info.experiment_id)
    assert experiment.name == "credit-scoring"


def test_exception_marks_failed_and_records_the_error() -> None:
    with pytest.raises(ZeroDivisionError), mlcore.start_run() as run:
        mlcore.log_metric("before", 1.0)
        1 / 0
    stored = mlcore.get_run(run.id)
    assert stored.info.status is RunStatus.FAILED
    assert stored.data.tags["mlcore.error"].startswith("ZeroDivisionError")
    assert stored.data.metrics == {"before": 1.0}


def test_keyboard_interrupt_marks_killed() -> None:
    with pytest.raises(KeyboardInterrupt), mlcore.start_run() as run:
        mlcore.log_metric("x", 1.0)
        raise KeyboardInterrupt
    assert mlcore.get_run(run.id).info.status is RunStatus.KILLED


def test_system_exit_zero_is_finished_nonzero_failed() -> None:
    with pytest.raises(SystemExit), mlcore.start_run() as ok:
        raise SystemExit(0)
    with pytest.raises(SystemExit), mlcore.start_run() as bad:
        raise SystemExit(3)
    assert mlcore.get_run(ok.id).info.status is RunStatus.FINISHED
    assert mlcore.get_run(bad.id).info.status is RunStatus.FAILED


def test_second_run_without_nested_is_refused() -> None:
    with mlcore.start_run() as first:
        with pytest.raises(InvalidInputError, match="already active"):
            mlcore.start_run()
        assert mlcore.active_run() is first


def test_log_auto_steps_like_wandb() -> None:
    with mlcore.start_run() as run:
        for epoch in range(3):
            mlcore.log({"loss": 1.0 / (epoch + 1), "epoch": epoch})
        mlcore.log({"a": 1.0}, commit=False)
        mlcore.log({"b": 2.0})
        mlcore.log({"c": 3.0}, step=10)
        mlcore.log({"d": 4.0})
        mlcore.log({"val": {"loss": 0.5}})
    history = mlcore.metric_history(run.id, "loss").to_pylist()
    assert [row["step"] for row in history] == [0, 1, 2]
    steps = {k: mlcore.metric_history(run.id, k).column("step").to_pylist() for k in "abcd"}
    # W&B's rule (changed on purpose with mlcore.init): step=10 without commit leaves step 10
    # open, so the next plain log joins it and commits it
    assert steps == {"a": [3], "b": [3], "c": [10], "d": [10]}
    assert mlcore.get_run(run.id).data.metrics["val/loss"] == 0.5


def test_logging_without_a_run_starts_one_like_mlflow() -> None:
    mlcore.log_metric("x", 1.0)
    run = mlcore.active_run()
    assert run is not None
    mlcore.end_run()
    assert mlcore.get_run(run.id).info.status is RunStatus.FINISHED
    assert mlcore.get_run(run.id).data.metrics == {"x": 1.0}


def test_config_is_readable_and_updatable() -> None:
    with mlcore.start_run(config={"lr": 0.1, "model": {"depth": 3}}) as run:
        assert mlcore.config.lr == 0.1
        assert mlcore.config["model"] == {"depth": 3}
        assert "lr" in mlcore.config
        mlcore.config.update({"batch_size": 32})
        mlcore.config.epochs = 5
        assert run.config.batch_size == 32
        with pytest.raises(ParamConflictError):
            mlcore.config.update({"lr": 0.2})
        with pytest.raises(AttributeError, match="no key 'missing'"):
            mlcore.config.missing
    stored = mlcore.get_run(run.id)
    assert stored.config == {"lr": 0.1, "model": {"depth": 3}, "batch_size": 32, "epochs": 5}
    assert stored.data.params["model.depth"] == "3"
    assert stored.data.params["batch_size"] == "32"
    with pytest.raises(AttributeError, match="no active run"):
        mlcore.config.lr
    assert mlcore.config.get("lr", "default") == "default"


def test_bad_input_changes_nothing() -> None:
    with mlcore.start_run() as run:
        mlcore.log_param("p", 1)
        mlcore.log_metric("m", 1.0)
        for bad_value in ("abc", None, [1], {"a": 1}, b"1"):
            with pytest.raises(InvalidInputError, match="must be a number"):
                mlcore.log_metric("m", bad_value)  # type: ignore[arg-type]
        for bad_key in ("", "x" * 300, "a\nb", "\x00"):
            with pytest.raises(InvalidInputError):
                mlcore.log_metric(bad_key, 1.0)
            with pytest.raises(InvalidInputError):
                mlcore.log_param(bad_key, 1)
        with pytest.raises(InvalidInputError, match="step"):
            mlcore.log_metric("m", 2.0, step="3")  # type: ignore[arg-type]
        with pytest.raises(ParamConflictError):
            mlcore.log_param("p", 2)
        with pytest.raises(InvalidInputError):
            mlcore.log_artifact("/definitely/missing/file.txt", "../../etc")
    stored = mlcore.get_run(run.id)
    assert stored.data.params == {"p": "1"}
    assert stored.data.metrics == {"m": 1.0}
    assert mlcore.metric_history(run.id, "m").num_rows == 1


def test_numpy_like_numbers_are_accepted() -> None:
    class Tensor:  # torch/numpy scalars expose __float__
        def __float__(self) -> float:
            return 0.25

    with mlcore.start_run() as run:
        mlcore.log_metric("t", Tensor())  # type: ignore[arg-type]
        mlcore.log_metric("i", 3)
        mlcore.log_metric("b", True)
    assert mlcore.get_run(run.id).data.metrics == {"t": 0.25, "i": 3.0, "b": 1.0}


def test_log_artifacts_of_a_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "a.json").write_text(json.dumps({"a": 1}))
    (out / "sub" / "b.txt").write_text("b")
    with mlcore.start_run() as run:
        files = mlcore.log_artifacts(out, artifact_path="results")
    assert sorted(f.path for f in files) == ["results/a.json", "results/sub/b.txt"]
    listing = mlcore.get_tracker().list_artifacts(run.id, "results")
    assert [(f.path, f.is_dir) for f in listing] == [
        ("results/a.json", False),
        ("results/sub", True),
    ]
    assert listing[0].sha256 is not None


def test_threads_log_to_the_main_run_unless_they_start_their_own() -> None:
    seen: dict[str, str | None] = {}

    def worker() -> None:
        run = mlcore.active_run()
        seen["inherited"] = run.id if run else None
        mlcore.log_metric("from_thread", 1.0)
        with mlcore.start_run(name="own", nested=True) as own:
            seen["own"] = own.id
            mlcore.log_metric("in_own", 2.0)
            seen["active_in_own"] = mlcore.active_run().id  # type: ignore[union-attr]

    with mlcore.start_run() as main:
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        assert mlcore.active_run() is main
    assert seen["inherited"] == main.id
    assert seen["active_in_own"] == seen["own"]
    assert mlcore.get_run(main.id).data.metrics == {"from_thread": 1.0}
    assert mlcore.get_run(seen["own"]).data.metrics == {"in_own": 2.0}  # type: ignore[arg-type]


def test_get_artifact_uri_and_resume(tmp_path: Path) -> None:
    with mlcore.start_run() as run:
        uri = mlcore.get_artifact_uri("model")
    assert uri.endswith(f"/{run.id}/model")
    with mlcore.start_run(run_id=run.id) as resumed:
        assert resumed.id == run.id
        mlcore.log_metric("after_resume", 1.0)
    stored = mlcore.get_run(run.id)
    assert stored.info.status is RunStatus.FINISHED
    assert stored.data.metrics == {"after_resume": 1.0}
    with pytest.raises(NotFoundError):
        mlcore.start_run(run_id="0" * 32)


def test_search_runs_defaults_to_the_current_experiment() -> None:
    mlcore.set_experiment("a")
    with mlcore.start_run(name="in-a"):
        mlcore.log_metric("acc", 0.9)
    mlcore.set_experiment("b")
    with mlcore.start_run(name="in-b"):
        mlcore.log_metric("acc", 0.8)
    assert [r.info.name for r in mlcore.search_runs()] == ["in-b"]
    assert {r.info.name for r in mlcore.search_runs(["a", "b"], "metrics.acc > 0.5")} == {
        "in-a",
        "in-b",
    }
    with pytest.raises(NotFoundError):
        mlcore.search_runs(["no-such-experiment"])


def test_set_experiment_arguments() -> None:
    with pytest.raises(InvalidInputError):
        mlcore.set_experiment()
    exp = mlcore.set_experiment("x")
    assert mlcore.set_experiment(experiment_id=exp.experiment_id).name == "x"
    with pytest.raises(InvalidInputError):
        mlcore.set_tracking_uri("")


def test_log_figure_matplotlib_and_plotly() -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    axes.plot([0, 1], [0, 1])
    with mlcore.start_run() as run:
        png = mlcore.log_figure(figure, "plots/roc.png")
        svg = mlcore.log_figure(figure, "plots/roc.svg")
        with pytest.raises(InvalidInputError, match="matplotlib and plotly"):
            mlcore.log_figure(object(), "x.png")
    store = mlcore.get_tracker().artifact_store(run.id)
    assert store.get_bytes(png.path).startswith(b"\x89PNG")
    assert b"<svg" in store.get_bytes(svg.path)
    plotly = pytest.importorskip("plotly.graph_objects")
    with mlcore.start_run() as run2:
        html = mlcore.log_figure(plotly.Figure(data=[plotly.Bar(y=[1, 2])]), "bars.html")
    assert b"plotly" in mlcore.get_tracker().artifact_store(run2.id).get_bytes(html.path)
