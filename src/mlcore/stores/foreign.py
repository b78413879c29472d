"""Recognising another tool's store (MLflow's) before mlcore would open it as its own.

Only reads: a folder is listed, a SQLite file is opened read-only (``mode=ro&immutable=1``,
no journal-mode change, nothing created next to it). Opening MLflow's ``mlruns`` folder or
database as a tracking URI, or copying it with ``mlcore store copy``, raises
:class:`~mlcore.errors.ForeignStoreError` pointing at ``mlcore import mlflow``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Collection
from pathlib import Path

from mlcore.errors import ForeignStoreError

__all__ = [
    "MLFLOW_HINT",
    "is_mlflow_directory",
    "is_mlflow_sqlite",
    "is_mlflow_tables",
    "refuse_mlflow",
]

MLFLOW_HINT = "this is an MLflow store: use `mlcore import mlflow {source}` to bring its history"


def is_mlflow_directory(directory: str) -> bool:
    """MLflow's file store: ``<experiment id>/meta.yaml`` folders, ``.trash``, ``models/``."""
    try:
        names = os.listdir(directory)
    except OSError:
        return False
    if "mlcore.db" in names:
        return False
    for name in names:
        if name.isdigit() and os.path.isfile(os.path.join(directory, name, "meta.yaml")):
            return True
    return ".trash" in names and os.path.basename(os.path.normpath(directory)) == "mlruns"


def is_mlflow_tables(tables: Collection[str], run_columns: Collection[str]) -> bool:
    """MLflow's SQL schema: ``runs.run_uuid``, or its ``experiments`` + ``latest_metrics``
    without mlcore's ``run_pk``."""
    if "run_uuid" in run_columns:
        return True
    return {"runs", "latest_metrics", "experiment_tags"} <= set(tables) and (
        "run_pk" not in run_columns
    )


def is_mlflow_sqlite(path: str) -> bool:
    """Whether the SQLite file at ``path`` holds MLflow's tables (read-only look)."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(100)
    except OSError:
        return False
    if len(header) < 100 or header[18] == 2:
        # empty, or in WAL mode (mlcore's stores always are; MLflow's are not unless someone
        # switched them, which the migration check catches): no need to look inside
        return False
    mode = "mode=ro" if os.path.exists(path + "-wal") else "mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(f"{Path(os.path.abspath(path)).as_uri()}?{mode}", uri=True)
    except sqlite3.Error:
        return False
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        columns = (
            {row[1] for row in conn.execute("PRAGMA table_info(runs)")} if "runs" in tables else ()
        )
        return is_mlflow_tables(tables, columns)
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def refuse_mlflow(source: str, *, field: str = "tracking_uri", what: str = "") -> None:
    """Raise the typed error that says ``source`` is an MLflow store."""
    prefix = f"{what} {source!r}: " if what else f"{source!r}: "
    raise ForeignStoreError(prefix + MLFLOW_HINT.format(source=source), tool="mlflow", field=field)
