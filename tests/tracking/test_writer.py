"""The batching writer under faults: nothing lost, nothing stored twice.

Faults are injected into a real SqlStore (a subclass whose ``_log_metrics`` fails on purpose),
so the storing itself is the real thing.
"""

from __future__ import annotations

import math
import struct
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from mlcore import Tracker
from mlcore.errors import InvalidInputError, StoreError
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


def test_points_logged_while_the_thread_flushes_are_stored_exactly(tmp_path: Path) -> None:
    # the hot path extends the writer's flat buffer while its thread cuts batches off the
    # front every few milliseconds: every point must arrive once, whole and in order
    tracker = Tracker(f"sqlite:///{tmp_path}/s.db")
    tracker._writer.interval = 0.002
    run = tracker.start_run("exp")
    special = [math.nan, math.inf, -math.inf, -0.0, 5e-324]
    n = 60_000
    for i in range(n):
        value = special[i % 5] if i % 13 == 0 else i / 3
        run.log_metric("a" if i % 3 else "b", value, step=i)
        if i % 1000 == 0:
            run.log_metric("no_step", float(i))  # no step: stored at step 0
    run.end()
    for key, wanted in (("a", [i for i in range(n) if i % 3]), ("b", range(0, n, 3))):
        table = tracker.metric_history(run.id, key)
        assert table.column("step").to_pylist() == list(wanted)
        got = [struct.pack("<d", v) for v in table.column("value").to_pylist()]
        want = [struct.pack("<d", special[i % 5] if i % 13 == 0 else i / 3) for i in wanted]
        assert got == want  # bit for bit
        stamps = table.column("timestamp").to_pylist()
        assert stamps == sorted(stamps)
    no_step = tracker.metric_history(run.id, "no_step")
    assert set(no_step.column("step").to_pylist()) == {0}
    assert no_step.column("value").to_pylist() == [float(i) for i in range(0, n, 1000)]
    tracker.close()


def test_a_point_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path}/s.db")
    writer = BatchWriter(store, interval=3600)
    with pytest.raises(InvalidInputError):
        writer.add(("run", "m", 1.0, 1))  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        writer.extend([("run", "m", 1.0, 1, 0), ("run", "m", 1.0, 1)])  # type: ignore[list-item]
    assert writer.backlog == 0  # nothing of either call buffered
    writer.close()
