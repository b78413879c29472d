"""Shared helpers for the side-by-side benchmarks: timing, medians, a results table.

Each benchmark runs mlcore and its peer in the same process and the same run, on the same
machine, and prints medians and the ratio. They are measurements, not tests.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any


def quiet_peers() -> None:
    """Silence MLflow's per-run lines, warnings and logging (they would skew timing).

    MLflow configures its loggers when imported, so it is imported here first.
    """
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    warnings.filterwarnings("ignore")
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
