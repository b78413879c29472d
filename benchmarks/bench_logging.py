"""The logging hot path on SQLite: `log_metric` in a loop until everything is stored.

mlcore: fluent `mlcore.log_metric` + `mlcore.flush()`. MLflow: `mlflow.log_metric` (synchronous,
its default) and `MlflowClient.log_batch` of 1,000 points. Also `start_run` + `end_run`.
Bar (issue: Foundation): >= 200,000 points/s and >= 100x MLflow.
"""

from __future__ import annotations

import argparse
import os

from _common import fmt_rate, fmt_seconds, median_time, quiet_peers, report, scratch_dir


def mlcore_log_metric(n: int) -> None:
    import mlcore

    with scratch_dir() as home:
        mlcore.set_tracking_uri(os.path.join(home, "store"))
        with mlcore.start_run():
            for i in range(n):
                mlcore.log_metric("loss", 0.5, step=i)
            mlcore.flush()
        mlcore.get_tracker().close()


def mlcore_start_end(n: int) -> None:
    import mlcore

    with scratch_dir() as home:
        tracker = mlcore.Tracker(os.path.join(home, "store"))
        tracker.get_or_create_experiment("bench")
        for _ in range(n):
            with tracker.start_run("bench"):
                pass
        tracker.close()


def mlflow_log_metric(n: int) -> None:
    import mlflow

    with scratch_dir() as home:
        mlflow.set_tracking_uri(f"sqlite:///{home}/mlflow.db")
        mlflow.set_experiment("bench")
        with mlflow.start_run():
            for i in range(n):
                mlflow.log_metric("loss", 0.5, step=i)


def mlflow_log_batch(n: int) -> None:
    import mlflow
    from mlflow.entities import Metric

    with scratch_dir() as home:
        mlflow.set_tracking_uri(f"sqlite:///{home}/mlflow.db")
        mlflow.set_experiment("bench")
        client = mlflow.MlflowClient()
        with mlflow.start_run() as run:
            for start in range(0, n, 1000):
                client.log_batch(
                    run.info.run_id,
                    metrics=[Metric("loss", 0.5, 0, i) for i in range(start, min(n, start + 1000))],
                )


def mlflow_start_end(n: int) -> None:
    import mlflow

    with scratch_dir() as home:
        mlflow.set_tracking_uri(f"sqlite:///{home}/mlflow.db")
        mlflow.set_experiment("bench")
        for _ in range(n):
            with mlflow.start_run():
                pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=500_000)
    parser.add_argument("--peer-points", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    quiet_peers()
    import mlflow  # noqa: F401  (import outside the timed region)

    import mlcore  # noqa: F401

    mlflow_start_end(2)  # warm up MLflow's schema creation code paths
    ours, _ = median_time(lambda: mlcore_log_metric(args.points), args.repeats)
    peer, _ = median_time(lambda: mlflow_log_metric(args.peer_points), 3)
    batch, _ = median_time(lambda: mlflow_log_batch(20_000), 3)
    ours_rate, peer_rate, batch_rate = args.points / ours, args.peer_points / peer, 20_000 / batch
    runs = 50
    ours_run, _ = median_time(lambda: mlcore_start_end(runs), 3)
    peer_run, _ = median_time(lambda: mlflow_start_end(runs), 3)
    report(
        "log_metric until stored, SQLite (median; run creation and store setup included)",
        [
            (
                f"log_metric loop ({args.points:,} vs {args.peer_points:,} calls)",
                fmt_rate(ours_rate, " pts/s"),
                fmt_rate(peer_rate, " pts/s"),
                f"{ours_rate / peer_rate:,.0f}x",
            ),
            (
                "vs MLflow log_batch of 1,000 (20,000 points)",
                fmt_rate(ours_rate, " pts/s"),
                fmt_rate(batch_rate, " pts/s"),
                f"{ours_rate / batch_rate:,.0f}x",
            ),
            (
                f"start_run + end_run (mean of {runs})",
                fmt_seconds(ours_run / runs),
                fmt_seconds(peer_run / runs),
                f"{peer_run / ours_run:.1f}x faster",
            ),
        ],
    )


if __name__ == "__main__":
    main()
