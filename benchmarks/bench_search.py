"""Searching 10,000 runs with a three-clause filter: mlcore vs MLflow, SQLite, same data.

Bar (issue: Foundation): >= 10x faster than MLflow.
"""

from __future__ import annotations

import argparse
import os

from _common import fmt_seconds, have, median_time, quiet_peers, report, scratch_dir, skipped
from populate import populate_mlcore, populate_mlflow, run_specs

FILTER = "metrics.acc > 0.5 and params.lr = '0.01' and tags.team = 'a'"
TWO = "metrics.acc > 0.5 and params.lr = '0.01'"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--bare", action="store_true", help="runs without the system tags each client adds"
    )
    parser.add_argument("--quick", action="store_true", help="500 runs, one repeat (CI)")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.repeats = 500, 1
    quiet_peers()
    peer_installed = have("mlflow")

    specs = run_specs(args.runs)
    expected = sum(
        1
        for s in specs
        if s["metrics"]["acc"] > 0.5 and s["params"]["lr"] == "0.01" and s["tags"]["team"] == "a"
    )
    with scratch_dir() as home:
        tracker = populate_mlcore(os.path.join(home, "store"), specs, not args.bare)
        if peer_installed:
            import mlflow

            experiment_id = populate_mlflow(f"sqlite:///{home}/mlflow.db", specs, not args.bare)
            client = mlflow.MlflowClient()

        def ours() -> None:
            assert len(tracker.search_runs("search-bench", FILTER, max_results=1000)) == expected

        def peer() -> None:
            assert len(client.search_runs([experiment_id], FILTER, max_results=1000)) == expected

        def ours_top() -> None:
            tracker.search_runs("search-bench", TWO, ["metrics.acc DESC"], max_results=100)

        def peer_top() -> None:
            client.search_runs([experiment_id], TWO, order_by=["metrics.acc DESC"], max_results=100)

        def ours_table() -> None:
            assert tracker.runs_table("search-bench", FILTER).num_rows == expected

        def peer_frame() -> None:
            assert len(mlflow.search_runs([experiment_id], FILTER)) == expected

        rows = []
        for what, a, b in (
            (f"3-clause filter -> {expected} runs", ours, peer),
            ("2-clause filter, top 100 by metric", ours_top, peer_top),
            ("3-clause filter as a table (pyarrow vs pandas)", ours_table, peer_frame),
        ):
            a()
            t_ours, _ = median_time(a, args.repeats)
            if not peer_installed:
                rows.append((what, fmt_seconds(t_ours), skipped("mlflow"), ""))
                continue
            b()  # warm caches on both sides
            t_peer, _ = median_time(b, args.repeats)
            rows.append(
                (what, fmt_seconds(t_ours), fmt_seconds(t_peer), f"{t_peer / t_ours:.1f}x faster")
            )
        tracker.close()
    kind = "bare runs" if args.bare else "runs with each client's system tags"
    report(f"search_runs over {args.runs:,} {kind}, SQLite (median of {args.repeats})", rows)


if __name__ == "__main__":
    main()
