"""``mlcore import mlflow SOURCE``: bring MLflow's history into the store."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mlcore.cli.output import emit_json, print_table
from mlcore.uris import redact_uri

__all__ = ["add_parsers", "import_mlflow_command"]


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser("import", help="bring another tool's history into the store")
    tools = group.add_subparsers(dest="tool", required=True)
    mlflow = tools.add_parser(
        "mlflow",
        parents=[common],
        help="import an MLflow file store (mlruns/) or database",
        description=(
            "Imports experiments, runs (ids kept; names, statuses, times, params, tags, full "
            "metric histories, parent/child), artifacts (sha256 recorded), dataset inputs, "
            "logged models and the model registry from MLflow into the store. SOURCE is only "
            "read. Run it again to bring only what is new. e.g. mlcore import mlflow ./mlruns; "
            "mlcore import mlflow sqlite:///mlflow.db --artifacts ./mlartifacts"
        ),
    )
    mlflow.add_argument("source", metavar="SOURCE", help="mlruns folder or database URL")
    mlflow.add_argument(
        "--artifacts",
        metavar="ROOT",
        help="the folder behind mlflow-artifacts:/ URIs (mlflow server --artifacts-destination)",
    )
    mlflow.add_argument(
        "--store", metavar="URL", help="the mlcore store to import into (default: tracking URI)"
    )
    mlflow.add_argument(
        "--dry-run", action="store_true", help="read the source and say what would be imported"
    )
    mlflow.add_argument("--no-progress", action="store_true", help="no progress bar")
    mlflow.set_defaults(handler=import_mlflow_command, needs_tracker=False)


class _Bar:
    """A rich progress bar of runs on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.progress: Any = None
        self.task: Any = None
        if not enabled:
            return
        try:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )
        except ImportError:  # pragma: no cover - rich comes with the cli extra
            return
        self.progress = Progress(
            TextColumn("runs"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )

    def __call__(self, kind: str, amount: int) -> None:
        if self.progress is None:
            return
        if kind == "total":
            self.progress.start()
            self.task = self.progress.add_task("runs", total=amount)
        elif self.task is not None:
            self.progress.advance(self.task, amount)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def import_mlflow_command(_tracker: object, args: argparse.Namespace) -> int:
    from mlcore import _config
    from mlcore.importers.mlflow import import_mlflow
    from mlcore.stores import MetadataStore, resolve_store

    target = args.store or args.tracking_uri or _config.tracking_uri_from_env()
    store = resolve_store(target)
    bar = _Bar(enabled=not args.no_progress and not args.json and sys.stderr.isatty())
    try:
        assert isinstance(store, MetadataStore)
        report = import_mlflow(
            args.source, store, artifacts=args.artifacts, dry_run=args.dry_run, progress=bar
        )
    finally:
        bar.close()
        store.close()
    if args.json:
        emit_json(
            {
                "source": report.source,
                "dry_run": report.dry_run,
                **dict(report.rows()),
                "problems": [{"what": p.what, "reason": p.reason} for p in report.problems],
            }
        )
        return 0
    verb = "would import" if report.dry_run else "imported"
    print_table(
        f"{verb} {redact_uri(args.source)} -> {redact_uri(target)}",
        ["what", "count"],
        report.rows(),
    )
    for problem in report.problems:
        print(f"skipped {problem.what}: {problem.reason}", file=sys.stderr)
    return 0
