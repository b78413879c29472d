"""``Tracker.create_runs`` / ``end_runs``: heartbeat-tracked runs started and ended in bulk, on
a real SQLite store."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlcore.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from mlcore.tracking import Tracker
from mlcore.tracking.bulk_runs import RunEnd, RunSpec

TIMEOUT = 0.4  # seconds a run stays RUNNING without a heartbeat


@pytest.fixture
def tracker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tracker]:
    monkeypatch.setenv("MLCORE_HEARTBEAT_INTERVAL", "0.05")
    monkeypatch.setenv("MLCORE_HEARTBEAT_TIMEOUT", str(TIMEOUT))
    with Tracker(f"sqlite:///{tmp_path}/bulk.db", artifact_uri=str(tmp_path / "art")) as tracker:
        yield tracker


def _statuses(tracker: Tracker, run_ids: list[str]) -> list[str]:
    return [tracker.get_run(run_id).info.status.value for run_id in run_ids]


def _count(tracker: Tracker) -> int:
    return len(list(tracker.iter_runs()))


def test_create_runs_in_one_call(tracker: Tracker) -> None:
    parent = tracker.create_run("bulk", name="parent")
    experiment_id = tracker.resolve_experiment_id("bulk")
    assert experiment_id == parent.info.experiment_id
    specs = [
        RunSpec(
            name=f"step-{i}",
            tags={"step": str(i)},
            params={"i": i},
            parent_run_id=parent.info.run_id,
        )
        for i in range(5)
    ]
    runs = tracker.create_runs(specs, experiment_id=experiment_id)
    assert [r.info.name for r in runs] == [f"step-{i}" for i in range(5)]
    for i, run in enumerate(runs):
        stored = tracker.get_run(run.info.run_id)
        assert stored.info.status.value == "RUNNING"
        assert stored.info.parent_run_id == parent.info.run_id
        assert stored.info.experiment_id == experiment_id
        assert stored.data.tags["step"] == str(i)
        assert "mlcore.source.name" not in stored.data.tags  # tags as given
        assert stored.data.params == {"i": str(i)}


def test_heartbeat_keeps_them_running(tracker: Tracker) -> None:
    runs = tracker.create_runs([RunSpec(name=f"r{i}") for i in range(4)], experiment="bulk")
    unbeaten = tracker.create_runs([RunSpec(name="no-beat", heartbeat=False)], experiment="bulk")
    ids = [r.info.run_id for r in runs]
    time.sleep(TIMEOUT * 3)
    assert _statuses(tracker, ids) == ["RUNNING"] * 4  # not CRASHED: the heartbeat extends them
    # without a heartbeat (and no deadline) a run is simply RUNNING until ended
    assert _statuses(tracker, [unbeaten[0].info.run_id]) == ["RUNNING"]


def test_end_runs_in_bulk(tracker: Tracker) -> None:
    runs = tracker.create_runs([RunSpec(name=f"r{i}") for i in range(3)], experiment="bulk")
    ids = [r.info.run_id for r in runs]
    before = time.time_ns() // 1_000_000
    tracker.end_runs(
        [
            RunEnd(ids[0]),
            RunEnd(ids[1], "FAILED", tags={"why": "boom"}),
            RunEnd(ids[2], "KILLED", end_time=before - 5),
        ]
    )
    stored = [tracker.get_run(run_id) for run_id in ids]
    assert [r.info.status.value for r in stored] == ["FINISHED", "FAILED", "KILLED"]
    assert stored[0].info.end_time is not None and stored[0].info.end_time >= before
    assert stored[1].data.tags["why"] == "boom"
    assert stored[2].info.end_time == before - 5
    time.sleep(TIMEOUT * 2)  # no heartbeat turns them back, nor do they read CRASHED
    assert _statuses(tracker, ids) == ["FINISHED", "FAILED", "KILLED"]


def test_create_runs_ends_others_in_the_same_call(tracker: Tracker) -> None:
    first = tracker.create_runs([RunSpec(name="a"), RunSpec(name="b")], experiment="bulk")
    ends = [RunEnd(r.info.run_id, tags={"done": "yes"}) for r in first]
    second = tracker.create_runs([RunSpec(name="c")], experiment="bulk", end=ends)
    assert _statuses(tracker, [r.info.run_id for r in first]) == ["FINISHED", "FINISHED"]
    assert tracker.get_run(first[0].info.run_id).data.tags["done"] == "yes"
    assert _statuses(tracker, [second[0].info.run_id]) == ["RUNNING"]


def test_config_run_id_and_source_tags(tracker: Tracker) -> None:
    run_id = uuid.uuid4().hex
    spec = RunSpec(name="trial-0", config={"lr": 0.1, "opt": {"m": 2}}, run_id=run_id)
    (run,) = tracker.create_runs([spec], experiment="bulk", tag_source=True)
    stored = tracker.get_run(run.info.run_id)
    assert stored.info.run_id == run_id
    assert stored.config == {"lr": 0.1, "opt": {"m": 2}}
    assert stored.data.params == {"lr": "0.1", "opt.m": "2"}
    assert "mlcore.source.name" in stored.data.tags
    with pytest.raises(AlreadyExistsError):  # how a sweep's agents claim a trial
        tracker.create_runs([spec], experiment="bulk")
    assert _count(tracker) == 1


def test_resuming_a_run_created_in_bulk(tracker: Tracker) -> None:
    """How a sweep's trial starts the run its agent claimed: the handle shows the run as
    created, and as changed where this tracker changed it in between."""
    claimed, renamed = tracker.create_runs(
        [RunSpec(name="trial-0", config={"lr": 0.1}), RunSpec(name="trial-1", config={"lr": 1})],
        experiment="bulk",
    )
    tracker.update_config(renamed.info.run_id, {"depth": 3})
    tracker.update_run(renamed.info.run_id, name="trial-1b")
    for run, name, config in (
        (claimed, "trial-0", {"lr": 0.1}),
        (renamed, "trial-1b", {"lr": 1, "depth": 3}),
    ):
        with tracker.start_run(run_id=run.info.run_id) as handle:
            assert (handle.name, handle.info.status.value) == (name, "RUNNING")
            assert dict(handle.config) == config
            handle.log_metric("m", 1.0)
        stored = tracker.get_run(run.info.run_id)
        assert (stored.info.name, stored.info.status.value) == (name, "FINISHED")
        assert (stored.config, stored.data.metrics) == (config, {"m": 1.0})


def test_bad_input_creates_nothing(tracker: Tracker) -> None:
    good = RunSpec(name="good")
    with pytest.raises(NotFoundError):
        tracker.create_runs([good, RunSpec(name="also-good")], experiment_id="987654")
    with pytest.raises(InvalidInputError):
        tracker.create_runs([good, RunSpec(name="bad", run_id="not-a-run-id")], experiment="bulk")
    with pytest.raises(InvalidInputError):
        tracker.create_runs([good, RunSpec(name="bad", run_id="A" * 32)], experiment="bulk")
    with pytest.raises(InvalidInputError):
        tracker.create_runs([good], experiment="bulk", experiment_id="1")
    with pytest.raises(NotFoundError):  # an unknown parent
        tracker.create_runs(
            [good, RunSpec(name="orphan", parent_run_id=uuid.uuid4().hex)], experiment="bulk"
        )
    taken = tracker.create_runs([RunSpec(name="taken", run_id=uuid.uuid4().hex)], experiment="bulk")
    with pytest.raises(AlreadyExistsError):
        tracker.create_runs([good, RunSpec(run_id=taken[0].info.run_id)], experiment="bulk")
    assert [r.info.name for r in tracker.iter_runs()] == ["taken"]
    with pytest.raises(NotFoundError):
        tracker.end_runs([RunEnd("not-a-run-id")])
    with pytest.raises(InvalidInputError):
        tracker.end_runs([RunEnd(taken[0].info.run_id, "CRASHED")])
    assert tracker.get_run(taken[0].info.run_id).info.end_time is None
