"""The Tracker client as a tool builder embeds it."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pyarrow as pa
import pytest

from mlcore import Tracker
from mlcore.errors import (
    AlreadyExistsError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    PluginNotFoundError,
)
from mlcore.types import Metric, RunStatus


@pytest.fixture
def tracker(tmp_path: Path) -> Tracker:
    with Tracker(str(tmp_path / "store")) as tracker:
        yield tracker


def test_several_trackers_do_not_interfere(tmp_path: Path) -> None:
    a = Tracker(f"sqlite:///{tmp_path}/a.db", artifact_uri=str(tmp_path / "a-art"))
    b = Tracker(str(tmp_path / "b-home"))
    c = Tracker("sqlite:///:memory:")
    runs = {}
    for name, tracker in {"a": a, "b": b, "c": c}.items():
        with tracker.start_run(experiment="shared-name", name=name) as run:
            run.log_metric("which", float(ord(name)))
            run.log_text(name, "who.txt")
        runs[name] = run.id
    for name, tracker in {"a": a, "b": b, "c": c}.items():
        found = tracker.search_runs("shared-name")
        assert [r.info.name for r in found] == [name]
        assert found[0].data.metrics == {"which": float(ord(name))}
        assert tracker.artifact_store(runs[name]).get_bytes("who.txt") == name.encode()
        others = [runs[o] for o in runs if o != name]
        for other in others:
            with pytest.raises(NotFoundError):
                tracker.get_run(other)
    assert (tmp_path / "a-art").is_dir()
    assert (tmp_path / "b-home" / "artifacts").is_dir()
    for tracker in (a, b, c):
        tracker.close()


def test_experiment_crud(tracker: Tracker) -> None:
    exp = tracker.create_experiment("e1", tags={"k": "v"}, description="first")
    assert tracker.experiment("e1") == exp
    assert tracker.experiment(exp.experiment_id) == exp
    tracker.rename_experiment(exp.experiment_id, "e2")
    tracker.set_experiment_tag(exp.experiment_id, "k", "w")
    assert tracker.get_experiment(exp.experiment_id).tags == {"k": "w"}
    tracker.delete_experiment(exp.experiment_id)
    assert tracker.list_experiments() == []
    assert [e.name for e in tracker.list_experiments("deleted")] == ["e2"]
    tracker.restore_experiment(exp.experiment_id)
    assert [e.name for e in tracker.list_experiments()] == ["e2"]
    with pytest.raises(NotFoundError):
        tracker.experiment("nope")
    assert tracker.get_or_create_experiment("e2").experiment_id == exp.experiment_id


def test_runs_follow_experiment_renames_and_deletes(tracker: Tracker) -> None:
    """The tracker remembers which experiment a name means (a run start costs no lookup);
    a rename or delete through it is seen by the next run."""
    first = tracker.start_run("e1")
    first.end()
    exp_id = first.info.experiment_id
    tracker.rename_experiment(exp_id, "e2")
    with tracker.start_run("e1") as fresh:  # the name is free again: a new experiment
        pass
    assert fresh.info.experiment_id != exp_id
    with tracker.start_run("e2") as renamed:
        pass
    assert renamed.info.experiment_id == exp_id
    tracker.delete_experiment(exp_id)
    with pytest.raises(InvalidInputError, match="deleted"):
        tracker.start_run("e2")
    assert {r.info.run_id for r in tracker.search_runs(exp_id, view="all")} == {
        renamed.id,
        first.id,
    }
    tracker.restore_experiment(exp_id)
    with tracker.start_run(exp_id) as by_id:
        pass
    assert by_id.info.experiment_id == exp_id


def test_runs_crud_and_status(tracker: Tracker) -> None:
    run = tracker.create_run("exp", name="r", params={"a": 1}, tags={"t": "x"})
    assert run.info.status is RunStatus.RUNNING
    tracker.log_metric(run.id, "m", 0.5, step=2)
    info = tracker.end_run(run.id, "KILLED")
    assert info.status is RunStatus.KILLED
    tracker.update_run(run.id, name="renamed")
    tracker.delete_tag(run.id, "t")
    stored = tracker.get_run(run.id)
    assert stored.info.name == "renamed"
    assert "t" not in stored.data.tags
    tracker.delete_run(run.id)
    assert list(tracker.search_runs("exp")) == []
    tracker.restore_run(run.id)
    assert [r.id for r in tracker.search_runs("exp")] == [run.id]
    with pytest.raises(InvalidInputError):
        tracker.end_run(run.id, "WHATEVER")


def test_a_run_created_with_a_chosen_id(tracker: Tracker) -> None:
    experiment_id = tracker.get_or_create_experiment("chosen").experiment_id
    run = tracker.create_run(experiment_id=experiment_id, run_id="ab" * 16, params={"a": 1})
    assert run.info.run_id == "ab" * 16 and run.info.experiment_id == experiment_id
    with pytest.raises(AlreadyExistsError):
        tracker.create_run(experiment_id=experiment_id, run_id="ab" * 16, params={"a": 2})
    assert tracker.get_run("ab" * 16).data.params == {"a": "1"}
    for bad in ("AB" * 16, "ab", "../" * 11, 12):
        with pytest.raises(InvalidInputError, match="run_id"):
            tracker.create_run(experiment_id=experiment_id, run_id=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="not both"):
        tracker.create_run("chosen", experiment_id=experiment_id)


def test_unknown_run_ids_are_typed_errors(tracker: Tracker) -> None:
    for bad in ("0" * 32, "../etc", ""):
        with pytest.raises(NotFoundError):
            tracker.log_metric(bad, "m", 1.0)
        with pytest.raises(NotFoundError):
            tracker.get_run(bad)
        with pytest.raises(NotFoundError):
            tracker.log_params(bad, {"a": 1})


def test_log_batch_is_validated_before_anything_is_stored(tracker: Tracker) -> None:
    run = tracker.create_run("exp")
    tracker.log_batch(
        run.id,
        metrics=[
            Metric(key="a", value=1.0, timestamp=1, step=0),
            ("b", 2.0, 2, 1),
            {"key": "c", "value": 3, "step": 4},
        ],
        params={"p": 1},
        tags={"t": "x"},
    )
    with pytest.raises(InvalidInputError):
        tracker.log_batch(run.id, metrics=[("ok", 1.0, 1, 9), ("bad", "x", 1, 9)], params={"q": 1})
    with pytest.raises(InvalidInputError):
        tracker.log_batch(run.id, metrics=[("short", 1.0)])  # type: ignore[list-item]
    stored = tracker.get_run(run.id)
    assert stored.data.metrics == {"a": 1.0, "b": 2.0, "c": 3.0}
    assert stored.data.params == {"p": "1"}
    assert tracker.metric_history(run.id, "ok").num_rows == 0


def test_runs_table(tracker: Tracker) -> None:
    for i in range(5):
        with tracker.start_run("exp", name=f"r{i}", config={"lr": 0.1 * (i + 1)}) as run:
            run.log_metric("acc", i / 10)
            if i % 2:
                run.set_tag("odd", "yes")
    table = tracker.runs_table("exp", order_by=["metrics.acc DESC"])
    assert isinstance(table, pa.Table)
    assert table.num_rows == 5
    assert table.column("run_name").to_pylist() == ["r4", "r3", "r2", "r1", "r0"]
    assert table.column("metrics.acc").to_pylist() == [0.4, 0.3, 0.2, 0.1, 0.0]
    assert table.column("tags.odd").to_pylist() == [None, "yes", None, "yes", None]
    assert table.schema.field("start_time").type == pa.timestamp("ms")
    assert table.schema.field("metrics.acc").type == pa.float64()
    assert table.column("params.lr").to_pylist()[0] == "0.5"
    small = tracker.runs_table("exp", filter="metrics.acc >= 0.3", max_results=10)
    assert sorted(small.column("run_name").to_pylist()) == ["r3", "r4"]


def test_search_pages_through_iter_runs(tracker: Tracker) -> None:
    run_ids = {tracker.create_run("exp").info.run_id for _ in range(25)}
    page = tracker.search_runs("exp", max_results=10)
    assert len(page) == 10 and page.next_page_token
    assert {r.id for r in tracker.iter_runs("exp", page_size=7)} == run_ids


def test_metric_history_as_arrow(tracker: Tracker) -> None:
    run = tracker.create_run("exp")
    for step in range(1000):
        tracker.log_metric(run.id, "loss", math.exp(-step / 100), step=step, timestamp=step)
    history = tracker.metric_history(run.id, "loss")
    assert history.schema.names == ["step", "timestamp", "value"]
    assert history.num_rows == 1000
    assert history.column("step").to_pylist() == list(range(1000))
    assert history.column("value")[999].as_py() == pytest.approx(math.exp(-9.99))


def test_artifacts_are_hashed_and_verified_on_download(tracker: Tracker, tmp_path: Path) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights" * 1000)
    run = tracker.create_run("exp")
    info = tracker.log_artifact(run.id, source, "model")
    assert info.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    listed = tracker.list_artifacts(run.id, "model")
    assert listed[0].sha256 == info.sha256
    path = tracker.download_artifacts(run.id, "model", tmp_path / "dl")
    assert Path(path, "model.bin").read_bytes() == source.read_bytes()

    # someone tampers with the stored file: the download refuses it
    store = tracker.artifact_store(run.id)
    stored_file = Path(store.uri("model/model.bin").removeprefix("file://"))
    stored_file.write_bytes(b"evil pickle")
    with pytest.raises(IntegrityError, match="sha256"):
        tracker.download_artifacts(run.id, "model/model.bin", tmp_path / "dl2")
    assert not (tmp_path / "dl2" / "model" / "model.bin").exists()

    with pytest.raises(InvalidInputError):
        tracker.download_artifacts(run.id, "../../etc/passwd", tmp_path / "x")
    with pytest.raises(InvalidInputError):
        tracker.log_artifact(run.id, source, "../outside")
    with pytest.raises(InvalidInputError, match="directory"):
        tracker.log_artifact(run.id, tmp_path, "dir")
    with pytest.raises(NotFoundError):
        tracker.log_artifact(run.id, tmp_path / "missing.bin")


def test_symlinks_out_of_a_logged_directory_are_skipped(tracker: Tracker, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not upload")
    logged = tmp_path / "logged"
    logged.mkdir()
    (logged / "ok.txt").write_text("ok")
    (logged / "leak.txt").symlink_to(secret)
    run = tracker.create_run("exp")
    files = tracker.log_artifacts(run.id, logged)
    assert [f.path for f in files] == ["ok.txt"]


def test_unknown_schemes_name_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlcore import plugins

    monkeypatch.setenv("MLCORE_DISABLE_PLUGINS", "mlcore-s3")  # as if it were not installed
    plugins.reset()
    try:
        with pytest.raises(PluginNotFoundError, match="ftp"):
            Tracker("ftp://example/x")
        tracker = Tracker(str(tmp_path / "home"), artifact_uri="s3://bucket/prefix")
        run = tracker.create_run("exp")
        with pytest.raises(PluginNotFoundError, match="mlcore-s3"):
            tracker.log_text(run.id, "x", "x.txt")
        tracker.close()
    finally:
        monkeypatch.delenv("MLCORE_DISABLE_PLUGINS")
        plugins.reset()


def test_tracker_as_context_manager_ends_open_runs(tmp_path: Path) -> None:
    with Tracker(str(tmp_path / "h")) as tracker:
        run = tracker.start_run("exp")
        run.log_metric("m", 1.0)
    reopened = Tracker(str(tmp_path / "h"))
    stored = reopened.get_run(run.id)
    assert stored.info.status is RunStatus.FINISHED
    assert stored.data.metrics == {"m": 1.0}
    reopened.close()
