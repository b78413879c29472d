"""The ``mlcore`` command line (interfaces layer).

``mlcore [--tracking-uri URI] [--json] <command>``; commands: ``experiments list``,
``runs list``, ``runs show``, ``models list``, ``models show``, ``artifacts list``,
``artifacts show``, ``pipeline compile``, ``pipeline run``, ``pipeline runs list``,
``pipeline runs show``, ``store migrate``, ``store copy``, ``import mlflow``, ``server``, ``serve``,
``monitor drift``, ``sweep``, ``agent``, ``quickstart``. Exit status 0 on success, 1 on an
mlcore error (the message goes to stderr, without a traceback), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mlcore import __version__
from mlcore.cli import (
    import_commands,
    pipeline_commands,
    quickstart,
    registry_commands,
    server_commands,
    serving_commands,
    store_commands,
    sweep_commands,
    tracking_commands,
)
from mlcore.errors import MlcoreError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--tracking-uri",
        "-u",
        default=argparse.SUPPRESS,
        help="store to use (default: $MLCORE_TRACKING_URI or ./.mlcore)",
    )
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    parser = argparse.ArgumentParser(
        prog="mlcore",
        description="mlcore: experiment tracking, registry, pipelines, serving",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"mlcore {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    tracking_commands.add_parsers(sub, common)
    registry_commands.add_parsers(sub, common)
    pipeline_commands.add_parsers(sub, common)
    store_commands.add_parsers(sub, common)
    import_commands.add_parsers(sub, common)
    server_commands.add_parsers(sub, common)
    serving_commands.add_parsers(sub, common)
    sweep_commands.add_parsers(sub, common)
    quickstart.add_parser(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.tracking_uri = getattr(args, "tracking_uri", None)
    args.json = getattr(args, "json", False)
    tracker = None
    try:
        if getattr(args, "needs_tracker", True):
            from mlcore.tracking import Tracker

            tracker = Tracker(args.tracking_uri)
        code: int = args.handler(tracker, args)
        return code
    except MlcoreError as exc:
        print(f"mlcore: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `mlcore runs list | head`
        return 0
    finally:
        if tracker is not None:
            tracker.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
