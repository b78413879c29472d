"""``mlcore import mlflow`` from MLflow databases on PostgreSQL and MariaDB.

MLflow's venv has no PostgreSQL/MySQL driver, so the real MLflow writes a SQLite database and
its tables (MLflow's schema, reflected) and rows are copied into the server; the import then
reads the server through the same SQL reader and must leave it unchanged.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from mlcore.errors import ForeignStoreError
from mlcore.importers.mlflow import import_mlflow
from mlcore.stores.file import FileStore
from mlcore.stores.sql.store import SqlStore
from tests.importers.mlflow_sources import make_source

_TABLES = [
    "alembic_version", "experiments", "experiment_tags", "runs", "params", "tags", "metrics",
    "latest_metrics", "datasets", "inputs", "input_tags", "logged_models",
    "logged_model_tags", "logged_model_params", "registered_models", "model_versions",
    "registered_model_tags", "model_version_tags", "registered_model_aliases",
]  # fmt: skip


@pytest.fixture(scope="module")
def mlflow_sqlite(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    return make_source("sqlite", tmp_path_factory.mktemp("mlflow-db"))


def _copy_into(sqlite_url: str, server_url: str) -> None:
    source = sa.create_engine(sqlite_url)
    target = sa.create_engine(server_url)
    meta = sa.MetaData()
    meta.reflect(source, only=_TABLES)
    for table in meta.tables.values():
        table.constraints = {c for c in table.constraints if not isinstance(c, sa.CheckConstraint)}
        for column in table.columns:
            column.server_default = None
            column.autoincrement = False  # MLflow's experiment 0 stays 0 on MariaDB
    meta.create_all(target)
    with source.connect() as read, target.begin() as write:
        for table in meta.sorted_tables:
            rows = [dict(row) for row in read.execute(sa.select(table)).mappings()]
            if rows:
                write.execute(sa.insert(table), rows)
    source.dispose()
    target.dispose()


def _contents(url: str) -> dict[str, list[Any]]:
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        found = {
            name: sorted(map(repr, conn.execute(sa.select(table)).all()))
            for name, table in meta.tables.items()
        }
    engine.dispose()
    return found


@pytest.mark.parametrize("server", ["postgresql", "mariadb"])
def test_import_from_a_server_database_reads_it_whole_and_leaves_it_as_it_was(
    server: str, mlflow_sqlite: tuple[str, dict[str, Any]], request: Any, tmp_path: Path
) -> None:
    url: str = request.getfixturevalue("pg_url" if server == "postgresql" else "mysql_url")
    sqlite_url, ids = mlflow_sqlite
    _copy_into(sqlite_url, url)
    before = _contents(url)
    store = FileStore(str(tmp_path / "dest"))
    report = import_mlflow(url, store)
    assert report.problems == []
    assert (report.runs, report.logged_models, report.model_versions) == (4, 1, 1)
    parent = store.get_run(ids["parent"])
    assert parent.data.params == {"lr": "0.1", "layers": "3"}
    assert math.isnan(store.metric_history(ids["parent"], "weird").to_pylist()[0]["value"])
    assert store.get_run(ids["child"]).info.parent_run_id == ids["parent"]
    assert store.get_model_version("clf-model", 1).source == parent.info.artifact_uri + "/clf"
    assert import_mlflow(url, store).runs_unchanged == 4
    store.close()
    with pytest.raises(ForeignStoreError, match="use `mlcore import mlflow"):
        SqlStore(url)
    assert _contents(url) == before
