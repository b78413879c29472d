"""A run's lifecycle on SQLite: ``start_run`` + ``end_run`` of an empty run, side by side with
MLflow, against the floor of the machine (two raw ``sqlite3`` transactions) in the same run.

mlcore: ``with tracker.start_run("bench"): pass`` (a Tracker) and ``with mlcore.start_run():
pass`` (fluent). MLflow: ``with mlflow.start_run(): pass``. Set-up (database creation,
migrations, the experiment) is outside every timer. Each side reads its runs back and checks
their count and status.

Durability: mlcore runs SQLite in WAL with ``synchronous=NORMAL``; MLflow uses SQLite's
defaults (a rollback journal, ``synchronous=FULL``, a sync per commit). The "equal settings"
rows give MLflow WAL + ``synchronous=NORMAL`` too. The floor uses WAL + NORMAL, inserts a
run row with two tags in one transaction and updates it in a second.

Goal (issue 16): start + end <= 0.3 ms.
Run: ``python benchmarks/bench_lifecycle.py`` (``--quick`` for a short run, as in CI).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import time
import uuid
from collections.abc import Callable

from _common import fmt_seconds, have, quiet_peers, report, scratch_dir


def per_run(fn: Callable[[int], None], runs: int, repeats: int) -> float:
    """Median over ``repeats`` of the mean time of one start + end in ``fn(runs)``."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(runs)
        samples.append((time.perf_counter() - start) / runs)
    return statistics.median(samples)


def sqlite_floor(home: str, runs: int, repeats: int) -> float:
    """Two transactions a run: insert it with two tags, then set its end."""
    db = sqlite3.connect(os.path.join(home, "floor.db"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE runs (run_pk INTEGER PRIMARY KEY, run_id TEXT UNIQUE, experiment_id INT,"
        " name TEXT, status TEXT, start_time INT, end_time INT, parent_run_id TEXT,"
        ' "user" TEXT, artifact_uri TEXT, lifecycle_stage TEXT, alive_until INT, config TEXT)'
    )
    db.execute("CREATE TABLE tags (run_pk INT, key TEXT, value TEXT, PRIMARY KEY (run_pk, key))")

    def pairs(n: int) -> None:
        for _ in range(n):
            run_id = uuid.uuid4().hex
            now = time.time_ns() // 1_000_000
            db.execute("BEGIN IMMEDIATE")
            cursor = db.execute(
                "INSERT INTO runs (run_id, experiment_id, name, status, start_time, end_time,"
                ' parent_run_id, "user", artifact_uri, lifecycle_stage, alive_until, config)'
                " VALUES (?, 1, 'swift-otter-1', 'RUNNING', ?, NULL, NULL, 'me', ?, 'active',"
                " ?, '{}')",
                (run_id, now, f"file:///tmp/artifacts/1/{run_id}", now + 60_000),
            )
            pk = cursor.lastrowid
            db.executemany(
                "INSERT INTO tags VALUES (?, ?, ?)",
                [(pk, "mlcore.source.name", "/bench.py"), (pk, "mlcore.source.git.commit", "0")],
            )
            db.execute("COMMIT")
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "UPDATE runs SET status = 'FINISHED', end_time = ?, alive_until = NULL"
                " WHERE run_id = ?",
                (now, run_id),
            )
            db.execute("COMMIT")

    result = per_run(pairs, runs, repeats)
    finished = db.execute("SELECT count(*) FROM runs WHERE status = 'FINISHED'").fetchone()[0]
    assert finished == runs * repeats, finished
    db.close()
    return result


def mlcore_tracker(home: str, runs: int, repeats: int, synchronous: str | None = None) -> float:
    import mlcore

    tracker = mlcore.Tracker(f"sqlite:///{home}/mlcore-{synchronous or 'default'}.db")
    if synchronous is not None:
        from sqlalchemy import event

        engine = tracker.store.engine  # type: ignore[attr-defined]

        @event.listens_for(engine, "connect")
        def _sync(dbapi_connection: object, _record: object) -> None:
            dbapi_connection.execute(f"PRAGMA synchronous={synchronous}")  # type: ignore[attr-defined]

        engine.dispose()
    experiment_id = tracker.get_or_create_experiment("bench").experiment_id

    def pairs(n: int) -> None:
        for _ in range(n):
            with tracker.start_run("bench"):
                pass

    pairs(5)  # warm up: the connection pool, compiled statements
    result = per_run(pairs, runs, repeats)
    stored = tracker.search_runs("bench", "attributes.status = 'FINISHED'", max_results=50_000)
    assert len(stored) == runs * repeats + 5, len(stored)
    assert all(r.info.experiment_id == experiment_id and r.info.end_time for r in stored)
    tracker.close()
    return result


def mlcore_fluent(home: str, runs: int, repeats: int) -> float:
    import mlcore

    mlcore.set_tracking_uri(f"sqlite:///{home}/fluent.db")
    mlcore.set_experiment("bench")

    def pairs(n: int) -> None:
        for _ in range(n):
            with mlcore.start_run():
                pass

    pairs(5)
    result = per_run(pairs, runs, repeats)
    tracker = mlcore.get_tracker()
    stored = tracker.search_runs("bench", "attributes.status = 'FINISHED'", max_results=50_000)
    assert len(stored) == runs * repeats + 5, len(stored)
    tracker.close()
    return result


def mlflow_runs(home: str, runs: int, repeats: int, wal: bool) -> float:
    import mlflow
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    name = "mlflow-wal.db" if wal else "mlflow.db"

    def settings(dbapi_connection: object, _record: object) -> None:
        execute = dbapi_connection.cursor().execute  # type: ignore[attr-defined]
        execute("PRAGMA journal_mode=WAL")
        execute("PRAGMA synchronous=NORMAL")

    if wal:
        event.listen(Engine, "connect", settings)
    try:
        mlflow.set_tracking_uri(f"sqlite:///{home}/{name}")
        mlflow.set_experiment("bench")  # creates the database: outside the timers

        def pairs(n: int) -> None:
            for _ in range(n):
                with mlflow.start_run():
                    pass

        pairs(5)
        result = per_run(pairs, runs, repeats)
        stored = mlflow.search_runs(
            experiment_names=["bench"], filter_string="attributes.status = 'FINISHED'"
        )
        assert len(stored) == runs * repeats + 5, len(stored)
    finally:
        if wal:
            event.remove(Engine, "connect", settings)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a short run (CI)")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    runs, repeats = (20, 3) if args.quick else (args.runs, args.repeats)
    has_mlflow = have("mlflow")
    if has_mlflow:
        quiet_peers()
    else:
        print("MLflow: skipped (not installed)")
    rows = []
    with scratch_dir() as home:
        floor = sqlite_floor(home, runs, repeats)
        tracker = mlcore_tracker(home, runs, repeats)
        fluent = mlcore_fluent(home, runs, repeats)
        tracker_full = mlcore_tracker(home, runs, repeats, synchronous="FULL")
        rows.append(("raw sqlite3 floor (2 transactions, WAL, NORMAL)", fmt_seconds(floor), "", ""))
        peer = peer_wal = None
        if has_mlflow:
            peer = mlflow_runs(home, max(runs // 5, 10), repeats, wal=False)
            peer_wal = mlflow_runs(home, max(runs // 5, 10), repeats, wal=True)
        for what, ours, theirs in (
            ("Tracker start+end (mlcore WAL NORMAL; MLflow its defaults)", tracker, peer),
            ("fluent start+end (same settings)", fluent, peer),
            ("Tracker start+end, equal settings (WAL, NORMAL)", tracker, peer_wal),
            ("Tracker start+end, mlcore synchronous=FULL", tracker_full, None),
        ):
            rows.append(
                (
                    what,
                    f"{fmt_seconds(ours)} ({ours / floor:.1f}x floor)",
                    fmt_seconds(theirs) if theirs else "-",
                    f"{theirs / ours:.1f}x faster" if theirs else "-",
                )
            )
    report(f"start_run + end_run on SQLite (median of {repeats} x {runs} runs)", rows)


if __name__ == "__main__":
    main()
