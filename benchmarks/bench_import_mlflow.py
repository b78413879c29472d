"""``mlcore import mlflow`` of an MLflow SQLite store: runs/s and metric points/s.

The source: an MLflow database of RUNS runs x 10 metrics x STEPS steps (1,000 x 10 x 1,000 =
10M points; ``--quick``: 20 x 10 x 100) with two artifact files a run. MLflow's own schema is
made by the real mlflow (``.venv-mlflow``, one experiment logged through its store API) and the
rows are then written with sqlite3 in bulk (logging 10M points through the client would take
an hour); without that venv a minimal MLflow-shaped schema is written instead. The full
source is cached under /tmp (``MLCORE_BENCH_CACHE``) and reused.

Floor, measured in the same run: reading every metric row of the source with raw sqlite3.
The import's result is checked: run count, points of a run, artifact sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from _common import fmt_rate, report, scratch_dir

ROOT = Path(__file__).resolve().parent.parent
METRICS = 10

_SCHEMA_BY_MLFLOW = """
import sys, mlflow
mlflow.set_tracking_uri(sys.argv[1])
mlflow.create_experiment("bench", artifact_location=sys.argv[2])
"""

_MINIMAL_SCHEMA = """
CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL);
INSERT INTO alembic_version VALUES ('dc11669786a5');
CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name TEXT, artifact_location TEXT,
  lifecycle_stage TEXT, creation_time BIGINT, last_update_time BIGINT);
CREATE TABLE experiment_tags (key TEXT, value TEXT, experiment_id INTEGER);
CREATE TABLE runs (run_uuid TEXT PRIMARY KEY, name TEXT, source_type TEXT, source_name TEXT,
  entry_point_name TEXT, user_id TEXT, status TEXT, start_time BIGINT, end_time BIGINT,
  source_version TEXT, lifecycle_stage TEXT, artifact_uri TEXT, experiment_id INTEGER,
  deleted_time BIGINT);
CREATE TABLE metrics (key TEXT, value FLOAT, timestamp BIGINT, run_uuid TEXT, step BIGINT,
  is_nan BOOLEAN, PRIMARY KEY (key, timestamp, step, run_uuid, value, is_nan));
CREATE TABLE latest_metrics (key TEXT, value FLOAT, timestamp BIGINT, step BIGINT,
  is_nan BOOLEAN, run_uuid TEXT);
CREATE TABLE params (key TEXT, value TEXT, run_uuid TEXT);
CREATE TABLE tags (key TEXT, value TEXT, run_uuid TEXT);
INSERT INTO experiments VALUES (1, 'bench', '{root}', 'active', 0, 0);
"""


def build_source(where: Path, runs: int, steps: int) -> str:
    """An MLflow SQLite store under ``where`` (reused when complete)."""
    database, artifacts = where / "mlflow.db", where / "artifacts"
    done = where / "complete"
    if done.exists():
        return f"sqlite:///{database}"
    if where.exists():
        import shutil

        shutil.rmtree(where)
    where.mkdir(parents=True)
    peer = ROOT / ".venv-mlflow" / "bin" / "python"
    if peer.exists():
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        subprocess.run(
            [str(peer), "-c", _SCHEMA_BY_MLFLOW, f"sqlite:///{database}", str(artifacts)],
            check=True,
            env=env,
            capture_output=True,
        )
    else:
        conn = sqlite3.connect(database)
        conn.executescript(_MINIMAL_SCHEMA.format(root=artifacts))
        conn.close()
    conn = sqlite3.connect(database)
    experiment = conn.execute(
        "SELECT experiment_id FROM experiments WHERE name='bench'"
    ).fetchone()[0]
    rng = random.Random(0)
    start = 1_700_000_000_000
    payload = os.urandom(4096)
    with conn:
        for r in range(runs):
            run_id = uuid.UUID(int=rng.getrandbits(128)).hex
            uri = str(artifacts / run_id / "artifacts")
            conn.execute(
                "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, "
                "user_id, status, start_time, end_time, source_version, lifecycle_stage, "
                "artifact_uri, experiment_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (run_id, f"run-{r}", "LOCAL", "train.py", "", "bench", "FINISHED", start,
                 start + 60_000, "", "active", uri, experiment),
            )  # fmt: skip
            conn.executemany(
                "INSERT INTO params (key, value, run_uuid) VALUES (?,?,?)",
                [("lr", str(0.001 * r), run_id), ("seed", str(r), run_id)],
            )
            conn.executemany(
                "INSERT INTO tags (key, value, run_uuid) VALUES (?,?,?)",
                [("mlflow.runName", f"run-{r}", run_id), ("mlflow.user", "bench", run_id)],
            )
            conn.executemany(
                "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
                "VALUES (?,?,?,?,?,0)",
                [
                    (f"m{k}", s * 0.5 + k, start + s, run_id, s)
                    for k in range(METRICS)
                    for s in range(steps)
                ],
            )
            folder = Path(uri)
            folder.mkdir(parents=True)
            (folder / "model.bin").write_bytes(payload)
            (folder / "notes.txt").write_text(f"run {r}\n")
    conn.close()
    done.write_text("ok")
    return f"sqlite:///{database}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs, steps = (20, 100) if args.quick else (1000, 1000)
    cache = Path(os.environ.get("MLCORE_BENCH_CACHE", "/tmp/mlcore-bench-cache"))
    where = cache / f"mlflow-sqlite-{runs}x{METRICS}x{steps}"
    started = time.perf_counter()
    source = build_source(where, runs, steps)
    print(f"source {source} ready in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    points = runs * METRICS * steps

    from mlcore.importers.mlflow import import_mlflow
    from mlcore.stores.file import FileStore

    database = source[len("sqlite:///") :]
    t0 = time.perf_counter()
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    read = sum(1 for _ in conn.execute("SELECT key, value, timestamp, step FROM metrics"))
    conn.close()
    floor = time.perf_counter() - t0
    assert read == points, (read, points)

    with scratch_dir() as scratch:
        store = FileStore(os.path.join(scratch, "dest"))
        t0 = time.perf_counter()
        result = import_mlflow(source, store)
        elapsed = time.perf_counter() - t0
        assert (result.runs, result.points, result.problems) == (runs, points, [])
        experiment = store.get_experiment_by_name("bench")
        assert experiment is not None
        first = next(iter(store.search_runs([experiment.experiment_id], max_results=1)))
        assert store.metric_history(first.info.run_id, "m3").num_rows == steps
        record = store.artifact_records(first.info.run_id)["notes.txt"]
        number = first.info.name.removeprefix("run-")
        assert record.sha256 == hashlib.sha256(f"run {number}\n".encode()).hexdigest()
        t0 = time.perf_counter()
        again = import_mlflow(source, store)
        second = time.perf_counter() - t0
        assert (again.runs, again.runs_unchanged) == (0, runs)
        store.close()

    report(
        f"import an MLflow SQLite store: {runs:,} runs x {METRICS} metrics x {steps:,} steps "
        f"({points:,} points, 2 files a run)",
        [
            ("import time", f"{elapsed:.1f}s", "", ""),
            ("runs/s", fmt_rate(runs / elapsed), "", ""),
            ("points/s", fmt_rate(points / elapsed), "", ""),
            ("floor: raw sqlite3 read of the metric rows", f"{floor:.1f}s", "", ""),
            ("import / floor", f"{elapsed / floor:.1f}x", "", ""),
            ("second import (nothing new)", f"{second:.2f}s", "", ""),
        ],
    )


if __name__ == "__main__":
    main()
