"""The batching writer under faults: nothing lost, nothing stored twice.

Faults are injected into a real SqlStore (a subclass whose ``_log_metrics`` fails on purpose),
so the storing itself is the real thing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from mlcore import Tracker
from mlcore.errors import StoreError
from mlcore.stores.base import MetricPoint
from mlcore.stores.sql import SqlStore
from mlcore.tracking.writer import BatchWriter


class FlakyStore(SqlStore):
    """Fails the next ``fail`` metric writes; ``after_commit`` fails *after* storing, like a
    connection that dies before the acknowledgement arrives."""

    def __init__(self, url: str, fail: int = 0, after_commit: bool = False) -> None:
        super().__init__(url)
        self.fail = fail
        self.after_commit = after_commit
        self.calls = 0
        self.lock = threading.Lock()

    def _log_metrics(self, points: Sequence[MetricPoint], batch_id: str | None) -> None:
        with self.lock:
            self.calls += 1
            failing = self.fail > 0
            if failing:
                self.fail -= 1
        if failing and not self.after_commit:
            raise ConnectionError("server went away")
        super()._log_metrics(points, batch_id)
        if failing:
            raise ConnectionError("acknowledgement lost")


def test_failed_batches_are_retried_without_loss(tmp_path: Path) -> None:
    store = FlakyStore(f"sqlite:///{tmp_path}/s.db", fail=3)
    tracker = Tracker(store=store)
    run = tracker.create_run("exp")
    for i in range(1000):
        tracker.log_metric(run.id, "m", float(i), step=i)
    deadline = time.monotonic() + 30
    while tracker._writer.backlog and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.calls >= 4
    history = tracker.metric_history(run.id, "m")
    assert history.column("value").to_pylist() == [float(i) for i in range(1000)]
    tracker.close()


def test_retry_after_lost_acknowledgement_stores_once(tmp_path: Path) -> None:
    store = FlakyStore(f"sqlite:///{tmp_path}/s.db", fail=1, after_commit=True)
    tracker = Tracker(store=store)
    run = tracker.create_run("exp")
    for i in range(100):
        tracker.log_metric(run.id, "m", float(i), step=i)
    with pytest.raises(StoreError, match="acknowledgement lost"):
        tracker.flush()
    tracker.flush()  # the retry re-sends the same batch id
    assert tracker.metric_history(run.id, "m").num_rows == 100
    tracker.close()


def test_flush_surfaces_the_error_and_keeps_the_points(tmp_path: Path) -> None:
    store = FlakyStore(f"sqlite:///{tmp_path}/s.db", fail=1)
    writer = BatchWriter(store, interval=3600)
    run_id = store.create_run(
        store.create_experiment("e").experiment_id, name="r", start_time=0
    ).info.run_id
    writer.add((run_id, "m", 1.0, 1, 0))
    with pytest.raises(StoreError, match="server went away"):
        writer.flush()
    assert writer.backlog == 1
    writer.add((run_id, "m", 2.0, 2, 1))
    writer.flush()
    assert writer.backlog == 0
    assert store.metric_history(run_id, "m").column("value").to_pylist() == [1.0, 2.0]
    writer.close()


def test_back_pressure_turns_an_outage_into_an_error(tmp_path: Path) -> None:
    store = FlakyStore(f"sqlite:///{tmp_path}/s.db", fail=10**9)
    writer = BatchWriter(store, interval=3600, max_buffer=100)
    run_id = store.create_run(
        store.create_experiment("e").experiment_id, name="r", start_time=0
    ).info.run_id
    added = 0
    with pytest.raises(StoreError):
        for i in range(1000):
            added += 1  # the point is queued before add() writes synchronously and fails
            writer.add((run_id, "m", float(i), i, i))
    assert added == 101  # the caller learnt of the outage as soon as the backlog passed 100
    assert writer.backlog == added  # kept, not dropped
    store.fail = 0
    writer.flush()
    assert store.metric_history(run_id, "m").column("value").to_pylist() == [
        float(i) for i in range(added)
    ]
    writer.close()


def test_many_threads_log_concurrently(tmp_path: Path) -> None:
    tracker = Tracker(f"sqlite:///{tmp_path}/s.db")
    run = tracker.start_run("exp")

    def work(worker: int) -> None:
        for i in range(5000):
            run.log_metric(f"t{worker}", float(i), step=i)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.end()
    for w in range(8):
        assert tracker.metric_history(run.id, f"t{w}").num_rows == 5000
    tracker.close()


def test_heartbeat_extends_the_deadline(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path}/s.db")
    writer = BatchWriter(store, interval=0.02, heartbeat_interval=0.05, heartbeat_timeout=0.3)
    run_id = store.create_run(
        store.create_experiment("e").experiment_id,
        name="r",
        start_time=0,
        alive_until=writer.alive_until(),
    ).info.run_id
    writer.register_run(run_id)
    time.sleep(0.8)
    assert store.get_run(run_id).info.status.value == "RUNNING"
    writer.unregister_run(run_id)
    time.sleep(0.6)
    assert store.get_run(run_id).info.status.value == "CRASHED"
    writer.close()
