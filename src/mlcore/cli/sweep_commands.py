"""``mlcore sweep FILE.yaml``, ``mlcore sweep show|resume ID``, ``mlcore agent ID``."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import TYPE_CHECKING, Any

from mlcore.cli.output import emit_json, print_table

if TYPE_CHECKING:
    from mlcore.tracking import Tracker

__all__ = ["add_parsers", "agent_command", "sweep_command"]


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, help="trials to run here (default: run_cap/grid)")
    parser.add_argument("--parallelism", "-p", type=int, default=1)
    parser.add_argument("--executor", default="local", help="local, process, dask...")


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    sweep = sub.add_parser(
        "sweep",
        parents=[common],
        help="run a W&B-format sweep (FILE.yaml), or show/resume one (ID)",
        description=(
            "mlcore sweep FILE.yaml [--count N] runs the config's program once per trial; "
            "mlcore sweep show ID prints the trials and parameter importance; "
            "mlcore sweep resume ID goes on where a sweep stopped."
        ),
    )
    sweep.add_argument("target", help="FILE.yaml, or show / resume")
    sweep.add_argument("sweep_id", nargs="?", help="the sweep's id (show, resume)")
    sweep.add_argument("--experiment", "-e", help="experiment for a new sweep")
    _run_options(sweep)
    sweep.set_defaults(handler=sweep_command)
    agent = sub.add_parser(
        "agent", parents=[common], help="add a worker to a sweep (W&B's `wandb agent`)"
    )
    agent.add_argument("sweep_id")
    _run_options(agent)
    agent.set_defaults(handler=agent_command)


def sweep_command(tracker: Tracker, args: argparse.Namespace) -> int:
    from mlcore.errors import InvalidInputError
    from mlcore.sweep import Sweep

    if args.target == "show":
        return _show(tracker, _need_id(args), json_out=args.json)
    if args.target == "resume":
        return _go(Sweep.load(_need_id(args), tracker=tracker), args)
    if not os.path.isfile(args.target):
        raise InvalidInputError(f"{args.target!r} is not a sweep config file (or show/resume)")
    with open(args.target, encoding="utf-8") as handle:
        text = handle.read()
    created = Sweep.create(text, tracker=tracker, experiment=args.experiment)
    if created.config.program is None:
        raise InvalidInputError("the sweep config needs a program to run from the command line")
    program = created.config.program
    if not os.path.isabs(program):  # relative to the config file, as W&B reads it
        base = os.path.dirname(os.path.abspath(args.target))
        created.config = dataclasses.replace(created.config, program=os.path.join(base, program))
    print(f"sweep {created.id}: add workers with `mlcore agent {created.id}`", file=sys.stderr)
    return _go(created, args)


def agent_command(tracker: Tracker, args: argparse.Namespace) -> int:
    from mlcore.sweep import Sweep

    return _go(Sweep.load(args.sweep_id, tracker=tracker), args)


def _need_id(args: argparse.Namespace) -> str:
    from mlcore.errors import InvalidInputError

    if not args.sweep_id:
        raise InvalidInputError(f"mlcore sweep {args.target} needs a sweep id")
    return str(args.sweep_id)


def _go(sweep: Any, args: argparse.Namespace) -> int:
    sweep.run(count=args.count, parallelism=args.parallelism, executor=args.executor)
    return _show(sweep.tracker, sweep.id, json_out=args.json)


def _show(tracker: Tracker, sweep_id: str, json_out: bool = False) -> int:
    from mlcore.sweep import Sweep

    sweep = Sweep.load(sweep_id, tracker=tracker)
    table = sweep.runs_table().to_pylist()
    best = sweep.best_run
    importance = sweep.importance()
    if json_out:
        emit_json(
            {
                "id": sweep.id,
                "method": sweep.config.method,
                "metric": sweep.config.metric,
                "best_run": best.info.run_id if best else None,
                "trials": table,
                "importance": importance,
            }
        )
        return 0
    columns = list(table[0]) if table else ["run_id", "trial", "status"]
    print_table(
        f"sweep {sweep.id} ({sweep.config.method}, {sweep.config.goal} {sweep.config.metric})",
        columns,
        [[row[c] for c in columns] for row in table],
    )
    if best is not None:
        print(f"best: {best.info.run_id} {sweep.config.metric}={sweep.value_of(best)}")
    if importance:
        print_table(
            "parameter importance (fANOVA)", ["parameter", "importance"], list(importance.items())
        )
    from mlcore.sweep.report import PLOT_FILE

    if any(f.path == PLOT_FILE for f in tracker.list_artifacts(sweep.id)):
        print(f"parallel coordinates: artifact {PLOT_FILE} of run {sweep.id}")
    return 0
