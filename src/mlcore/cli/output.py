"""Printing for the CLI: rich tables when rich is installed, aligned text otherwise, JSON for
scripts (``--json``)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Sequence
from typing import Any

__all__ = [
    "emit_json",
    "format_duration",
    "format_time",
    "format_value",
    "print_mapping",
    "print_table",
]


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str, allow_nan=True)
    sys.stdout.write("\n")


def format_time(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def format_duration(start: int | None, end: int | None) -> str:
    if start is None or end is None:
        return ""
    seconds = max(0.0, (end - start) / 1000)
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[format_value(v) for v in row] for row in rows]
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        _plain_table(title, columns, cells)
        return
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column, no_wrap=column in ("run id", "id", "key", "started"))
    for row in cells:
        table.add_row(*row)
    # piped output has no terminal width; do not squeeze it to 80 columns
    Console(width=None if sys.stdout.isatty() else 240).print(table)


def _plain_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [len(c) for c in columns]
    for row in rows:
        widths = [max(w, len(v)) for w, v in zip(widths, row)]
    if title:
        print(title)
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def print_mapping(title: str, mapping: dict[str, Any], *, sort: bool = True) -> None:
    if mapping:
        items = sorted(mapping.items()) if sort else list(mapping.items())
        print_table(title, ["key", "value"], items)
