"""SQL-store specifics: SQLite settings, migrations, storage size, error translation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mlcore import Tracker
from mlcore.errors import InvalidInputError, StoreError
from mlcore.stores import resolve_store
from mlcore.stores.file import FileStore
from mlcore.stores.sql import SqlStore, migrate
from mlcore.stores.sql.schema import DIALECT_INDEXES, SCHEMA_REVISION, metadata


def schema_diff(url: str) -> list[object]:
    """What differs between a migrated database and the runtime tables (indexes that exist
    only on other dialects are left out on both sides)."""
    engine = sa.create_engine(url)
    dialect = engine.dialect.name

    def include(
        obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
    ) -> bool:
        if type_ == "index" and name in DIALECT_INDEXES:
            dialects = DIALECT_INDEXES[name]
            return dialect in (dialects if isinstance(dialects, tuple) else (dialects,))
        return True

    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include}
        )
        diff = list(compare_metadata(context, metadata))
    engine.dispose()
    return diff


def test_migrated_sqlite_schema_matches_the_tables(tmp_path: Path) -> None:
    SqlStore(f"sqlite:///{tmp_path}/m.db").close()
    assert schema_diff(f"sqlite:///{tmp_path}/m.db") == []


@pytest.mark.postgres
def test_migrated_postgres_schema_matches_the_tables(pg_url: str) -> None:
    SqlStore(pg_url).close()
    assert schema_diff(pg_url) == []


def test_dialect_specific_indexes_exist_where_they_should(tmp_path: Path) -> None:
    SqlStore(f"sqlite:///{tmp_path}/i.db").close()
    engine = sa.create_engine(f"sqlite:///{tmp_path}/i.db")
    names = {i["name"] for t in ("params", "tags") for i in sa.inspect(engine).get_indexes(t)}
    engine.dispose()
    assert {"ix_params_key_value", "ix_tags_key_value"} <= names
    assert "ix_params_value_hash" not in names


def test_schema_revision_is_the_migration_head() -> None:
    assert migrate.known_revisions()[-1] == SCHEMA_REVISION


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path}/w.db")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    store.close()


def test_a_database_from_a_newer_mlcore_is_refused_untouched(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/new.db"
    SqlStore(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_future'")
    with pytest.raises(StoreError, match="9999_future.*upgrade mlcore"):
        SqlStore(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == (
            "9999_future"
        )
    engine.dispose()


def test_opening_an_existing_store_does_not_migrate_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/again.db"
    first = Tracker(url)
    run = first.create_run("e", params={"a": 1})
    first.close()
    second = Tracker(url)
    assert second.get_run(run.info.run_id).data.params == {"a": "1"}
    second.close()


def test_directory_store_layout(tmp_path: Path) -> None:
    store = resolve_store(f"file://{tmp_path}/home")
    assert isinstance(store, FileStore)
    assert (tmp_path / "home" / "mlcore.db").is_file()
    assert store.default_artifact_root == (tmp_path / "home" / "artifacts").as_uri()
    store.close()
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(InvalidInputError, match="is a file"):
        resolve_store(str(tmp_path / "a-file"))


def test_a_metric_point_costs_about_24_bytes(tmp_path: Path) -> None:
    tracker = Tracker(f"sqlite:///{tmp_path}/size.db")
    run = tracker.start_run("e")
    for step in range(200_000):
        run.log_metric("loss", 1.0 / (step + 1), step=step)
    run.end()
    tracker.close()
    engine = sa.create_engine(f"sqlite:///{tmp_path}/size.db")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.exec_driver_sql("VACUUM")
    engine.dispose()
    size = os.path.getsize(tmp_path / "size.db")
    assert size / 200_000 < 40  # MLflow: ~245 bytes per point


def test_backend_errors_are_translated_without_credentials() -> None:
    with pytest.raises(StoreError) as caught:
        SqlStore("postgresql+psycopg://admin:hunter2@127.0.0.1:1/db")
    message = str(caught.value)
    assert "hunter2" not in message
    assert "127.0.0.1" in message and "admin:***" in message
    with pytest.raises(InvalidInputError, match="database URL"):
        SqlStore("sqlite:::::")


@pytest.mark.mysql
def test_migrated_mariadb_schema_matches_the_tables(mysql_url: str) -> None:
    SqlStore(mysql_url).close()
    assert schema_diff(mysql_url) == []


@pytest.mark.mysql
def test_mariadb_is_case_sensitive_and_keeps_infinities(mysql_url: str, tmp_path: Path) -> None:
    store = SqlStore(mysql_url)
    try:
        # MySQL's default collation would fold these into one name
        a = store.create_experiment("Churn", artifact_location=str(tmp_path / "a"))
        b = store.create_experiment("churn", artifact_location=str(tmp_path / "b"))
        assert a != b
        assert store.get_experiment_by_name("churn").experiment_id == b.experiment_id  # type: ignore[union-attr]
        tracker = Tracker(mysql_url, artifact_uri=str(tmp_path / "art"))
        with tracker.start_run("Churn") as run:
            run.log_params({"Lr": 1, "lr": 2})
            run.log_metric("loss", float("inf"))
        data = tracker.get_run(run.info.run_id).data
        assert data.params == {"Lr": "1", "lr": "2"}
        assert data.metrics["loss"] == float("inf")
        found = tracker.search_runs("Churn", filter="metrics.loss > 1e300")
        assert [r.info.run_id for r in found] == [run.info.run_id]
        tracker.close()
    finally:
        store.close()


@pytest.mark.mysql
def test_mariadb_refuses_an_artifact_path_over_its_key_limit(
    mysql_url: str, tmp_path: Path
) -> None:
    def deep(length: int) -> str:  # segments stay under the 255-character limit
        return "/".join(["d" * 99] * (length // 100))

    tracker = Tracker(mysql_url, artifact_uri=str(tmp_path / "art"))
    (tmp_path / "f.txt").write_text("x")
    with tracker.start_run() as run:
        run.log_artifact(str(tmp_path / "f.txt"), artifact_path=deep(700))
        with pytest.raises(InvalidInputError, match="760"):
            run.log_artifact(str(tmp_path / "f.txt"), artifact_path=deep(800))
    names = [f.path for f in tracker.list_artifacts(run.info.run_id, deep(700))]
    assert names == [deep(700) + "/f.txt"]
    tracker.close()
