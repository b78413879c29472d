"""``mlcore pipeline compile | run | runs list | runs show``."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mlcore.cli.output import emit_json, format_duration, format_time, print_mapping, print_table
from mlcore.errors import InvalidInputError

if TYPE_CHECKING:
    from mlcore.pipeline import Pipeline, StepInfo
    from mlcore.pipeline.spec import PipelineSpec
    from mlcore.tracking import Tracker

__all__ = [
    "PIPELINE_TAG",
    "add_parsers",
    "compile_pipeline",
    "list_pipeline_runs",
    "load_pipeline",
    "parse_arguments",
    "run_pipeline",
    "show_pipeline_run",
]

PIPELINE_TAG = "mlcore.pipeline.name"


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser("pipeline", help="compile and run pipelines, inspect their runs")
    actions = group.add_subparsers(dest="action", required=True)

    compile_ = actions.add_parser(
        "compile",
        parents=[common],
        help="write a @pipeline as a YAML spec",
        description="SOURCE is FILE.py:NAME or package.module:NAME (a @pipeline object).",
    )
    compile_.add_argument("source", metavar="SOURCE")
    compile_.add_argument(
        "--output", "-o", required=True, help="the file to write: .yaml/.yml (YAML) or .json"
    )
    compile_.set_defaults(handler=compile_pipeline, needs_tracker=False)

    run = actions.add_parser(
        "run", parents=[common], help="run a pipeline (a YAML spec or FILE.py:NAME)"
    )
    run.add_argument("source", metavar="SOURCE", help="x.yaml, FILE.py:NAME or module:NAME")
    run.add_argument(
        "--arg",
        "-a",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a pipeline argument (repeatable; lists/dicts as JSON or YAML)",
    )
    run.add_argument(
        "--executor", "-x", default="local", help="local (default), process, dask, kubernetes"
    )
    run.add_argument(
        "--executor-option",
        "-X",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an executor option, e.g. workers=4",
    )
    run.add_argument("--experiment", "-e", help="experiment (default: the pipeline's name)")
    run.add_argument("--run-name", help="name of the pipeline run")
    run.add_argument("--no-cache", action="store_true", help="run every step again")
    run.add_argument("--fail-fast", action="store_true", help="stop everything on a failure")
    run.add_argument(
        "--resume",
        metavar="RUN_ID",
        help="run a failed pipeline run again, reusing its succeeded steps",
    )
    run.add_argument("--no-progress", action="store_true", help="no live view of the steps")
    run.set_defaults(handler=run_pipeline)

    runs = actions.add_parser("runs", help="pipeline runs in the store")
    runs_actions = runs.add_subparsers(dest="runs_action", required=True)
    runs_list = runs_actions.add_parser("list", parents=[common], help="recent pipeline runs")
    runs_list.add_argument("--pipeline", "-p", help="only runs of this pipeline")
    runs_list.add_argument("--max-results", "-n", type=int, default=20)
    runs_list.set_defaults(handler=list_pipeline_runs)
    runs_show = runs_actions.add_parser(
        "show", parents=[common], help="a pipeline run and its steps"
    )
    runs_show.add_argument("run_id")
    runs_show.set_defaults(handler=show_pipeline_run)


# -- loading ------------------------------------------------------------------------------------
def load_pipeline(source: str) -> Pipeline:
    """A pipeline from ``x.yaml``, ``FILE.py:NAME`` or ``package.module:NAME``."""
    from mlcore.pipeline import Pipeline

    if source.endswith((".yaml", ".yml")) and ":" not in os.path.basename(source):
        if not os.path.exists(source):
            raise InvalidInputError(f"no pipeline file {source}")
        return Pipeline.from_yaml(source)
    location, sep, name = source.rpartition(":")
    if not sep or not location or not name:
        raise InvalidInputError(
            f"{source!r}: give a YAML spec, FILE.py:NAME or package.module:NAME"
        )
    if location.endswith(".py"):
        import runpy

        if not os.path.exists(location):
            raise InvalidInputError(f"no such file {location}")
        directory = os.path.dirname(os.path.abspath(location))
        sys.path.insert(0, directory)  # as `python FILE.py` would: its siblings import
        namespace = runpy.run_path(location, run_name="__mlcore_pipeline__")
    else:
        import importlib

        try:
            namespace = vars(importlib.import_module(location))
        except ImportError as exc:
            raise InvalidInputError(f"cannot import {location}: {exc}") from exc
    found = namespace.get(name)
    if not isinstance(found, Pipeline):
        pipelines = sorted(k for k, v in namespace.items() if isinstance(v, Pipeline))
        raise InvalidInputError(
            f"{location} has no @pipeline named {name!r}"
            + (f"; it has {', '.join(pipelines)}" if pipelines else "")
        )
    return found


def _value(text: str, type_name: str) -> Any:
    import yaml

    if type_name == "str":
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"cannot read {text!r}: {exc}") from exc


def _pairs(items: list[str], what: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInputError(f"{what} {item!r}: write NAME=VALUE")
        pairs.append((key.strip(), value))
    return pairs


def parse_arguments(spec: PipelineSpec, items: list[str]) -> dict[str, Any]:
    types = {p.name: p.type for p in spec.parameters}
    arguments = {}
    for key, value in _pairs(items, "--arg"):
        if key not in types:
            raise InvalidInputError(
                f"pipeline {spec.name!r} has no parameter {key!r} (parameters: "
                f"{', '.join(types) or 'none'})",
                field=key,
            )
        arguments[key] = _value(value, types[key])
    return arguments


# -- commands -----------------------------------------------------------------------------------
def compile_pipeline(tracker: Tracker | None, args: argparse.Namespace) -> int:
    pipeline = load_pipeline(args.source)
    path = pipeline.compile(args.output)
    if args.json:
        emit_json(
            {
                "pipeline": pipeline.name,
                "path": os.path.abspath(path),
                "steps": len(pipeline.spec.tasks),
            }
        )
    else:
        print(f"compiled pipeline {pipeline.name} ({len(pipeline.spec.tasks)} steps) to {path}")
    return 0


def _print_transition(step: StepInfo) -> None:
    from mlcore.pipeline.progress import display_status

    status = display_status(step)
    shows_error = status in ("FAILED", "SKIPPED", "KILLED", "RETRYING")
    detail = f": {step.error}" if step.error and shows_error else ""
    print(f"{step.name}: {status}{detail}", file=sys.stderr, flush=True)


def run_pipeline(tracker: Tracker, args: argparse.Namespace) -> int:
    pipeline = load_pipeline(args.source)
    arguments = parse_arguments(pipeline.spec, args.arg)
    options = {k: _value(v, "") for k, v in _pairs(args.executor_option, "--executor-option")}
    live = not args.no_progress and not args.json and sys.stderr.isatty()
    with _stdout_to_stderr(args.json):  # --json: stdout holds the JSON alone
        result = _run(pipeline, arguments, options, tracker, args, live)
    if args.json:
        emit_json(
            {
                "run_id": result.run_id,
                "pipeline": result.name,
                "status": result.status,
                "duration": result.duration,
                "steps": {
                    name: {
                        "status": s.status,
                        "cached": s.cached,
                        "run_id": s.run_id,
                        "attempts": s.attempts,
                        "outputs": s.outputs,
                        "error": s.error,
                    }
                    for name, s in result.steps.items()
                },
            }
        )
    else:
        print(
            f"pipeline {result.name}: {result.status} in {result.duration:.2f}s "
            f"(run {result.run_id})"
        )
        if result.status != "SUCCEEDED":
            print(f"see: mlcore pipeline runs show {result.run_id}")
    return 0 if result.status == "SUCCEEDED" else 1


@contextlib.contextmanager
def _stdout_to_stderr(enabled: bool) -> Iterator[None]:
    """Send what steps print (in threads, and in worker processes started meanwhile) to
    stderr."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _run(
    pipeline: Pipeline,
    arguments: dict[str, Any],
    options: dict[str, Any],
    tracker: Tracker,
    args: argparse.Namespace,
    live: bool,
) -> Any:
    return pipeline.run(
        arguments,
        executor=args.executor,
        executor_options=options,
        tracker=tracker,
        experiment=args.experiment,
        run_name=args.run_name,
        cache=not args.no_cache,
        fail_fast=args.fail_fast,
        resume=args.resume,
        progress=live,
        on_update=None if live or args.json else _print_transition,
    )


def list_pipeline_runs(tracker: Tracker, args: argparse.Namespace) -> int:
    query = (
        f"tags.`{PIPELINE_TAG}` = '{args.pipeline}'"
        if args.pipeline
        else f"tags.`{PIPELINE_TAG}` IS NOT NULL"
    )
    runs = tracker.search_runs(
        None, query, ["attributes.start_time DESC"], max_results=args.max_results
    )
    rows: list[dict[str, Any]] = []
    for run in runs:
        steps = _steps(tracker, run.id, run.info.experiment_id)
        counts: dict[str, int] = {}
        for step in steps:
            status = _step_status(step)
            counts[status] = counts.get(status, 0) + 1
        rows.append(
            {
                "run_id": run.id,
                "pipeline": run.data.tags.get(PIPELINE_TAG, ""),
                "status": run.info.status.value,
                "started": run.info.start_time,
                "ended": run.info.end_time,
                "steps": counts,
            }
        )
    if args.json:
        emit_json(rows)
        return 0
    print_table(
        None,
        ["run id", "pipeline", "status", "started", "duration", "steps"],
        [
            (
                r["run_id"],
                r["pipeline"],
                r["status"],
                format_time(r["started"]),
                format_duration(r["started"], r["ended"]),
                ", ".join(f"{n} {s.lower()}" for s, n in sorted(r["steps"].items())),
            )
            for r in rows
        ],
    )
    return 0


def _steps(tracker: Tracker, run_id: str, experiment_id: str) -> list[Any]:
    return list(
        tracker.search_runs(
            experiment_id,
            f"attributes.parent_run_id = '{run_id}'",
            ["attributes.start_time ASC"],
            max_results=50_000,
        )
    )


def _step_status(run: Any) -> str:
    tags = run.data.tags
    status = tags.get("mlcore.pipeline.status")
    if status is None:
        status = "RUNNING" if run.info.status.value == "RUNNING" else run.info.status.value
    if status == "SUCCEEDED" and "mlcore.pipeline.cached_from" in tags:
        return "CACHED"
    return str(status)


def show_pipeline_run(tracker: Tracker, args: argparse.Namespace) -> int:
    run = tracker.get_run(args.run_id)
    name = run.data.tags.get(PIPELINE_TAG)
    if name is None:
        raise InvalidInputError(f"run {args.run_id} is not a pipeline run")
    steps = _steps(tracker, run.id, run.info.experiment_id)
    if args.json:
        emit_json(
            {
                "run_id": run.id,
                "pipeline": name,
                "status": run.info.status.value,
                "arguments": run.config,
                "steps": [
                    {
                        "step": s.data.tags.get("mlcore.pipeline.step", s.info.name),
                        "status": _step_status(s),
                        "run_id": s.id,
                        "attempts": int(s.data.tags.get("mlcore.pipeline.attempts", "0")),
                        "error": s.data.tags.get("mlcore.error"),
                        "params": s.data.params,
                    }
                    for s in steps
                ],
            }
        )
        return 0
    print_mapping(
        f"pipeline run {run.id}",
        {
            "pipeline": name,
            "status": run.info.status.value,
            "started": format_time(run.info.start_time),
            "duration": format_duration(run.info.start_time, run.info.end_time),
            "arguments": ", ".join(f"{k}={v!r}" for k, v in (run.config or {}).items()),
        },
        sort=False,
    )
    print_table(
        "steps",
        ["step", "status", "attempts", "duration", "run id", "error"],
        [
            (
                s.data.tags.get("mlcore.pipeline.step", s.info.name),
                _step_status(s),
                s.data.tags.get("mlcore.pipeline.attempts", ""),
                format_duration(s.info.start_time, s.info.end_time),
                s.id,
                (s.data.tags.get("mlcore.error") or "")[:120],
            )
            for s in steps
        ],
    )
    return 0
