"""The dask executor against a real ``distributed.LocalCluster``: the executor conformance
suite, pipelines, and a worker that dies mid-step."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlcore.executors import Executor, resolve_executor
from mlcore.pipeline import Dataset, Input, Output, component, for_each, pipeline
from mlcore.testing import ExecutorConformance
from mlcore.tracking import Tracker

distributed = pytest.importorskip("distributed")


class TestDaskExecutor(ExecutorConformance):
    stops_running_steps = False  # Dask cannot stop a running task; it is abandoned

    @pytest.fixture
    def executor(self, cluster: object) -> Iterator[Executor]:
        executor = resolve_executor("dask", address=cluster.scheduler_address)  # type: ignore[attr-defined]
        yield executor
        executor.close()


# -- pipelines on the cluster -------------------------------------------------------------------
@component
def produce(n: int, data: Output[Dataset]) -> int:
    data.write_text(json.dumps({"pid": os.getpid(), "values": list(range(n))}))
    return os.getpid()


@component
def consume(data: Input[Dataset], k: int) -> int:
    return sum(json.loads(data.read_text())["values"]) * k


@component
def total(values: list) -> int:
    return sum(values)


@pipeline
def spread(n: int = 4):
    p = produce(n=n)
    with for_each([1, 2, 3]) as k:
        c = consume(data=p.outputs["data"], k=k)
    total(values=c.collect())


@component(retries=1, retry_backoff=0.1)
def fragile(where: str) -> int:
    marker = Path(where, "pid")
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        time.sleep(60)  # killed before this ends
    return 42


@component
def fragile_once(where: str) -> int:
    Path(where, "pid").write_text(str(os.getpid()))
    time.sleep(60)
    return 0


@pipeline
def survives(where: str):
    fragile(where=where)


@pipeline
def dies(where: str):
    fragile_once(where=where)


def kill_when_started(where: Path) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            pid_file = where / "pid"
            if pid_file.exists() and pid_file.read_text():
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_pipeline_runs_on_the_cluster(cluster: object, tracker: Tracker) -> None:
    options = {"address": cluster.scheduler_address}  # type: ignore[attr-defined]
    result = spread.run({"n": 4}, tracker=tracker, executor="dask", executor_options=options)
    assert result.status == "SUCCEEDED", {n: s.error for n, s in result.steps.items()}
    assert result.steps["total"].outputs["Output"] == 6 * (1 + 2 + 3)
    with distributed.Client(cluster, set_as_default=False) as client:
        worker_pids = set(client.run(os.getpid).values())
    assert result.steps["produce"].outputs["Output"] in worker_pids
    assert result.steps["produce"].outputs["Output"] != os.getpid()
    again = spread.run({"n": 4}, tracker=tracker, executor="dask", executor_options=options)
    assert all(s.cached for s in again.steps.values())


def test_a_worker_dying_mid_step_is_a_retried_attempt(
    cluster: object, tracker: Tracker, tmp_path: Path
) -> None:
    killer = kill_when_started(tmp_path)
    options = {"address": cluster.scheduler_address}  # type: ignore[attr-defined]
    result = survives.run(
        {"where": str(tmp_path)}, tracker=tracker, executor="dask", executor_options=options
    )
    killer.join(5)
    step = result.steps["fragile"]
    assert result.status == "SUCCEEDED", step.error
    assert step.attempts == 2
    assert step.outputs["Output"] == 42
    log = tracker.artifact_store(step.run_id or "").get_bytes("logs/attempt-1.txt").decode()
    assert "the Dask worker running it died" in log


def test_a_worker_dying_without_retries_fails_the_step(
    cluster: object, tracker: Tracker, tmp_path: Path
) -> None:
    killer = kill_when_started(tmp_path)
    started = time.monotonic()
    options = {"address": cluster.scheduler_address}  # type: ignore[attr-defined]
    result = dies.run(
        {"where": str(tmp_path)}, tracker=tracker, executor="dask", executor_options=options
    )
    killer.join(5)
    assert time.monotonic() - started < 45
    assert result.status == "FAILED"
    step = result.steps["fragile-once"]
    assert "KilledWorker" in (step.error or "")
    run = tracker.get_run(step.run_id or "")
    assert run.info.status.value == "FAILED"
    assert "KilledWorker" in run.data.tags["mlcore.error"]


def test_without_an_address_a_local_cluster_is_started(tracker: Tracker) -> None:
    result = spread.run(
        {"n": 2}, tracker=tracker, executor="dask", executor_options={"max_parallel": 2}
    )
    assert result.status == "SUCCEEDED"
    assert result.steps["total"].outputs["Output"] == 6


def test_bad_options_are_clear_errors() -> None:
    from mlcore.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="cannot reach the Dask scheduler"):
        resolve_executor("dask", address="tcp://127.0.0.1:1", connect_timeout=1)
    with pytest.raises(InvalidInputError, match="max_parallel"):
        resolve_executor("dask", address="tcp://127.0.0.1:1", max_parallel=0)
