"""Concurrent writers: 1, 4 and 8 processes each logging N metric points into ONE SQLite store.

Each writer is its own process (spawned). Set-up is outside the timer: the parent creates the
database (migrations) and the experiment; each writer imports its library, opens the store
and creates its run, then waits on a barrier. The timer runs from the barrier until the last
writer's points are stored (mlcore: ``log_metric`` loop + ``flush``; MLflow:
``MlflowClient.log_batch`` of 1,000, its fastest path, each call stored on return). Reported:
aggregate points/s = writers x N / (last writer done - barrier). Afterwards the parent reads
every run's history back and checks its count, steps and values.

Durability: mlcore WAL + ``synchronous=NORMAL`` (default) and ``FULL``
(``MLCORE_SQLITE_SYNCHRONOUS=FULL``); MLflow SQLite's defaults (rollback journal, ``FULL``).
MLflow is run where installed, with fewer points per writer (``--peer-points``).

    python benchmarks/bench_concurrent_writers.py [--points 100000] [--peer-points 5000]
    python benchmarks/bench_concurrent_writers.py --quick
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time
from typing import Any

from _common import fmt_rate, have, quiet_peers, report, scratch_dir, skipped, sqlite_synchronous


def value_of(writer: int, step: int) -> float:
    return writer + step / 1024  # exact in binary: checked on read-back


def mlcore_writer(uri: str, writer: int, n: int, barrier: Any, results: Any) -> None:
    import mlcore

    tracker = mlcore.Tracker(uri)
    run = tracker.start_run("writers", name=f"writer-{writer}")
    barrier.wait()
    start = time.perf_counter()
    for step in range(n):
        run.log_metric("loss", value_of(writer, step), step=step)
    tracker.flush()
    results.put((writer, run.info.run_id, start, time.perf_counter()))
    run.end()
    tracker.close()


def mlflow_writer(uri: str, writer: int, n: int, barrier: Any, results: Any) -> None:
    quiet_peers()
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.get_experiment_by_name("writers").experiment_id
    run_id = client.create_run(experiment_id, run_name=f"writer-{writer}").info.run_id
    now = int(time.time() * 1000)
    barrier.wait()
    start = time.perf_counter()
    for first in range(0, n, 1000):
        steps = range(first, min(n, first + 1000))
        client.log_batch(
            run_id, metrics=[Metric("loss", value_of(writer, s), now, s) for s in steps]
        )
    results.put((writer, run_id, start, time.perf_counter()))
    client.set_terminated(run_id)


def run_writers(kind: str, uri: str, writers: int, n: int) -> tuple[float, list[tuple[int, str]]]:
    """Aggregate points/s of ``writers`` processes, and (writer, run id) for the read-back."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(writers)
    results = context.Queue()
    target = mlcore_writer if kind == "mlcore" else mlflow_writer
    processes = [
        context.Process(target=target, args=(uri, w, n, barrier, results)) for w in range(writers)
    ]
    for process in processes:
        process.start()
    done = [results.get(timeout=900) for _ in processes]
    for process in processes:
        process.join(120)
        assert process.exitcode == 0, f"{kind} writer exited with {process.exitcode}"
    elapsed = max(end for *_, end in done) - min(start for _, _, start, _ in done)
    return writers * n / elapsed, [(w, run_id) for w, run_id, *_ in done]


def check_mlcore(uri: str, runs: list[tuple[int, str]], n: int) -> None:
    import mlcore

    with mlcore.Tracker(uri) as tracker:
        for writer, run_id in runs:
            history = tracker.metric_history(run_id, "loss")
            assert history.num_rows == n, (writer, history.num_rows)
            assert history.column("step").to_pylist() == list(range(n))
            assert history.column("value").to_pylist() == [value_of(writer, s) for s in range(n)]


def check_mlflow(uri: str, runs: list[tuple[int, str]], n: int) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    for writer, run_id in runs:
        history = sorted(client.get_metric_history(run_id, "loss"), key=lambda m: m.step)
        assert len(history) == n, (writer, len(history))
        assert [m.value for m in history] == [value_of(writer, s) for s in range(n)]


def measure(kind: str, writers: int, n: int, repeats: int) -> float:
    rates = []
    for _ in range(repeats):
        with scratch_dir() as home:
            if kind == "mlflow":
                from mlflow.tracking import MlflowClient

                uri = f"sqlite:///{home}/mlflow.db"
                MlflowClient(tracking_uri=uri).create_experiment("writers")  # db + migrations
            else:
                import mlcore

                uri = f"sqlite:///{home}/mlcore.db"
                with mlcore.Tracker(uri) as tracker:
                    tracker.get_or_create_experiment("writers")  # db + migrations
            rate, runs = run_writers(kind, uri, writers, n)
            (check_mlflow if kind == "mlflow" else check_mlcore)(uri, runs, n)
            rates.append(rate)
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--points", type=int, default=100_000, help="per writer (mlcore)")
    parser.add_argument("--peer-points", type=int, default=5_000, help="per writer (MLflow)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat (CI)")
    args = parser.parse_args()
    if args.quick:
        args.writers, args.points, args.peer_points, args.repeats = [2], 5_000, 2_000, 1
    quiet_peers()
    peer = have("mlflow")
    rows = []
    for writers in args.writers:
        ours = measure("mlcore", writers, args.points, args.repeats)
        ours_full = None
        if not args.quick:  # the same code under another setting: left to the full run
            with sqlite_synchronous("FULL"):
                ours_full = measure("mlcore", writers, args.points, args.repeats)
        theirs = measure("mlflow", writers, args.peer_points, args.repeats) if peer else None
        theirs_cell = skipped("mlflow") if theirs is None else fmt_rate(theirs, " pts/s")
        rows.append((
            f"{writers} writer(s) x {args.points:,} points (MLflow x {args.peer_points:,})",
            f"{fmt_rate(ours, ' pts/s')} (NORMAL)"
            + ("" if ours_full is None else f"; {fmt_rate(ours_full, ' pts/s')} (FULL)"),
            theirs_cell,
            ("" if theirs is None else f"{ours / theirs:,.0f}x")
            + ("" if theirs is None or ours_full is None
               else f"; {ours_full / theirs:,.0f}x (FULL)"),
        ))  # fmt: skip
        print(rows[-1], flush=True)
    report(
        f"concurrent writer processes, one SQLite store, aggregate points/s until stored "
        f"(median of {args.repeats}; every point read back and checked; MLflow: log_batch of "
        f"1,000, rollback journal + FULL)",
        rows,
    )
    print(f"\nmachine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
