"""``mlcore import mlflow``: real MLflow stores (written by the real mlflow) brought over whole."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mlcore.artifacts import resolve_artifact_store
from mlcore.cli import main
from mlcore.errors import ForeignStoreError
from mlcore.importers.mlflow import import_mlflow
from mlcore.stores.file import FileStore
from mlcore.stores.sql.store import SqlStore
from tests.importers.mlflow_sources import add_run, make_source, running_run, tree_digest


@pytest.fixture(scope="module", params=["file", "sqlite"])
def source(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    where = tmp_path_factory.mktemp(f"mlflow-{request.param}")
    uri, ids = make_source(request.param, where)
    return request.param, where, uri, ids


def _store(tmp_path: Path) -> FileStore:
    return FileStore(str(tmp_path / "dest"))


def test_import_brings_every_run_value_artifact_and_model_and_never_writes_the_source(
    source: Any, tmp_path: Path
) -> None:
    kind, where, uri, ids = source
    before = tree_digest(where)
    store = _store(tmp_path)
    report = import_mlflow(uri, store)
    assert tree_digest(where) == before  # not a byte changed, no file created
    if kind == "sqlite":
        conn = sqlite3.connect(f"file:{where / 'mlflow.db'}?mode=ro", uri=True)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        conn.close()
    assert report.problems == []
    assert (report.runs, report.logged_models, report.model_versions) == (4, 1, 1)

    parent = store.get_run(ids["parent"])
    assert parent.info.name == "parent"
    assert parent.info.status.value == "FINISHED"
    assert parent.info.end_time is not None and parent.info.end_time >= parent.info.start_time
    assert parent.data.params == {"lr": "0.1", "layers": "3"}
    assert parent.data.tags["note"] == "hello"
    assert "mlflow.runName" not in parent.data.tags  # a field now, not a tag
    assert parent.data.tags["mlcore.source.name"]
    loss = store.metric_history(ids["parent"], "loss").to_pylist()
    # (MLflow 3 logs the last values again when the model is logged: both kept, as in MLflow)
    assert sorted({(p["step"], p["value"]) for p in loss}) == [
        (0, 1.0), (1, 0.5), (2, 1 / 3), (3, 0.25), (4, 0.2)
    ]  # fmt: skip
    weird = store.metric_history(ids["parent"], "weird").to_pylist()
    assert weird[0]["step"] == 7 and math.isnan(weird[0]["value"])
    # the dataset input is a dataset artifact version the run used (it was a JSON tag before)
    (used,) = store.artifacts_of_run(ids["parent"])[1]
    assert (used.name, used.type) == ("train", "dataset")
    assert used.metadata["mlflow_input"]["tags"] == [
        {"key": "mlflow.data.context", "value": "training"}
    ]
    assert "mlcore.inputs" not in parent.data.tags

    child = store.get_run(ids["child"])
    assert child.info.parent_run_id == ids["parent"]
    assert store.metric_history(ids["child"], "acc").to_pylist()[0]["step"] == 3
    assert store.get_run(ids["FAILED"]).info.status.value == "FAILED"
    assert store.get_run(ids["KILLED"]).info.status.value == "KILLED"
    assert store.get_run(ids["KILLED"]).data.params == {"p": "KILLED"}
    experiment = store.get_experiment(parent.info.experiment_id)
    assert experiment.name == "demo" and experiment.tags.get("team") == "vision"

    # artifacts: copied, recorded with the sha256 of the source's bytes
    records = store.artifact_records(ids["parent"])
    files = resolve_artifact_store(parent.info.artifact_uri)
    b = files.get_bytes("files/sub/b.bin")
    assert b == bytes(range(256)) * 40
    assert records["files/sub/b.bin"].sha256 == hashlib.sha256(b).hexdigest()
    assert files.get_bytes("files/a.txt") == b"alpha"
    # the MLflow 3 logged model sits under its run, every file recorded
    assert {"clf/MLmodel", "clf/model.skops"} <= set(records)

    # the registry: stage, alias, tags, descriptions, source rewritten to the imported model
    version = store.get_model_version("clf-model", 1)
    assert version.stage.value == "Production"
    assert version.aliases == ["champion"]
    assert version.tags == {"validated": "yes"}
    assert version.description == "first"
    assert version.run_id == ids["parent"]
    assert version.source == parent.info.artifact_uri + "/clf"
    assert store.get_registered_model("clf-model").description == "the classifier"
    empty = store.get_registered_model("empty-model")
    assert (empty.description, empty.tags) == ("nothing yet", {"k": "v"})
    store.close()


def test_a_second_import_brings_only_what_is_new(source: Any, tmp_path: Path) -> None:
    _kind, where, uri, ids = source
    copy = tmp_path / "src"
    shutil.copytree(where, copy, symlinks=True)
    uri = uri.replace(str(where), str(copy))
    store = _store(tmp_path)
    first = import_mlflow(uri, store)
    points = len(store.metric_history(ids["parent"], "loss"))
    again = import_mlflow(uri, store)
    assert (again.runs, again.runs_unchanged, again.model_versions) == (0, 4, 0)
    new_id = add_run(uri)
    third = import_mlflow(uri, store)
    assert (third.runs, third.runs_unchanged, third.points) == (1, first.runs, 1)
    assert store.get_run(new_id).info.name == "later"
    assert len(store.metric_history(ids["parent"], "loss")) == points  # nothing doubled
    demo = store.get_experiment_by_name("demo")
    assert demo is not None
    assert len(list(store.search_runs([demo.experiment_id], view="all"))) == 5
    assert len(store.search_experiments("all")) == len(
        {e.name for e in store.search_experiments("all")}
    )
    store.close()


def test_a_run_still_running_in_mlflow_is_brought_up_to_date(tmp_path: Path) -> None:
    uri, _ids = make_source("file", tmp_path / "mlflow")
    run_id = running_run(uri, "start")
    store = _store(tmp_path)
    import_mlflow(uri, store)
    assert store.get_run(run_id).info.status.value == "RUNNING"
    assert len(store.metric_history(run_id, "loss")) == 3
    running_run(uri, "finish", run_id)
    report = import_mlflow(uri, store)
    assert report.runs == 1 and report.problems == []
    run = store.get_run(run_id)
    assert run.info.status.value == "FINISHED" and run.info.end_time is not None
    history = store.metric_history(run_id, "loss").to_pylist()
    assert [p["step"] for p in history] == [0, 1, 2, 3, 4, 5]  # the new points, none twice
    store.close()


def test_dry_run_counts_and_stores_nothing(source: Any, tmp_path: Path) -> None:
    _kind, _where, uri, _ids = source
    store = _store(tmp_path)
    report = import_mlflow(uri, store, dry_run=True)
    assert (report.runs, report.model_versions, report.problems) == (4, 1, [])
    assert report.points >= 7
    assert store.search_experiments("all") == [] or all(
        not list(store.search_runs([e.experiment_id], view="all"))
        for e in store.search_experiments("all")
    )
    store.close()


def test_a_damaged_store_imports_the_sound_runs_and_reports_the_others(tmp_path: Path) -> None:
    uri, ids = make_source("file", tmp_path / "mlflow")
    mlruns = Path(uri)
    runs = {p.name: p for p in mlruns.glob("*/*") if p.name in ids.values()}
    (runs[ids["FAILED"]] / "metrics" / "broken").write_text("1700000000000 not-a-number 0\n")
    missing = runs[ids["KILLED"]] / "artifacts" / "gone.txt"
    missing.parent.mkdir(exist_ok=True)
    os.symlink(tmp_path / "nowhere.txt", missing)  # listed, cannot be read
    before = tree_digest(tmp_path / "mlflow")
    store = _store(tmp_path)
    report = import_mlflow(uri, store)
    skipped = {p.what: p.reason for p in report.problems}
    assert set(skipped) == {f"run {ids['FAILED']}", f"run {ids['KILLED']}"}
    assert "broken" in skipped[f"run {ids['FAILED']}"]
    assert "gone.txt" in skipped[f"run {ids['KILLED']}"]
    assert report.runs == 2
    demo = store.get_experiment_by_name("demo")
    assert demo is not None
    stored = {r.info.run_id for r in store.search_runs([demo.experiment_id], view="all")}
    assert stored == {ids["parent"], ids["child"]}  # nothing of the damaged runs
    assert tree_digest(tmp_path / "mlflow") == before
    store.close()


def test_an_mlflow_store_as_tracking_uri_or_copy_source_says_to_import_it(
    source: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kind, where, uri, _ids = source
    before = tree_digest(where)
    with pytest.raises(ForeignStoreError, match="MLflow store: use `mlcore import mlflow"):
        FileStore(uri) if kind == "file" else SqlStore(uri)
    assert main(["--tracking-uri", uri, "runs", "list"]) == 1
    assert "this is an MLflow store: use `mlcore import mlflow" in capsys.readouterr().err
    assert main(["store", "copy", uri, str(tmp_path / "copy"), "--no-progress"]) == 1
    assert "mlcore import mlflow" in capsys.readouterr().err
    assert tree_digest(where) == before


def test_an_mlflow_database_someone_switched_to_wal_is_refused_too(
    source: Any, tmp_path: Path
) -> None:
    kind, where, _uri, _ids = source
    if kind != "sqlite":
        pytest.skip("a SQLite journal mode")
    database = tmp_path / "mlflow.db"
    shutil.copy(where / "mlflow.db", database)
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA journal_mode=WAL")  # what `mlcore store copy` used to do to it
    conn.close()
    before = database.read_bytes()
    with pytest.raises(ForeignStoreError, match="use `mlcore import mlflow"):
        SqlStore(f"sqlite:///{database}")
    assert database.read_bytes() == before


def test_cli_imports_with_a_summary_and_json(source: Any, tmp_path: Path, capsys: Any) -> None:
    _kind, _where, uri, ids = source
    dest = str(tmp_path / "cli-dest")
    assert main(["import", "mlflow", uri, "--store", dest, "--dry-run", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "would import" in out and "runs imported" in out
    assert not os.path.exists(os.path.join(dest, "artifacts"))
    assert main(["--json", "import", "mlflow", uri, "--store", dest]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["runs imported"] == 4 and summary["problems"] == []
    store = FileStore(dest)
    assert store.get_run(ids["child"]).info.name == "child"
    store.close()


def test_a_folder_that_is_not_mlflow_is_refused(tmp_path: Path) -> None:
    from mlcore.errors import InvalidInputError

    (tmp_path / "stuff").mkdir()
    with pytest.raises(InvalidInputError, match="not an MLflow file store"):
        import_mlflow(str(tmp_path / "stuff"), _store(tmp_path))
    assert os.listdir(tmp_path / "stuff") == []
