"""A store written by an older mlcore (an earlier schema revision) upgrades, data intact."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from mlcore import Tracker
from mlcore.stores.sql import migrate
from mlcore.stores.sql.engine import create_sql_engine
from mlcore.stores.sql.schema import SCHEMA_REVISION


def _old_store(url: str, revision: str = "0001_initial") -> None:
    """A store at ``revision`` with a run, params, tags and metrics, written as 0001 did."""
    engine = create_sql_engine(url)
    migrate.upgrade(engine, target=revision)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage) "
            "VALUES (1, 'old', 'file:///tmp/old/1', 'active')"
        )
        conn.exec_driver_sql(
            "INSERT INTO runs (run_pk, run_id, experiment_id, name, status, start_time, "
            "end_time, artifact_uri, lifecycle_stage, config) VALUES "
            f"(1, '{'a' * 32}', 1, 'legacy', 'FINISHED', 1000, 7000, 'file:///tmp/old/1/x', "
            "'active', '{\"lr\": 0.1}')"
        )
        key = conn.dialect.identifier_preparer.quote("key")  # reserved on MariaDB
        conn.exec_driver_sql(f"INSERT INTO params (run_pk, {key}, value) VALUES (1, 'lr', '0.1')")
        conn.exec_driver_sql(
            f"INSERT INTO latest_metrics (run_pk, {key}, value, is_nan, step, timestamp) "
            "VALUES (1, 'auc', 0.9, false, 3, 5)"
        )
    engine.dispose()


def _check_upgraded(url: str) -> None:
    tracker = Tracker(url)
    run = tracker.get_run("a" * 32)
    assert run.info.name == "legacy"
    assert run.data.params == {"lr": "0.1"}
    assert run.data.metrics == {"auc": 0.9}
    assert run.config == {"lr": 0.1}
    assert [r.id for r in tracker.search_runs("old", "metrics.auc > 0.5")] == ["a" * 32]
    (summary,) = [s for s in tracker.store.experiment_summaries() if s.name == "old"]
    assert (summary.run_count, summary.last_activity) == (1, 7000)
    assert tracker.store.run_columns([summary.experiment_id]).params == ["lr"]
    # the new tables work on the upgraded store
    assert tracker.store.create_model_version("m", f"runs:/{'a' * 32}/model").version == 1
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == (
            SCHEMA_REVISION
        )
    # 0003: the index that makes an experiment's last activity one lookup
    indexes = {i["name"]: i["column_names"] for i in sa.inspect(engine).get_indexes("runs")}
    assert indexes["ix_runs_experiment_id_stage_end"] == [
        "experiment_id",
        "lifecycle_stage",
        "end_time",
    ]
    engine.dispose()
    tracker.close()


def test_every_revision_is_a_step_of_the_history() -> None:
    revisions = migrate.known_revisions()
    assert revisions[0] == "0001_initial"
    assert revisions[-1] == SCHEMA_REVISION
    assert len(revisions) >= 2


def test_sqlite_store_from_0001_upgrades(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    _old_store(url)
    _check_upgraded(url)


@pytest.mark.postgres
def test_postgres_store_from_0001_upgrades(pg_url: str) -> None:
    _old_store(pg_url)
    _check_upgraded(pg_url)


def test_sqlite_store_from_0002_upgrades(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old2.db"
    _old_store(url, "0002_registry_artifacts")
    _check_upgraded(url)


@pytest.mark.postgres
def test_postgres_store_from_0002_upgrades(pg_url: str) -> None:
    _old_store(pg_url, "0002_registry_artifacts")
    _check_upgraded(pg_url)


@pytest.mark.mysql
def test_mariadb_store_from_0002_upgrades(mysql_url: str) -> None:
    _old_store(mysql_url, "0002_registry_artifacts")
    _check_upgraded(mysql_url)
