"""A store written by an older mlcore (an earlier schema revision) upgrades, data intact."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from mlcore import Tracker
from mlcore.stores.sql import migrate
from mlcore.stores.sql.engine import create_sql_engine
from mlcore.stores.sql.schema import SCHEMA_REVISION


def _old_store(url: str) -> None:
    """A store at revision 0001 with a run, params, tags and metrics, written as 0001 did."""
    engine = create_sql_engine(url)
    migrate.upgrade(engine, target="0001_initial")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage) "
            "VALUES (1, 'old', 'file:///tmp/old/1', 'active')"
        )
        conn.exec_driver_sql(
            "INSERT INTO runs (run_pk, run_id, experiment_id, name, status, start_time, "
            "artifact_uri, lifecycle_stage, config) VALUES "
            f"(1, '{'a' * 32}', 1, 'legacy', 'FINISHED', 1000, 'file:///tmp/old/1/x', "
            "'active', '{\"lr\": 0.1}')"
        )
        conn.exec_driver_sql("INSERT INTO params (run_pk, key, value) VALUES (1, 'lr', '0.1')")
        conn.exec_driver_sql(
            "INSERT INTO latest_metrics (run_pk, key, value, is_nan, step, timestamp) "
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
    # the new tables work on the upgraded store
    assert tracker.store.create_model_version("m", f"runs:/{'a' * 32}/model").version == 1
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == (
            SCHEMA_REVISION
        )
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
