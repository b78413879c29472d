"""Metric history at scale: logging rate, ``end_run``, file size and history read at
10k..10M points, mlcore vs MLflow (SQLite both), in one run.

Per size, on a fresh SQLite store:

- **logging rate**: a ``run.log_metric`` loop of N points, until stored (the loop plus
  ``end_run``, which stores what is still buffered and compacts);
- **end_run**: that ``end_run`` alone;
- **bytes/point**: how much the database file grew per point (WAL checkpointed, no VACUUM),
  and the free pages left in it (``PRAGMA freelist_count``);
- **history read**: median ``metric_history`` time;
- **end_run of a slow logger**: the same points stored in 1,000-point flushes, which the
  end-of-run compaction merges (up to ``--slow-max`` points).

Every point is read back and checked: count, steps, values bit for bit (NaN and inf
included) and timestamps in order. MLflow (its ``log_batch`` in batches of 1,000, its fastest
public path; ``log_metric`` takes minutes at 100k) runs up to ``--peer-max`` points (it reads
infinities back as the largest finite floats, which its check allows); its
database creation and migrations are outside its timers. Durability: mlcore runs WAL with
``synchronous=NORMAL``; MLflow's SQLite default (rollback journal, ``synchronous=FULL``).

``--quick`` runs 10k and 100k points (CI).
"""

from __future__ import annotations

import argparse
import math
import os
import sqlite3
import sys
import time
from typing import Any

from _common import fmt_rate, fmt_seconds, have, median_time, quiet_peers, report, scratch_dir

SIZES = (10_000, 100_000, 1_000_000, 10_000_000)
SPECIAL = {3: math.nan, 5: math.inf, 7: -math.inf, 11: -0.0}


def value_at(step: int) -> float:
    return SPECIAL.get(step, 1.0 / (step + 1))


def file_figures(path: str) -> tuple[int, int]:
    """(file bytes, free pages) after a WAL checkpoint (no VACUUM: what the user's disk holds)."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    free = connection.execute("PRAGMA freelist_count").fetchone()[0]
    connection.close()
    return os.path.getsize(path), free


def check_history(table: Any, n: int) -> None:
    import numpy as np

    assert table.num_rows == n, (table.num_rows, n)
    steps = table.column("step").to_numpy()
    values = table.column("value").to_numpy()
    timestamps = table.column("timestamp").to_numpy()
    assert np.array_equal(steps, np.arange(n)), "steps differ"
    expected = 1.0 / (np.arange(n, dtype=np.float64) + 1)
    for step, value in SPECIAL.items():
        if step < n:
            expected[step] = value
    assert np.array_equal(values.view(np.int64), expected.view(np.int64)), "values differ"
    assert bool(np.all(np.diff(timestamps) >= 0)), "timestamps out of order"


def run_mlcore(home: str, n: int, repeats: int) -> dict[str, float]:
    import mlcore

    path = f"{home}/mlcore-{n}.db"
    tracker = mlcore.Tracker(f"sqlite:///{path}")
    run = tracker.start_run("history")
    tracker.flush()
    empty, _ = file_figures(path)
    log = run.log_metric
    start = time.perf_counter()
    for step in range(n):
        log("loss", value_at(step), step=step)
    looped = time.perf_counter()
    run.end()
    ended = time.perf_counter()
    size, free = file_figures(path)
    check_history(tracker.metric_history(run.id, "loss"), n)
    read, _ = median_time(lambda: tracker.metric_history(run.id, "loss"), repeats)
    tracker.close()
    os.remove(path)
    return {
        "rate": n / (ended - start),
        "end_run": ended - looped,
        "bytes": (size - empty) / n,
        "free": free,
        "read": read,
    }


def run_slow_logger(home: str, n: int) -> dict[str, float]:
    """``end_run`` after ``n`` points stored in 1,000-point flushes (what a logger of 10k
    points/s leaves): compaction merges them, so this is its worst case."""
    import mlcore

    path = f"{home}/slow-{n}.db"
    tracker = mlcore.Tracker(f"sqlite:///{path}")
    run = tracker.start_run("history")
    tracker.flush()
    empty, _ = file_figures(path)
    now = int(time.time() * 1000)
    for first in range(0, n, 1000):
        tracker.store.log_metrics(
            [(run.id, "loss", value_at(s), now, s) for s in range(first, min(first + 1000, n))],
            batch_id=f"b{first}",
        )
    start = time.perf_counter()
    run.end()
    ended = time.perf_counter() - start
    size, free = file_figures(path)
    check_history(tracker.metric_history(run.id, "loss"), n)
    tracker.close()
    os.remove(path)
    return {"end_run": ended, "bytes": (size - empty) / n, "free": free}


def run_mlflow(home: str, n: int, repeats: int) -> dict[str, float]:
    import mlflow
    from mlflow.entities import Metric

    path = f"{home}/mlflow-{n}.db"
    mlflow.set_tracking_uri(f"sqlite:///{path}")
    client = mlflow.MlflowClient()
    experiment = client.create_experiment(f"history-{n}")
    run_id = client.create_run(experiment).info.run_id
    empty, _ = file_figures(path)
    start = time.perf_counter()
    for first in range(0, n, 1000):
        now = int(time.time() * 1000)
        client.log_batch(
            run_id,
            metrics=[
                Metric("loss", value_at(s), now, s) for s in range(first, min(first + 1000, n))
            ],
        )
    looped = time.perf_counter()
    client.set_terminated(run_id)
    ended = time.perf_counter()
    size, free = file_figures(path)
    history = client.get_metric_history(run_id, "loss")
    assert len(history) == n
    by_step = {m.step: m.value for m in history}
    for s in range(n):  # MLflow stores infinities as the largest finite floats
        want = value_at(s)
        want = math.copysign(sys.float_info.max, want) if math.isinf(want) else want
        got = by_step[s]
        assert got == want or (math.isnan(got) and math.isnan(want)), ("MLflow", s, got)
    read, _ = median_time(lambda: client.get_metric_history(run_id, "loss"), repeats)
    return {
        "rate": n / (ended - start),
        "end_run": ended - looped,
        "bytes": (size - empty) / n,
        "free": free,
        "read": read,
    }


def table_rows(
    ours: dict[str, float], peer: dict[str, float] | None, repeats: int
) -> list[tuple[str, str, str, str]]:
    def cell(name: str, fmt: Any) -> str:
        return "" if peer is None else fmt(peer[name])

    def ratio(name: str, higher_better: bool) -> str:
        if peer is None or not peer[name] or not ours[name]:
            return ""
        value = ours[name] / peer[name] if higher_better else peer[name] / ours[name]
        return f"{value:.1f}x"

    return [
        (
            "logging rate (log_metric until stored)",
            fmt_rate(ours["rate"], " pts/s"),
            cell("rate", lambda v: fmt_rate(v, " pts/s") + " (log_batch)"),
            ratio("rate", True),
        ),
        (
            "end_run",
            fmt_seconds(ours["end_run"]),
            cell("end_run", fmt_seconds),
            ratio("end_run", False),
        ),
        (
            "file growth, bytes per point",
            f"{ours['bytes']:.1f}",
            cell("bytes", lambda v: f"{v:.1f}"),
            ratio("bytes", False),
        ),
        ("free pages after end_run", f"{ours['free']:.0f}", cell("free", lambda v: f"{v:.0f}"), ""),
        (
            f"history read (median of {repeats})",
            fmt_seconds(ours["read"]),
            cell("read", fmt_seconds),
            ratio("read", False),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--peer-max", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--slow-max", type=int, default=1_000_000)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--quick", action="store_true", help="10k and 100k points (CI)")
    args = parser.parse_args()
    sizes = [10_000, 100_000] if args.quick else args.sizes
    if not have("mlflow"):
        print("MLflow: skipped (not installed)")
        args.no_peer = True
    if not args.no_peer:
        quiet_peers()
    load = os.getloadavg()[0]
    with scratch_dir() as home:
        for n in sizes:
            ours = run_mlcore(home, n, args.repeats)
            peer = (
                run_mlflow(home, n, args.repeats)
                if not args.no_peer and n <= args.peer_max
                else None
            )

            rows = table_rows(ours, peer, args.repeats)
            if n <= args.slow_max:
                slow = run_slow_logger(home, n)
                rows.append(
                    (
                        "end_run after 1,000-point flushes (compaction's worst case)",
                        fmt_seconds(slow["end_run"]),
                        "",
                        f"{slow['bytes']:.1f} bytes/point, {slow['free']:.0f} free pages",
                    )
                )
            report(f"metric history, {n:,} points, SQLite (load {load:.1f})", rows)


if __name__ == "__main__":
    main()
