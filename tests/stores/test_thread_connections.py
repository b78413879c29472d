"""Run starts and ends on a SQLite file go through a connection each thread holds: many
threads at once, a refused start, and a store closed and opened again lose nothing."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from mlcore.errors import AlreadyExistsError
from mlcore.stores.sql import SqlStore
from mlcore.tracking import Tracker


def test_more_threads_than_pooled_connections_store_every_run(tmp_path: Path) -> None:
    tracker = Tracker(f"sqlite:///{tmp_path}/t.db")
    experiment = tracker.get_or_create_experiment("threads").experiment_id
    failures: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                with tracker.start_run(experiment) as run:
                    run.log_param("thread", threading.current_thread().name)
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, name=f"t{i}") for i in range(24)]  # pool: 16
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    runs = tracker.search_runs("threads", max_results=1000)
    assert len(runs) == 120
    assert {r.info.status.value for r in runs} == {"FINISHED"}
    assert all(r.info.end_time for r in runs)
    assert {r.data.params["thread"] for r in runs} == {f"t{i}" for i in range(24)}
    tracker.close()


def test_a_refused_start_leaves_nothing_and_the_next_one_works(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path}/r.db")
    experiment = store.create_experiment("refused").experiment_id
    first = store.create_run(experiment, name="a", start_time=1, tags={"k": "v"})
    with pytest.raises(AlreadyExistsError):
        store.create_run(
            experiment, name="b", start_time=2, tags={"k": "w"}, run_id=first.info.run_id
        )
    second = store.create_run(experiment, name="c", start_time=3)
    store.end_run(second.info.run_id, end_time=4)
    assert store.get_run(first.info.run_id).data.tags["k"] == "v"
    assert store.get_run(first.info.run_id).info.name == "a"
    assert store.get_run(second.info.run_id).info.status.value == "FINISHED"
    store.close()


def test_a_store_closed_and_opened_again_sees_every_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/c.db"
    store = SqlStore(url)
    experiment = store.create_experiment("closed").experiment_id
    ids = [store.create_run(experiment, name=f"r{i}", start_time=i).info.run_id for i in range(3)]
    for run_id in ids:
        store.end_run(run_id, end_time=10)
    store.close()
    again = SqlStore(url)
    assert [again.get_run(run_id).info.status.value for run_id in ids] == ["FINISHED"] * 3
    again.end_run(ids[0], status="FAILED", end_time=11)  # a closed store's file, still writable
    assert again.get_run(ids[0]).info.status.value == "FAILED"
    again.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_opens_its_own_connection_and_both_sides_store_their_runs(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/f.db"
    tracker = Tracker(url)
    with tracker.start_run(experiment="fork") as run:  # the parent's thread holds a connection
        run.log_metric("side", 0.0)
    pid = os.fork()
    if pid == 0:  # the child: never use or close the parent's connection
        code = 1
        try:
            for _ in range(10):
                with tracker.start_run(experiment="fork") as run:
                    run.log_metric("side", 2.0)
            tracker.close()
            code = 0
        finally:
            os._exit(code)
    for _ in range(10):
        with tracker.start_run(experiment="fork") as run:
            run.log_metric("side", 1.0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    runs = Tracker(url).search_runs("fork", max_results=100)
    sides = sorted(r.data.metrics["side"] for r in runs)
    assert sides == [0.0] + [1.0] * 10 + [2.0] * 10
    assert {r.info.status.value for r in runs} == {"FINISHED"}
