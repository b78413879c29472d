"""``mlcore store copy`` / ``migrate``: a whole store moves, verifiably, or nothing does."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from sklearn.linear_model import LogisticRegression

import mlcore
from mlcore.artifacts import resolve_artifact_store
from mlcore.cli import main
from mlcore.errors import AlreadyExistsError, IntegrityError, InvalidInputError
from mlcore.registry import Registry
from mlcore.stores.sql.admin import copy_store, migrate_store
from mlcore.tracking.artifact_versions import Artifact, log_artifact_version
from mlcore.uris import file_uri_to_path


def build_store(home: Path, tmp: Path) -> dict[str, Any]:
    """An embedded store with a bit of everything: experiments, nested runs, metrics,
    artifacts (also under a custom location), models with an alias, artifact versions."""
    tracker = mlcore.Tracker(str(home))
    exp = tracker.create_experiment("copy-me", tags={"team": "a"}).experiment_id
    outside = tmp / "elsewhere"
    custom = tracker.create_experiment("custom-loc", artifact_location=str(outside)).experiment_id
    parent = tracker.create_run(exp, name="parent", config={"lr": 0.1, "layers": [1, 2]})
    pid = parent.info.run_id
    child = tracker.create_run(exp, name="child", parent_run_id=pid).info.run_id
    for step in range(2000):
        tracker.log_metric(pid, "loss", 1 / (step + 1), step=step)
    tracker.set_tag(child, "kind", "fold")
    weights = tmp / "weights.bin"
    weights.write_bytes(os.urandom(300_000))
    tracker.log_artifact(pid, str(weights), "data")
    tracker.log_dict(child, {"a": 1}, "cfg.json")
    other = tracker.create_run(custom, name="other").info.run_id
    tracker.log_text(other, "hello", "notes/readme.txt")
    X = np.random.default_rng(0).normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    tracker.log_model(pid, model, "model", registered_model_name="clf")
    Registry(tracker=tracker).set_alias("clf", "champion", 1)
    dataset = tmp / "ds.csv"
    dataset.write_text("a,b\n1,2\n")
    art = Artifact("dataset-x", type="dataset")
    art.add_file(dataset)
    log_artifact_version(tracker, pid, art)
    tracker.end_run(child)
    tracker.end_run(pid)
    tracker.end_run(other)
    tracker.close()
    return {"exp": exp, "custom": custom, "pid": pid, "child": child, "other": other, "X": X,
            "pred": model.predict(X), "weights": weights.read_bytes()}  # fmt: skip


def check_copy(dst: str, artifacts_root: str, built: dict[str, Any], tmp: Path) -> None:
    tracker = mlcore.Tracker(dst, artifact_uri=artifacts_root)
    exp = tracker.get_experiment(built["exp"])
    assert exp.name == "copy-me" and exp.tags["team"] == "a"
    assert exp.artifact_location.startswith(artifacts_root)
    parent = tracker.get_run(built["pid"])
    assert parent.info.status == "FINISHED"
    assert parent.data.params["lr"] == "0.1"
    assert parent.info.artifact_uri.startswith(artifacts_root)
    assert tracker.metric_history(built["pid"], "loss").num_rows == 2000
    child = tracker.get_run(built["child"])
    assert child.info.parent_run_id == built["pid"] and child.data.tags["kind"] == "fold"
    got = tracker.download_artifacts(built["pid"], "data/weights.bin", str(tmp / "dl"))
    assert Path(got).read_bytes() == built["weights"]
    cfg = tracker.download_artifacts(built["child"], "cfg.json", str(tmp / "dl2"))
    assert json.loads(Path(cfg).read_text()) == {"a": 1}
    other = tracker.get_run(built["other"])
    assert other.info.artifact_uri.startswith(artifacts_root)  # moved under the new root too
    note = tracker.download_artifacts(built["other"], "notes/readme.txt", str(tmp / "dl3"))
    assert Path(note).read_text() == "hello"
    registry = Registry(tracker=tracker)
    version = registry.get_model_version_by_alias("clf", "champion")
    assert version.version == 1
    assert version.source.startswith(("runs:/", artifacts_root))
    loaded = registry.load_model("models:/clf@champion")
    assert list(loaded.predict(built["X"])) == list(built["pred"])
    files = tracker.artifact("dataset-x:v0").download(str(tmp / "ds"))
    assert Path(files, "ds.csv").read_text() == "a,b\n1,2\n"
    # ids keep counting after the copied ones
    new = tracker.create_experiment("after-copy").experiment_id
    assert int(new) > int(built["custom"])
    tracker.close()


def test_copy_embedded_store_to_another_sqlite_store_and_root(tmp_path: Path) -> None:
    built = build_store(tmp_path / "src", tmp_path)
    dst_root = (tmp_path / "new-artifacts").as_uri()
    report = copy_store(
        str(tmp_path / "src"),
        f"sqlite:///{tmp_path}/dst.db",
        artifact_stores=resolve_artifact_store,
        artifact_uri=dst_root,
    )
    assert report.rows["runs"] == 3 and report.rows["metric_chunks"] >= 1
    assert report.files == report.verified >= 5
    check_copy(f"sqlite:///{tmp_path}/dst.db", dst_root, built, tmp_path)
    # the source is untouched and still works
    source = mlcore.Tracker(str(tmp_path / "src"))
    assert source.get_run(built["pid"]).info.artifact_uri.startswith((tmp_path / "src").as_uri())
    source.close()


@pytest.mark.postgres
def test_copy_embedded_store_to_postgres(tmp_path: Path, pg_url: str) -> None:
    built = build_store(tmp_path / "src", tmp_path)
    dst_root = (tmp_path / "team-artifacts").as_uri()
    code = main(["--json", "store", "copy", str(tmp_path / "src"), pg_url, "--artifacts", dst_root])
    assert code == 0
    check_copy(pg_url, dst_root, built, tmp_path)


def test_copy_into_a_non_empty_store_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    build_store(tmp_path / "src", tmp_path)
    dst = mlcore.Tracker(str(tmp_path / "dst"))
    dst.create_experiment("already-here")
    dst.close()
    with pytest.raises(AlreadyExistsError, match="not empty"):
        copy_store(
            str(tmp_path / "src"), str(tmp_path / "dst"), artifact_stores=resolve_artifact_store
        )
    after = mlcore.Tracker(str(tmp_path / "dst"))
    assert [e.name for e in after.list_experiments()] == ["already-here"]
    after.close()
    assert not (tmp_path / "dst" / "artifacts").exists() or not any(
        (tmp_path / "dst" / "artifacts").rglob("weights.bin")
    )


def test_a_damaged_source_file_stops_the_copy_before_any_row(tmp_path: Path) -> None:
    built = build_store(tmp_path / "src", tmp_path)
    source = mlcore.Tracker(str(tmp_path / "src"))
    root = file_uri_to_path(source.get_run(built["pid"]).info.artifact_uri)
    source.close()
    Path(root, "data", "weights.bin").write_bytes(b"bit rot")
    with pytest.raises(IntegrityError, match="recorded"):
        copy_store(
            str(tmp_path / "src"),
            f"sqlite:///{tmp_path}/dst.db",
            artifact_stores=resolve_artifact_store,
        )
    engine = sa.create_engine(f"sqlite:///{tmp_path}/dst.db")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM runs").scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM experiments").scalar() == 0
    engine.dispose()


def test_cli_migrate_reports_revisions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.stores.test_migrations import _old_store

    url = f"sqlite:///{tmp_path}/old.db"
    _old_store(url)
    assert main(["store", "migrate", url]) == 0
    # the newest revision (0003 added the runs end-time index)
    assert "migrated 0001_initial -> 0003_runs_end_time_index" in capsys.readouterr().out
    assert migrate_store(url) == ("0003_runs_end_time_index", "0003_runs_end_time_index")
    assert main(["store", "migrate", url]) == 0
    assert "already at" in capsys.readouterr().out


def test_copy_verifies_every_file_by_sha256(tmp_path: Path) -> None:
    build_store(tmp_path / "src", tmp_path)
    dst_root = tmp_path / "roots"
    events: dict[str, int] = {}

    def progress(kind: str, amount: int) -> None:
        events[kind] = events.get(kind, 0) + amount

    report = copy_store(
        str(tmp_path / "src"), f"sqlite:///{tmp_path}/d.db",
        artifact_stores=resolve_artifact_store, artifact_uri=dst_root.as_uri(), progress=progress,
    )  # fmt: skip
    assert events["bytes"] == events["verify"] == report.bytes > 300_000
    copied = {
        p.relative_to(dst_root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in dst_root.rglob("*") if p.is_file()
    }  # fmt: skip
    assert len(copied) == report.files


# -- the source is only read: a folder or database that is not an mlcore store is refused --------


def _snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (or of ``root`` itself), by relative path."""
    if root.is_file():
        return {root.name: hashlib.sha256(root.read_bytes()).hexdigest()}
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }  # fmt: skip


def _foreign_sqlite(path: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO things (name) VALUES ('a')")
    conn.commit()
    conn.close()


def _mlflow_sqlite(path: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    conn.execute("INSERT INTO alembic_version VALUES ('0584bdc529eb')")
    conn.execute("CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("CREATE TABLE runs (run_uuid VARCHAR(32) PRIMARY KEY, name TEXT)")
    conn.execute("CREATE TABLE latest_metrics (key TEXT, value FLOAT, run_uuid TEXT)")
    conn.commit()
    conn.close()


def _mlruns(root: Path) -> None:
    (root / "0").mkdir(parents=True)
    (root / "0" / "meta.yaml").write_text("artifact_location: mlruns/0\nexperiment_id: '0'\n")
    run = root / "0" / "4f1c2a" / "metrics"
    run.mkdir(parents=True)
    (run / "loss").write_text("1700000000000 0.5 0\n")
    (root / "0" / "4f1c2a" / "meta.yaml").write_text("run_id: 4f1c2a\nstatus: 3\n")


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("empty folder", "not an mlcore store"),
        ("random files", "not an mlcore store"),
        ("foreign sqlite", "not an mlcore store"),
        ("mlflow sqlite", "MLflow"),
        ("mlruns folder", "MLflow"),
    ],
)
@pytest.mark.parametrize("via", ["api", "cli"])
def test_copy_refuses_a_source_that_is_not_an_mlcore_store_and_never_writes_it(
    tmp_path: Path, kind: str, message: str, via: str, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = tmp_path / "source"
    holder.mkdir()
    source: Path = holder
    if kind == "random files":
        (holder / "notes.txt").write_text("hello")
        (holder / "sub").mkdir()
        (holder / "sub" / "data.bin").write_bytes(os.urandom(1000))
    elif kind == "foreign sqlite":
        source = holder / "app.sqlite"
        _foreign_sqlite(source)
    elif kind == "mlflow sqlite":
        source = holder / "mlflow.db"
        _mlflow_sqlite(source)
    elif kind == "mlruns folder":
        source = holder / "mlruns"
        _mlruns(source)
    uri = f"sqlite:///{source}" if source.is_file() else str(source)
    before = _snapshot(holder)
    listing = sorted(p.name for p in holder.rglob("*"))
    mode = source.stat().st_mode
    destination = f"sqlite:///{tmp_path}/dst.db"
    if via == "api":
        with pytest.raises(InvalidInputError, match=message) as caught:
            copy_store(uri, destination, artifact_stores=resolve_artifact_store)
        if "MLflow" in message:
            assert "import" in str(caught.value).lower()
    else:
        assert main(["store", "copy", uri, destination, "--no-progress"]) != 0
        assert message in capsys.readouterr().err
    assert _snapshot(holder) == before
    assert sorted(p.name for p in holder.rglob("*")) == listing  # no mlcore.db, -wal, -shm
    assert source.stat().st_mode == mode
    if source.is_file():
        import sqlite3

        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # not switched
        conn.close()


def test_copy_of_a_missing_source_is_refused_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        copy_store(
            str(tmp_path / "nowhere"),
            f"sqlite:///{tmp_path}/dst.db",
            artifact_stores=resolve_artifact_store,
        )
    with pytest.raises(InvalidInputError, match="does not exist"):
        copy_store(
            f"sqlite:///{tmp_path}/nowhere.db",
            f"sqlite:///{tmp_path}/dst.db",
            artifact_stores=resolve_artifact_store,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_copy_reads_the_source_store_without_writing_it(tmp_path: Path) -> None:
    build_store(tmp_path / "src", tmp_path)
    src = tmp_path / "src"
    before = _snapshot(src)
    listing = sorted(p.name for p in src.rglob("*"))
    copy_store(str(src), f"sqlite:///{tmp_path}/dst.db", artifact_stores=resolve_artifact_store)
    assert _snapshot(src) == before
    assert sorted(p.name for p in src.rglob("*")) == listing


def test_copy_of_a_store_at_an_older_schema_is_refused_without_migrating_it(
    tmp_path: Path,
) -> None:
    from tests.stores.test_migrations import _old_store

    url = f"sqlite:///{tmp_path}/old.db"
    _old_store(url)
    before = _snapshot(tmp_path / "old.db")
    with pytest.raises(InvalidInputError, match="mlcore store migrate"):
        copy_store(url, f"sqlite:///{tmp_path}/dst.db", artifact_stores=resolve_artifact_store)
    assert _snapshot(tmp_path / "old.db") == before


def test_copy_of_a_store_in_use_reads_its_log_and_leaves_it_working(tmp_path: Path) -> None:
    """A source open in another tracker (WAL with a -wal file) is read ``mode=ro``, including
    rows still only in its log."""
    src = tmp_path / "src"
    live = mlcore.Tracker(str(src))
    run = live.create_run("live", name="still-open")
    live.set_tag(run.info.run_id, "k", "v")
    assert (src / "mlcore.db-wal").exists()
    report = copy_store(
        str(src), f"sqlite:///{tmp_path}/dst.db", artifact_stores=resolve_artifact_store
    )
    assert report.rows["runs"] == 1
    live.set_tag(run.info.run_id, "after", "copy")  # the source still takes writes
    assert live.get_run(run.info.run_id).data.tags["after"] == "copy"
    live.close()
    copied = mlcore.Tracker(f"sqlite:///{tmp_path}/dst.db")
    assert copied.get_run(run.info.run_id).data.tags["k"] == "v"
    copied.close()
