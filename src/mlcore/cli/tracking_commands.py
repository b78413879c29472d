"""``mlcore experiments ...`` and ``mlcore runs ...``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from mlcore.cli.output import (
    emit_json,
    format_duration,
    format_time,
    print_mapping,
    print_table,
)

if TYPE_CHECKING:
    from mlcore.tracking import Tracker
    from mlcore.types import Run

__all__ = ["MAX_METRIC_COLUMNS", "add_parsers", "list_experiments", "list_runs", "show_run"]

MAX_METRIC_COLUMNS = 5


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    experiments = sub.add_parser("experiments", help="experiments in the store")
    exp_sub = experiments.add_subparsers(dest="action", required=True)
    exp_list = exp_sub.add_parser("list", parents=[common], help="list experiments")
    exp_list.add_argument("--view", choices=["active", "deleted", "all"], default="active")
    exp_list.set_defaults(handler=list_experiments)

    runs = sub.add_parser("runs", help="runs in the store")
    runs_sub = runs.add_subparsers(dest="action", required=True)
    runs_list = runs_sub.add_parser("list", parents=[common], help="search runs")
    runs_list.add_argument("--experiment", "-e", action="append", help="name or id (repeatable)")
    runs_list.add_argument(
        "--filter", "-f", help="e.g. \"metrics.auc > 0.9 and params.model = 'xgb'\""
    )
    runs_list.add_argument("--order-by", "-o", action="append", help='e.g. "metrics.auc DESC"')
    runs_list.add_argument("--max-results", "-n", type=int, default=100)
    runs_list.add_argument("--view", choices=["active", "deleted", "all"], default="active")
    runs_list.set_defaults(handler=list_runs)
    runs_show = runs_sub.add_parser("show", parents=[common], help="one run in detail")
    runs_show.add_argument("run_id")
    runs_show.set_defaults(handler=show_run)


def list_experiments(tracker: Tracker, args: argparse.Namespace) -> int:
    experiments = tracker.list_experiments(args.view)
    if args.json:
        emit_json([e.model_dump(mode="json") for e in experiments])
        return 0
    print_table(
        None,
        ["id", "name", "stage", "created", "artifact location"],
        [
            (
                e.experiment_id,
                e.name,
                e.lifecycle_stage.value,
                format_time(e.creation_time),
                e.artifact_location,
            )
            for e in experiments
        ],
    )
    return 0


def _run_json(run: Run) -> dict[str, Any]:
    data = run.model_dump(mode="json")
    data["run_id"] = run.id
    return data


def list_runs(tracker: Tracker, args: argparse.Namespace) -> int:
    runs = tracker.search_runs(
        args.experiment, args.filter, args.order_by, max_results=args.max_results, view=args.view
    )
    if args.json:
        emit_json({"runs": [_run_json(r) for r in runs], "next_page_token": runs.next_page_token})
        return 0
    names = {e.experiment_id: e.name for e in tracker.list_experiments("all")}
    metric_keys = sorted({k for r in runs for k in r.data.metrics})[:MAX_METRIC_COLUMNS]
    print_table(
        None,
        ["run id", "name", "experiment", "status", "started", "duration", *metric_keys],
        [
            (
                r.id,
                r.info.name,
                names.get(r.info.experiment_id, r.info.experiment_id),
                r.info.status.value,
                format_time(r.info.start_time),
                format_duration(r.info.start_time, r.info.end_time),
                *(r.data.metrics.get(k) for k in metric_keys),
            )
            for r in runs
        ],
    )
    if runs.next_page_token:
        print(f"(more runs match; raise --max-results above {args.max_results})")
    return 0


def show_run(tracker: Tracker, args: argparse.Namespace) -> int:
    run = tracker.get_run(args.run_id)
    artifacts = tracker.artifact_store(run.id).walk()
    if args.json:
        data = _run_json(run)
        data["artifacts"] = [a.model_dump(mode="json") for a in artifacts]
        emit_json(data)
        return 0
    info = run.info
    experiment = tracker.get_experiment(info.experiment_id)
    print_mapping(
        f"run {info.run_id}",
        {
            "name": info.name,
            "experiment": f"{experiment.name} ({info.experiment_id})",
            "status": info.status.value,
            "started": format_time(info.start_time),
            "ended": format_time(info.end_time),
            "duration": format_duration(info.start_time, info.end_time),
            "parent run": info.parent_run_id or "",
            "user": info.user or "",
            "artifacts": info.artifact_uri,
        },
        sort=False,
    )
    print_mapping("params", run.data.params)
    print_mapping("metrics (latest)", run.data.metrics)
    print_mapping("tags", run.data.tags)
    if artifacts:
        print_table("artifacts", ["path", "size"], [(a.path, a.size) for a in artifacts])
    return 0
