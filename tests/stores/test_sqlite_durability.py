"""SQLite durability setting: ``MLCORE_SQLITE_SYNCHRONOUS`` (NORMAL by default, FULL on request)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlcore.errors import InvalidInputError
from mlcore.stores.sql import SqlStore

# PRAGMA synchronous reports 1 for NORMAL, 2 for FULL, 3 for EXTRA
LEVELS = {"NORMAL": 1, "FULL": 2, "EXTRA": 3}


def synchronous_of(store: SqlStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA synchronous").scalar())  # type: ignore[arg-type]


def test_sqlite_syncs_at_checkpoints_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLCORE_SQLITE_SYNCHRONOUS", raising=False)
    store = SqlStore(f"sqlite:///{tmp_path}/d.db")
    assert synchronous_of(store) == LEVELS["NORMAL"]
    store.close()


@pytest.mark.parametrize("value", ["FULL", "full", "EXTRA", "NORMAL"])
def test_the_environment_chooses_the_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("MLCORE_SQLITE_SYNCHRONOUS", value)
    store = SqlStore(f"sqlite:///{tmp_path}/f.db")
    assert synchronous_of(store) == LEVELS[value.upper()]
    experiment = store.create_experiment("durable")
    assert store.get_experiment(experiment.experiment_id).name == "durable"
    store.close()


@pytest.mark.parametrize("value", ["OFF", "0", "fast"])
def test_an_unsafe_or_unknown_level_is_refused_before_anything_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("MLCORE_SQLITE_SYNCHRONOUS", value)
    with pytest.raises(InvalidInputError, match="MLCORE_SQLITE_SYNCHRONOUS"):
        SqlStore(f"sqlite:///{tmp_path}/bad.db")
    assert not (tmp_path / "bad.db").exists()
