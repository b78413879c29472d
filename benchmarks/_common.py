"""Shared helpers for the side-by-side benchmarks: timing, medians, a results table.

Each benchmark runs mlcore and its peer in the same process and the same run, on the same
machine, and prints medians and the ratio. They are measurements, not tests.

Fairness rules every benchmark follows (docs/benchmarks.md, "Method"):

- a side's set-up (creating the database and running its migrations, starting a server) happens
  before its timer starts, unless the row says it is included;
- durability settings are stated: mlcore's SQLite runs WAL with ``synchronous=NORMAL``
  (``MLCORE_SQLITE_SYNCHRONOUS=FULL`` syncs every commit); MLflow's and Optuna's SQLite keep
  SQLite's defaults (rollback journal, ``synchronous=FULL``: every commit synced);
- data is read back after the timer and counts and values checked;
- ``--quick`` runs every benchmark at small sizes (CI runs it); a peer that is not installed
  is skipped and its cells say so, the mlcore side still runs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any


def have(module: str) -> bool:
    """Whether ``module`` is installed (without importing it)."""
    return importlib.util.find_spec(module) is not None


def skipped(peer: str) -> str:
    """The cell a peer's column shows when the peer is not installed."""
    return f"skipped ({peer} not installed)"


def ratio(ours: float, theirs: float | None, fmt: str = "{:.1f}x") -> str:
    """``theirs / ours`` formatted, or an empty cell when the peer did not run."""
    return "" if theirs is None else fmt.format(theirs / ours)


def quiet_peers() -> None:
    """Silence MLflow's per-run lines, warnings and logging (they would skew timing).

    MLflow configures its loggers when imported, so it is imported here first (if installed).
    """
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    warnings.filterwarnings("ignore")
    if not have("mlflow"):
        return
    import mlflow  # noqa: F401

    for name in ("mlflow", "alembic", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.ERROR)


@contextlib.contextmanager
def scratch_dir() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="mlcore-bench-")
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield path
    finally:
        os.chdir(previous)
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def sqlite_synchronous(level: str) -> Iterator[None]:
    """Stores opened inside use ``MLCORE_SQLITE_SYNCHRONOUS=level`` (read when a store opens)."""
    previous = os.environ.get("MLCORE_SQLITE_SYNCHRONOUS")
    os.environ["MLCORE_SQLITE_SYNCHRONOUS"] = level
    try:
        yield
    finally:
        if previous is None:
            del os.environ["MLCORE_SQLITE_SYNCHRONOUS"]
        else:
            os.environ["MLCORE_SQLITE_SYNCHRONOUS"] = previous


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, list[float]]:
    samples = [timed(fn) for _ in range(repeats)]
    return statistics.median(samples), samples


def report(title: str, rows: list[tuple[str, str, str, str]]) -> None:
    """rows: (what, mlcore, peer, ratio)."""
    widths = [
        max(len(r[i]) for r in [("what", "mlcore", "peer", "ratio"), *rows]) for i in range(4)
    ]
    print(f"\n## {title}\n")
    header = ("what", "mlcore", "peer", "ratio")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")


def fmt_rate(value: float, unit: str = "/s") -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f}M{unit}"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k{unit}"
    return f"{value:.1f}{unit}"


def fmt_seconds(value: float) -> str:
    if value < 1e-3:
        return f"{value * 1e6:.1f} µs"
    if value < 1:
        return f"{value * 1e3:.1f} ms"
    return f"{value:.2f} s"
