"""``mlcore store migrate URL`` and ``mlcore store copy SRC DST``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from mlcore.cli.output import emit_json, print_table
from mlcore.uris import redact_uri

if TYPE_CHECKING:
    from mlcore.stores.sql.admin import CopyPlan

__all__ = ["add_parsers", "copy_command", "migrate_command"]


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser("store", help="migrate a store's schema, copy a whole store")
    actions = group.add_subparsers(dest="action", required=True)

    migrate = actions.add_parser(
        "migrate",
        parents=[common],
        help="bring a database to this mlcore's schema (Alembic)",
        description="URL: a SQL URL (postgresql+psycopg://..., sqlite:///...) or a directory.",
    )
    migrate.add_argument("url", metavar="URL")
    migrate.set_defaults(handler=migrate_command, needs_tracker=False)

    copy = actions.add_parser(
        "copy",
        parents=[common],
        help="copy a whole store (metadata and artifacts) into an empty one",
        description=(
            "Copies every experiment, run, metric, model and artifact from SRC into the empty "
            "store DST, verifying each file by sha256. SRC is only read (opened read-only) and "
            "must be an mlcore store at this schema; anything else is refused. e.g. mlcore "
            "store copy ./.mlcore postgresql+psycopg://mlcore@db/mlcore --artifacts "
            "s3://team-bucket/mlcore"
        ),
    )
    copy.add_argument("source", metavar="SRC")
    copy.add_argument("destination", metavar="DST")
    copy.add_argument(
        "--artifacts",
        metavar="URI",
        help="the destination's artifact root (default: DST's default, $MLCORE_ARTIFACT_URI)",
    )
    copy.add_argument(
        "--metadata-only",
        action="store_true",
        help="copy the database only; artifact URIs stay as they are (shared storage)",
    )
    copy.add_argument("--no-progress", action="store_true", help="no progress bar")
    copy.set_defaults(handler=copy_command, needs_tracker=False)


def migrate_command(_tracker: object, args: argparse.Namespace) -> int:
    from mlcore.stores.sql.admin import migrate_store

    before, after = migrate_store(args.url)
    if args.json:
        emit_json({"url": redact_uri(args.url), "from": before, "to": after})
    elif before == after:
        print(f"{redact_uri(args.url)}: already at {after}")
    else:
        print(f"{redact_uri(args.url)}: migrated {before or 'empty database'} -> {after}")
    return 0


class _Bar:
    """A rich progress bar on stderr: artifact bytes, verification, rows."""

    def __init__(self, enabled: bool) -> None:
        self.progress: Any = None
        self.tasks: dict[str, Any] = {}
        if not enabled:
            return
        try:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )
        except ImportError:  # pragma: no cover - rich comes with the cli extra
            return
        self.progress = Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )

    def plan(self, plan: CopyPlan) -> None:
        if self.progress is None:
            return
        self.progress.start()
        self.tasks["bytes"] = self.progress.add_task("artifacts", total=plan.total_bytes)
        self.tasks["verify"] = self.progress.add_task("verify", total=plan.total_bytes)
        self.tasks["rows"] = self.progress.add_task("rows", total=sum(plan.rows.values()))

    def advance(self, kind: str, amount: int) -> None:
        if self.progress is not None:
            task = self.tasks.get(kind, self.tasks.get("rows"))
            self.progress.advance(task, amount)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def copy_command(_tracker: object, args: argparse.Namespace) -> int:
    from mlcore.artifacts import resolve_artifact_store
    from mlcore.stores.sql.admin import copy_store

    bar = _Bar(enabled=not args.no_progress and not args.json and sys.stderr.isatty())
    try:
        report = copy_store(
            args.source,
            args.destination,
            artifact_stores=resolve_artifact_store,
            artifact_uri=args.artifacts,
            copy_artifacts=not args.metadata_only,
            progress=bar.advance,
            plan_ready=bar.plan,
        )
    finally:
        bar.close()
    if args.json:
        emit_json(
            {
                "rows": report.rows,
                "files": report.files,
                "bytes": report.bytes,
                "verified": report.verified,
                "artifact_root": report.artifact_root,
            }
        )
        return 0
    print_table(
        f"copied {redact_uri(args.source)} -> {redact_uri(args.destination)}",
        ["table", "rows"],
        [(name, count) for name, count in report.rows.items() if count],
    )
    if report.artifact_root:
        print(
            f"{report.files} artifact files ({report.bytes:,} bytes) copied to "
            f"{report.artifact_root}, {report.verified} verified by sha256"
        )
    return 0
