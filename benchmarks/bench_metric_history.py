"""Reading a metric's history: mlcore `metric_history` (pyarrow) vs MLflow
`get_metric_history`, SQLite, plus bytes per stored point.

Bar (issue: Foundation): 1,000,000 points in under 0.5 s. MLflow is given 100,000 points (its
history read of a million takes minutes); both sides are also compared at 100,000.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import time

from _common import (
    fmt_rate,
    fmt_seconds,
    have,
    median_time,
    quiet_peers,
    report,
    scratch_dir,
    skipped,
)


def db_bytes(path: str) -> int:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.execute("VACUUM")
    connection.close()
    return os.path.getsize(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--peer-points", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat (CI)")
    args = parser.parse_args()
    if args.quick:
        args.points, args.peer_points, args.repeats = 20_000, 2_000, 1
    quiet_peers()
    import mlcore

    rows = []
    with scratch_dir() as home:
        results = {}
        for n in (args.points, args.peer_points):
            tracker = mlcore.Tracker(f"sqlite:///{home}/mlcore-{n}.db")
            with tracker.start_run("history") as run:
                for step in range(n):
                    run.log_metric("loss", 1.0 / (step + 1), step=step)
            assert tracker.metric_history(run.id, "loss").num_rows == n
            results[n], _ = median_time(
                lambda t=tracker, r=run.id: t.metric_history(r, "loss"), args.repeats
            )
            tracker.close()
        ours_bytes = db_bytes(f"{home}/mlcore-{args.peer_points}.db") / args.peer_points
        if not have("mlflow"):
            report(
                f"metric history, SQLite (median of {args.repeats})",
                [
                    (
                        f"history of {n:,} points",
                        fmt_seconds(results[n]),
                        skipped("mlflow") if n == args.peer_points else "",
                        "",
                    )
                    for n in (args.peer_points, args.points)
                ]
                + [("SQLite bytes per metric point", f"{ours_bytes:.1f}", "", "")],
            )
            return
        import mlflow
        from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric
        from sqlalchemy.orm import Session

        mlflow.set_tracking_uri(f"sqlite:///{home}/mlflow.db")
        mlflow.set_experiment("history")
        with mlflow.start_run() as run:
            run_id = run.info.run_id
        store = mlflow.tracking._tracking_service.utils._get_store()
        now = int(time.time() * 1000)
        with Session(store.engine) as session:
            session.add_all(
                [
                    SqlMetric(
                        key="loss",
                        value=1.0 / (s + 1),
                        timestamp=now,
                        step=s,
                        is_nan=False,
                        run_uuid=run_id,
                    )
                    for s in range(args.peer_points)
                ]
                + [
                    SqlLatestMetric(
                        key="loss",
                        value=1.0 / args.peer_points,
                        timestamp=now,
                        step=args.peer_points - 1,
                        is_nan=False,
                        run_uuid=run_id,
                    )
                ]
            )
            session.commit()
        client = mlflow.MlflowClient()
        assert len(client.get_metric_history(run_id, "loss")) == args.peer_points
        peer, _ = median_time(lambda: client.get_metric_history(run_id, "loss"), 3)
        peer_bytes = db_bytes(f"{home}/mlflow.db") / args.peer_points

    rows.append(
        (
            f"history of {args.peer_points:,} points",
            fmt_seconds(results[args.peer_points]),
            fmt_seconds(peer),
            f"{peer / results[args.peer_points]:.0f}x faster",
        )
    )
    rows.append(
        (
            f"history of {args.points:,} points (mlcore only)",
            fmt_seconds(results[args.points]),
            "",
            "",
        )
    )
    rows.append(
        (
            "read throughput",
            fmt_rate(args.points / results[args.points], " pts/s"),
            fmt_rate(args.peer_points / peer, " pts/s"),
            f"{(args.points / results[args.points]) / (args.peer_points / peer):.0f}x",
        )
    )
    rows.append(
        (
            "SQLite bytes per metric point",
            f"{ours_bytes:.1f}",
            f"{peer_bytes:.1f}",
            f"{peer_bytes / ours_bytes:.1f}x smaller",
        )
    )
    report(f"metric history, SQLite (median of {args.repeats})", rows)


if __name__ == "__main__":
    main()
