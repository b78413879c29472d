"""Metric chunks of the SQL store: batches of many metrics, compaction at run end, retries.

Every check reads the history back and compares it bit for bit (NaN, infinities and -0.0
included) with what was logged, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
import sqlite3
import struct
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlcore.stores.sql import SqlStore
from mlcore.stores.sql.metric_codec import MAX_CHUNK_POINTS
from mlcore.stores.sql.metric_ops import SMALL_CHUNK_POINTS
from mlcore.testing.tracking_conformance import new_run

SPECIAL = [math.nan, math.inf, -math.inf, -0.0, 5e-324]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/m.db"
    else:
        url = request.getfixturevalue("pg_url")
    sql = SqlStore(url)
    yield sql
    sql.close()


def history(store: SqlStore, run_id: str, key: str) -> list[tuple[int, int, bytes]]:
    table = store.metric_history(run_id, key)
    return [
        (step, timestamp, struct.pack("<d", value))
        for step, timestamp, value in zip(
            table.column("step").to_pylist(),
            table.column("timestamp").to_pylist(),
            table.column("value").to_pylist(),
        )
    ]


def expected(points: list[tuple[str, str, float, int, int]], key: str) -> list[Any]:
    """``points`` of ``key`` as history reads them: by step, then timestamp, stable."""
    mine = [(step, ts, struct.pack("<d", value)) for _, k, value, ts, step in points if k == key]
    return sorted(mine, key=lambda point: point[:2])


def test_one_batch_of_many_runs_and_keys_reads_back_per_metric(store: SqlStore) -> None:
    experiment = store.create_experiment(f"e-{uuid.uuid4().hex[:6]}").experiment_id
    runs = [new_run(store, experiment) for _ in range(2)]
    points = [
        (runs[i % 2], ("loss", "acc", "lr")[i % 3], SPECIAL[i % 5] if i % 7 == 0 else i / 3, i, i)
        for i in range(3000)
    ]
    store.log_metrics(points)
    for run_id in runs:
        mine = [p for p in points if p[0] == run_id]
        for key in ("loss", "acc", "lr"):
            assert history(store, run_id, key) == expected(mine, key)
        latest = store.get_run(run_id).data.metrics
        assert latest["loss"] == [p for p in mine if p[1] == "loss"][-1][2]


def test_compaction_merges_small_chunks_and_keeps_every_point(store: SqlStore) -> None:
    experiment = store.create_experiment(f"e-{uuid.uuid4().hex[:6]}").experiment_id
    run_id = new_run(store, experiment)
    points: list[tuple[str, str, float, int, int]] = []
    step = 0
    # small batches, one large one in the middle, an out-of-order batch, a second metric
    sizes = [3, 1, 50, SMALL_CHUNK_POINTS, 7, 7, 2]
    for index, size in enumerate(sizes):
        batch = []
        for i in range(size):
            value = SPECIAL[i % 5] if i % 11 == 0 else step * 0.5
            batch.append((run_id, "loss", value, 1000 + step, step))
            step += 1
        if index == 4:
            batch.reverse()  # steps out of order within the chunk
        batch.append((run_id, "other", float(index), 1, index))
        store.log_metrics(batch, batch_id=uuid.uuid4().hex)
        points += batch
    before = history(store, run_id, "loss")
    assert before == expected(points, "loss")

    # loss: [3, 1, 50] merge into one, the large chunk stays, [7, 7, 2] merge into one;
    # other: seven one-point chunks merge into one
    assert store.compact_metrics(run_id) == 2 + 2 + 6
    assert history(store, run_id, "loss") == before
    assert history(store, run_id, "other") == expected(points, "other")
    assert store.compact_metrics(run_id) == 0  # nothing small left to merge
    assert history(store, run_id, "loss") == before


def test_compaction_caps_a_merged_chunk_and_keeps_order(store: SqlStore) -> None:
    experiment = store.create_experiment(f"e-{uuid.uuid4().hex[:6]}").experiment_id
    run_id = new_run(store, experiment)
    size = SMALL_CHUNK_POINTS - 1  # small, but 17 of them pass MAX_CHUNK_POINTS
    batches = MAX_CHUNK_POINTS // size + 2
    points = []
    for b in range(batches):
        batch = [(run_id, "m", float(b * size + i), 7, b * size + i) for i in range(size)]
        store.log_metrics(batch)
        points += batch
    assert store.compact_metrics(run_id) == batches - 2  # into two chunks
    values = store.metric_history(run_id, "m").column("value").to_pylist()
    assert values == [p[2] for p in points]


def test_a_retried_batch_is_not_stored_twice_after_compaction(store: SqlStore) -> None:
    experiment = store.create_experiment(f"e-{uuid.uuid4().hex[:6]}").experiment_id
    run_id = new_run(store, experiment)
    ids = [uuid.uuid4().hex for _ in range(3)]
    for i, batch_id in enumerate(ids):
        store.log_metrics([(run_id, "m", float(i), 1, i)], batch_id=batch_id)
    store.compact_metrics(run_id)
    # the writer retries the last batch when a commit's acknowledgement was lost
    store.log_metrics([(run_id, "m", 2.0, 1, 2)], batch_id=ids[-1])
    assert store.metric_history(run_id, "m").column("value").to_pylist() == [0.0, 1.0, 2.0]


def _file_figures(path: Path) -> tuple[int, int]:
    """(file bytes, free pages) after a WAL checkpoint, as the user's disk holds them."""
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        free = connection.execute("PRAGMA freelist_count").fetchone()[0]
    finally:
        connection.close()
    return path.stat().st_size, free


def _slow_logger(store: SqlStore, n: int) -> tuple[str, list[Any]]:
    experiment = store.create_experiment("slow").experiment_id
    run_id = new_run(store, experiment)
    points = [
        (run_id, "loss", SPECIAL[i % 5] if i % 11 == 0 else i / 7, 1000 + i, i) for i in range(n)
    ]
    for first in range(0, n, 500):  # what a slow logger leaves: many small chunks
        store.log_metrics(points[first : first + 500], batch_id=uuid.uuid4().hex)
    return run_id, points


def test_a_new_sqlite_store_gives_the_pages_compaction_frees_back(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    store = SqlStore(f"sqlite:///{path}")
    run_id, points = _slow_logger(store, 20_000)
    store.end_run(run_id, status="FINISHED", end_time=1)  # compacts 40 chunks into one
    assert history(store, run_id, "loss") == expected(points, "loss")
    store.close()
    size, free = _file_figures(path)
    assert free == 0  # nothing left unused in the file
    assert size < 20_000 * 26 + 200_000  # ~24 bytes a point, plus the schema's pages


def test_an_existing_store_keeps_its_vacuum_setting_and_its_points(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    connection = sqlite3.connect(path)  # a file made before: auto_vacuum off, has a table
    connection.execute("CREATE TABLE kept (x)")
    connection.commit()
    connection.close()
    store = SqlStore(f"sqlite:///{path}")
    run_id, points = _slow_logger(store, 5_000)
    store.end_run(run_id, status="FINISHED", end_time=1)
    assert history(store, run_id, "loss") == expected(points, "loss")
    store.close()
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA auto_vacuum").fetchone()[0] == 0  # not converted
    connection.close()
