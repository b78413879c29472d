"""The logging hot path on SQLite: `log_metric` in a loop until stored, and start_run + end_run.

mlcore: fluent `mlcore.log_metric` + `mlcore.flush()`. MLflow: `mlflow.log_metric` (synchronous,
its default) and `MlflowClient.log_batch` of 1,000 points.

Inside the timers: the calls and, for mlcore, the final flush (MLflow's calls return once
stored). Outside: creating the database and running migrations, creating the experiment and
the run (a row of its own measures creating a store). After each timer the points or runs are
read back and counted.

Durability (stated in every table): mlcore's SQLite runs WAL with ``synchronous=NORMAL`` by
default; MLflow keeps SQLite's defaults (rollback journal, ``synchronous=FULL``: every commit
synced). The equal-settings rows run mlcore with ``MLCORE_SQLITE_SYNCHRONOUS=FULL`` (every
commit synced), and MLflow with WAL + ``synchronous=NORMAL`` set on its own engine through a
SQLAlchemy ``connect`` event (the settings mlcore uses).

Bar (issue: Foundation): >= 200,000 points/s and >= 100x MLflow.

    python benchmarks/bench_logging.py [--points 500000] [--peer-points 300] [--repeats 5]
    python benchmarks/bench_logging.py --quick
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from _common import (
    fmt_rate,
    fmt_seconds,
    have,
    quiet_peers,
    ratio,
    report,
    scratch_dir,
    skipped,
    sqlite_synchronous,
)


def median_of(fn: Callable[[], float], repeats: int) -> float:
    """Median of ``fn``'s own timings (each call sets up, times its part, checks, cleans up)."""
    return statistics.median(fn() for _ in range(repeats))


# -- mlcore -----------------------------------------------------------------------------------


def mlcore_log_metric(n: int) -> float:
    import mlcore

    with scratch_dir() as home:
        mlcore.set_tracking_uri(os.path.join(home, "store"))
        with mlcore.start_run() as run:
            start = time.perf_counter()
            for i in range(n):
                mlcore.log_metric("loss", 0.5, step=i)
            mlcore.flush()
            elapsed = time.perf_counter() - start
        history = mlcore.metric_history(run.id, "loss")
        assert history.num_rows == n, history.num_rows
        assert history.column("step").to_pylist()[-1] == n - 1
        assert set(history.column("value").to_pylist()) == {0.5}
        mlcore.get_tracker().close()
    return elapsed


def mlcore_start_end(n: int) -> float:
    import mlcore

    with scratch_dir() as home:
        tracker = mlcore.Tracker(os.path.join(home, "store"))
        tracker.get_or_create_experiment("bench")
        with tracker.start_run("bench"):
            pass  # warm: first-run paths
        start = time.perf_counter()
        for _ in range(n):
            with tracker.start_run("bench"):
                pass
        elapsed = time.perf_counter() - start
        runs = tracker.search_runs("bench", "attributes.status = 'FINISHED'", max_results=n + 1)
        assert len(runs) == n + 1, len(runs)
        tracker.close()
    return elapsed


def mlcore_create_store() -> float:
    import mlcore

    with scratch_dir() as home:
        start = time.perf_counter()
        tracker = mlcore.Tracker(os.path.join(home, "store"))
        tracker.get_or_create_experiment("bench")
        elapsed = time.perf_counter() - start
        assert tracker.get_experiment_by_name("bench") is not None
        tracker.close()
    return elapsed


# -- MLflow -----------------------------------------------------------------------------------


def mlflow_store(home: str, wal: bool = False) -> Any:
    """A fresh MLflow SQLite store with experiment "bench" (database created, migrated).

    ``wal``: the settings mlcore uses (WAL, ``synchronous=NORMAL``), applied to MLflow's own
    engine by a ``connect`` event; the pool is emptied so every connection gets them."""
    import mlflow
    from sqlalchemy import event

    mlflow.set_tracking_uri(f"sqlite:///{home}/mlflow.db")
    mlflow.set_experiment("bench")
    store = mlflow.tracking._tracking_service.utils._get_store()
    if wal:

        def pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        event.listen(store.engine, "connect", pragmas)
        store.engine.dispose()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    return store


def mlflow_log_metric(n: int) -> float:
    import mlflow

    with scratch_dir() as home:
        mlflow_store(home)
        with mlflow.start_run() as run:
            start = time.perf_counter()
            for i in range(n):
                mlflow.log_metric("loss", 0.5, step=i)
            elapsed = time.perf_counter() - start
        history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "loss")
        assert len(history) == n, len(history)
        assert {m.value for m in history} == {0.5}
    return elapsed


def mlflow_log_batch(n: int) -> float:
    import mlflow
    from mlflow.entities import Metric

    with scratch_dir() as home:
        mlflow_store(home)
        client = mlflow.MlflowClient()
        with mlflow.start_run() as run:
            start = time.perf_counter()
            for first in range(0, n, 1000):
                client.log_batch(
                    run.info.run_id,
                    metrics=[Metric("loss", 0.5, 0, i) for i in range(first, min(n, first + 1000))],
                )
            elapsed = time.perf_counter() - start
        assert len(client.get_metric_history(run.info.run_id, "loss")) == n
    return elapsed


def mlflow_start_end(n: int, wal: bool = False) -> float:
    import mlflow

    with scratch_dir() as home:
        mlflow_store(home, wal)
        with mlflow.start_run():
            pass  # warm: first-run paths
        start = time.perf_counter()
        for _ in range(n):
            with mlflow.start_run():
                pass
        elapsed = time.perf_counter() - start
        runs = mlflow.search_runs(
            experiment_names=["bench"], filter_string="attributes.status = 'FINISHED'"
        )
        assert len(runs) == n + 1, len(runs)
    return elapsed


def mlflow_create_store() -> float:
    with scratch_dir() as home:
        start = time.perf_counter()
        store = mlflow_store(home)
        elapsed = time.perf_counter() - start
        assert store.get_experiment_by_name("bench") is not None
    return elapsed


# -- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=500_000)
    parser.add_argument("--peer-points", type=int, default=300)
    parser.add_argument("--batch-points", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat (CI)")
    args = parser.parse_args()
    if args.quick:
        args.points, args.peer_points, args.batch_points = 20_000, 50, 2_000
        args.runs, args.repeats = 10, 1
    peer_repeats = min(3, args.repeats)
    quiet_peers()
    peer = have("mlflow")
    import mlcore  # noqa: F401  (imports outside the timed region)

    if peer:
        import mlflow  # noqa: F401

        mlflow_start_end(2)  # warm up MLflow's schema creation code paths
    mlcore_start_end(2)
    n, runs = args.points, args.runs

    ours = n / median_of(lambda: mlcore_log_metric(n), args.repeats)
    with sqlite_synchronous("FULL"):
        ours_full = n / median_of(lambda: mlcore_log_metric(n), args.repeats)
    ours_run = median_of(lambda: mlcore_start_end(runs), args.repeats) / runs
    with sqlite_synchronous("FULL"):
        ours_run_full = median_of(lambda: mlcore_start_end(runs), args.repeats) / runs
    ours_create = median_of(mlcore_create_store, args.repeats)
    theirs = theirs_batch = theirs_run = theirs_run_wal = theirs_create = None
    if peer:
        theirs = args.peer_points / median_of(
            lambda: mlflow_log_metric(args.peer_points), peer_repeats
        )
        theirs_batch = args.batch_points / median_of(
            lambda: mlflow_log_batch(args.batch_points), peer_repeats
        )
        theirs_run = median_of(lambda: mlflow_start_end(runs), peer_repeats) / runs
        theirs_run_wal = median_of(lambda: mlflow_start_end(runs, wal=True), peer_repeats) / runs
        theirs_create = median_of(mlflow_create_store, peer_repeats)

    def rate(value: float | None) -> str:
        return skipped("mlflow") if value is None else fmt_rate(value, " pts/s")

    def secs(value: float | None) -> str:
        return skipped("mlflow") if value is None else fmt_seconds(value)

    def faster(ours_rate: float, peer_rate: float | None) -> str:
        return "" if peer_rate is None else f"{ours_rate / peer_rate:,.0f}x"

    report(
        f"logging on SQLite (median of {args.repeats}, MLflow {peer_repeats}; set-up outside "
        "the timers; durability: mlcore WAL+NORMAL, MLflow rollback journal+FULL unless marked)",
        [
            (
                f"log_metric loop until stored ({n:,} vs {args.peer_points:,} calls)",
                rate(ours),
                rate(theirs),
                faster(ours, theirs),
            ),
            (
                "same, equal durability: both sync every commit (mlcore FULL)",
                rate(ours_full),
                rate(theirs),
                faster(ours_full, theirs),
            ),
            (
                f"vs MLflow log_batch of 1,000 ({args.batch_points:,} points)",
                rate(ours),
                rate(theirs_batch),
                faster(ours, theirs_batch),
            ),
            (
                "same, equal durability (mlcore FULL)",
                rate(ours_full),
                rate(theirs_batch),
                faster(ours_full, theirs_batch),
            ),
            (
                f"start_run + end_run (mean of {runs})",
                fmt_seconds(ours_run),
                secs(theirs_run),
                ratio(ours_run, theirs_run),
            ),
            (
                "same, equal durability: both sync every commit (mlcore FULL)",
                fmt_seconds(ours_run_full),
                secs(theirs_run),
                ratio(ours_run_full, theirs_run),
            ),
            (
                "same, equal durability: both WAL+NORMAL (MLflow's engine via connect event)",
                fmt_seconds(ours_run),
                secs(theirs_run_wal),
                ratio(ours_run, theirs_run_wal),
            ),
            (
                "create a store: database + migrations + experiment (included here)",
                fmt_seconds(ours_create),
                secs(theirs_create),
                ratio(ours_create, theirs_create),
            ),
        ],
    )


if __name__ == "__main__":
    main()
