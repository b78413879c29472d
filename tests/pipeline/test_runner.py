"""Running pipelines: data passing, step runs, caching, retries, timeouts, crashes, failure
isolation, exit handlers, fan-out/fan-in, conditions, resume — on the local and process
executors."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlcore.errors import InvalidInputError
from mlcore.executors import resolve_executor
from mlcore.pipeline import Pipeline
from mlcore.tracking import Tracker
from tests.pipeline import flows


@pytest.fixture
def tracker(tmp_path: Path) -> Iterator[Tracker]:
    tracker = Tracker(str(tmp_path / "store"))
    yield tracker
    tracker.close()


@pytest.fixture
def where(tmp_path: Path) -> str:
    path = tmp_path / "marks"
    path.mkdir()
    return str(path)


@pytest.fixture(params=["local", "process"])
def executor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def step_runs(tracker: Tracker, pipeline_run_id: str) -> dict[str, object]:
    run = tracker.get_run(pipeline_run_id)
    children = tracker.search_runs(
        run.info.experiment_id, f"attributes.parent_run_id = '{pipeline_run_id}'"
    )
    return {c.data.tags["mlcore.pipeline.step"]: c for c in children}


def log_text(tracker: Tracker, run_id: str, attempt: int = 1) -> str:
    return tracker.artifact_store(run_id).get_bytes(f"logs/attempt-{attempt}.txt").decode()


# -- data passing and records ----------------------------------------------------------------------
def test_seed_pipeline_passes_parameters_and_artifacts(
    tracker: Tracker, where: str, executor: str
) -> None:
    result = flows.training.run({"rows": 6, "where": where}, tracker=tracker, executor=executor)
    assert result.status == "SUCCEEDED", {n: s.error for n, s in result.steps.items()}
    steps = result.steps
    assert steps["make-data"].outputs["Output"] == 6
    assert steps["summarize"].outputs["total"] == sum(i * i for i in range(6))
    assert steps["summarize"].outputs["mean"] == pytest.approx(55 / 6)
    assert steps["train"].outputs["Output"] == pytest.approx(0.89)
    assert steps["evaluate"].outputs["Output"] is True
    model_uri = steps["train"].outputs["model"]
    assert model_uri.startswith("file://") and model_uri.endswith("/outputs/model")
    assert all(s.attempts == 1 and not s.cached for s in steps.values())

    pipeline_run = tracker.get_run(result.run_id)
    assert pipeline_run.info.status.value == "FINISHED"
    assert pipeline_run.data.tags["mlcore.pipeline.name"] == "training"
    assert pipeline_run.config == {"rows": 6, "lr": 0.1, "where": where}
    stored_spec = tracker.artifact_store(result.run_id).get_bytes("pipeline.yaml").decode()
    assert Pipeline.from_yaml(stored_spec).spec == flows.training.spec

    runs = step_runs(tracker, result.run_id)
    assert set(runs) == {"make-data", "summarize", "train", "evaluate"}
    train = runs["train"]
    assert train.id == steps["train"].run_id  # type: ignore[attr-defined]
    assert train.info.status.value == "FINISHED"  # type: ignore[attr-defined]
    assert train.data.params["lr"] == "0.1"  # type: ignore[attr-defined]
    assert train.data.params["data"] == steps["make-data"].outputs["data"]  # type: ignore[attr-defined]
    # mlcore.log_metric inside a component logs to the step's run
    history = tracker.metric_history(train.id, "loss")  # type: ignore[attr-defined]
    assert history.column("value").to_pylist() == [1.0, 0.5, pytest.approx(1 / 3)]
    assert tracker.get_run(steps["summarize"].run_id or "").data.metrics == {
        "rows": 6.0,
        "total": 55.0,
    }
    # printed output is the step's log
    assert "wrote 6 rows" in log_text(tracker, steps["make-data"].run_id or "")
    # the model directory went through the artifact store, sha256 recorded
    files = {f.path: f for f in tracker.artifact_store(train.id).walk()}  # type: ignore[attr-defined]
    assert "outputs/model/weights.txt" in files
    outputs = json.loads(train.data.tags["mlcore.pipeline.outputs"])  # type: ignore[attr-defined]
    assert len(outputs["artifacts"]["model"]["sha256"]) == 64


def test_artifact_input_from_a_path_is_imported(tracker: Tracker, tmp_path: Path) -> None:
    from mlcore.pipeline import Dataset, Input, component, pipeline

    @component
    def lines(data: Input[Dataset]) -> int:
        return len(data.read_text().splitlines())

    @pipeline
    def count(path: str):
        lines(data=path)

    source = tmp_path / "raw.csv"
    source.write_text("a\nb\nc\n")
    result = count.run({"path": str(source)}, tracker=tracker)
    assert result.steps["lines"].outputs["Output"] == 3
    missing = count.run({"path": str(tmp_path / "nope.csv")}, tracker=tracker)
    assert missing.status == "FAILED"
    assert "does not exist" in (missing.steps["lines"].error or "")


def test_bad_pipeline_arguments_change_nothing(tracker: Tracker) -> None:
    with pytest.raises(InvalidInputError, match="has no parameter"):
        flows.training.run({"rowz": 3}, tracker=tracker)
    with pytest.raises(InvalidInputError, match="must be int"):
        flows.training.run({"rows": "three"}, tracker=tracker)
    with pytest.raises(InvalidInputError, match="needs argument 'xs'"):
        flows.fan.run({}, tracker=tracker)
    assert list(tracker.search_runs()) == []


def test_other_processes_cannot_use_an_in_memory_store() -> None:
    memory = Tracker("sqlite:///:memory:")
    try:
        with pytest.raises(InvalidInputError, match="in-memory"):
            flows.training.run(tracker=memory, executor="process")
    finally:
        memory.close()


# -- caching -----------------------------------------------------------------------------------------
def test_a_second_run_reuses_every_step(tracker: Tracker, where: str, executor: str) -> None:
    first = flows.training.run({"where": where}, tracker=tracker, executor=executor)
    second = flows.training.run({"where": where}, tracker=tracker, executor=executor)
    assert second.status == "SUCCEEDED"
    assert all(s.cached for s in second.steps.values())
    assert len(flows.runs_of(where, "train")) == 1  # not executed again
    for name, step in second.steps.items():
        assert step.outputs == first.steps[name].outputs
        assert step.attempts == 0
        reused = tracker.get_run(step.run_id or "")
        assert reused.data.tags["mlcore.pipeline.cached_from"] == first.steps[name].run_id
        assert reused.info.parent_run_id == second.run_id


def test_changing_an_input_reruns_only_what_depends_on_it(tracker: Tracker, where: str) -> None:
    flows.training.run({"where": where}, tracker=tracker)
    changed = flows.training.run({"where": where, "lr": 0.2}, tracker=tracker)
    cached = {name for name, s in changed.steps.items() if s.cached}
    assert cached == {"make-data", "summarize"}
    assert [r["lr"] for r in flows.runs_of(where, "train")] == [0.1, 0.2]
    assert changed.steps["train"].outputs["Output"] == pytest.approx(0.88)


def test_cache_can_be_turned_off(tracker: Tracker, where: str) -> None:
    flows.training.run({"where": where}, tracker=tracker)
    again = flows.training.run({"where": where}, tracker=tracker, cache=False)
    assert not any(s.cached for s in again.steps.values())
    assert len(flows.runs_of(where, "make_data")) == 2
    # and a run without the cache still feeds later cached runs
    third = flows.training.run({"where": where}, tracker=tracker)
    assert all(s.cached for s in third.steps.values())


def test_a_deleted_output_artifact_is_a_cache_miss(tracker: Tracker, where: str) -> None:
    import shutil

    from mlcore.uris import file_uri_to_path

    first = flows.training.run({"where": where}, tracker=tracker)
    shutil.rmtree(file_uri_to_path(first.steps["train"].outputs["model"]))
    second = flows.training.run({"where": where}, tracker=tracker)
    assert second.status == "SUCCEEDED"
    assert not second.steps["train"].cached
    assert second.steps["make-data"].cached


def test_large_outputs_are_stored_and_reused(tracker: Tracker) -> None:
    first = flows.big_outputs.run({"n": 5000}, tracker=tracker)
    assert first.steps["size-of"].outputs["Output"] == 5000
    second = flows.big_outputs.run({"n": 5000}, tracker=tracker)
    assert second.steps["big"].cached
    assert len(second.steps["big"].outputs["Output"]) == 5000


# -- failures ----------------------------------------------------------------------------------------
def test_a_failed_step_skips_its_dependents_not_other_branches(
    tracker: Tracker, executor: str
) -> None:
    result = flows.branches.run({"message": "bad row 17"}, tracker=tracker, executor=executor)
    assert result.status == "FAILED"
    steps = result.steps
    assert steps["boom"].status == "FAILED"
    assert steps["boom"].error == "ValueError: bad row 17"
    assert steps["double"].status == "SKIPPED"
    assert steps["double"].error == "upstream step boom failed"
    assert steps["echo"].status == "SUCCEEDED"
    assert steps["echo-2"].status == "SUCCEEDED"
    runs = step_runs(tracker, result.run_id)
    assert "double" not in runs  # a skipped step never started: no run
    failed = runs["boom"]
    assert failed.info.status.value == "FAILED"  # type: ignore[attr-defined]
    assert failed.data.tags["mlcore.error"] == "ValueError: bad row 17"  # type: ignore[attr-defined]
    log = log_text(tracker, failed.id)  # type: ignore[attr-defined]
    assert "about to fail" in log
    assert "Traceback" in log and "ValueError: bad row 17" in log
    assert tracker.get_run(result.run_id).info.status.value == "FAILED"


def test_fail_fast_stops_the_other_branches(tracker: Tracker) -> None:
    started = time.monotonic()
    result = flows.slow_branches.run(
        {"seconds": 20.0}, tracker=tracker, executor="process", fail_fast=True
    )
    assert time.monotonic() - started < 15
    assert result.status == "FAILED"
    assert result.steps["boom"].status == "FAILED"
    assert result.steps["sleeper"].status in ("KILLED", "SKIPPED")
    if result.steps["sleeper"].run_id:
        sleeper = tracker.get_run(result.steps["sleeper"].run_id)
        assert sleeper.info.status.value == "KILLED"


def test_retries_with_backoff(tracker: Tracker, where: str, executor: str) -> None:
    result = flows.retrying.run(
        {"where": where, "fail_times": 2}, tracker=tracker, executor=executor
    )
    step = result.steps["flaky"]
    assert result.status == "SUCCEEDED"
    assert step.attempts == 3
    times = [r["time"] for r in flows.runs_of(where, "flaky")]
    assert times[1] - times[0] >= 0.05 and times[2] - times[1] >= 0.1  # exponential backoff
    run = tracker.get_run(step.run_id or "")
    assert run.data.tags["mlcore.pipeline.attempts"] == "3"
    assert "flaky failure 1" in log_text(tracker, run.id, attempt=1)
    assert "attempt 3" in log_text(tracker, run.id, attempt=3)


def test_retries_run_out(tracker: Tracker, where: str) -> None:
    result = flows.retrying.run({"where": where, "fail_times": 5}, tracker=tracker)
    assert result.status == "FAILED"
    assert result.steps["flaky"].attempts == 3
    assert result.steps["flaky"].error == "RuntimeError: flaky failure 3"


def test_a_step_past_its_timeout_fails_and_the_pipeline_ends(
    tracker: Tracker, executor: str
) -> None:
    started = time.monotonic()
    result = flows.hanging.run({"seconds": 30.0}, tracker=tracker, executor=executor)
    assert time.monotonic() - started < 20
    assert result.status == "FAILED"
    assert result.steps["hang"].status == "FAILED"
    assert "timed out after 1s" in (result.steps["hang"].error or "")
    assert result.steps["echo"].status == "SUCCEEDED"
    run = tracker.get_run(result.steps["hang"].run_id or "")
    assert run.info.status.value == "FAILED"
    assert "timed out" in log_text(tracker, run.id)


def test_a_step_that_kills_its_process_is_retried(tracker: Tracker, where: str) -> None:
    result = flows.crashing.run({"where": where}, tracker=tracker, executor="process")
    assert result.status == "SUCCEEDED"
    step = result.steps["die-once"]
    assert step.attempts == 2
    assert step.outputs["Output"] == 7
    assert "exit code 3" in log_text(tracker, step.run_id or "", attempt=1)


def test_a_step_that_always_crashes_fails_with_the_cause(tracker: Tracker) -> None:
    result = flows.always_crashing.run(tracker=tracker, executor="process")
    assert result.status == "FAILED"
    step = result.steps["always-dies"]
    assert step.attempts == 4
    assert "the worker process died (exit code 9)" in (step.error or "")


def test_exit_handler_runs_after_a_failure(tracker: Tracker, where: str, executor: str) -> None:
    result = flows.guarded.run({"where": where}, tracker=tracker, executor=executor)
    assert result.status == "FAILED"
    assert result.steps["notify"].status == "SUCCEEDED"
    assert result.steps["notify"].outputs["Output"] == "FAILED"
    (call,) = flows.runs_of(where, "notify")
    assert call["state"] == "FAILED"
    assert call["failed"] == ["boom"]
    ok = flows.guarded_ok.run({"where": where}, tracker=tracker, executor=executor)
    assert ok.status == "SUCCEEDED"
    assert ok.steps["notify"].outputs["Output"] == "SUCCEEDED"


def test_exit_handlers_are_never_cached(tracker: Tracker, where: str) -> None:
    flows.guarded_ok.run({"where": where}, tracker=tracker)
    again = flows.guarded_ok.run({"where": where}, tracker=tracker)
    assert again.steps["echo"].cached
    assert not again.steps["notify"].cached
    assert len(flows.runs_of(where, "notify")) == 2


# -- fan-out, conditions -------------------------------------------------------------------------------
def test_for_each_fans_out_within_parallelism_and_collects(
    tracker: Tracker, where: str, executor: str
) -> None:
    xs = [1, 2, 3, 4, 5]
    result = flows.fan.run({"xs": xs, "where": where}, tracker=tracker, executor=executor)
    assert result.status == "SUCCEEDED"
    assert result.steps["add-all"].outputs["Output"] == sum(x * x for x in xs)
    assert [result.steps[f"square[{i}]"].outputs["Output"] for i in range(5)] == [x * x for x in xs]
    events = sorted(
        (r["time"], 1 if r["phase"] == "start" else -1)
        for x in xs
        for r in flows.runs_of(where, f"square-{x}")
    )
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    assert peak == 2  # parallelism=2: concurrent, and never more
    runs = step_runs(tracker, result.run_id)
    assert runs["square[3]"].data.params["x"] == "4"  # type: ignore[attr-defined]


def test_for_each_over_a_step_output(tracker: Tracker, executor: str) -> None:
    result = flows.fan_from_step.run({"n": 3}, tracker=tracker, executor=executor)
    assert result.status == "SUCCEEDED"
    assert result.steps["joined"].outputs["Output"] == "m0:0,m1:1,m2:2"
    empty = flows.fan_from_step.run({"n": 0}, tracker=tracker, executor=executor)
    assert empty.status == "SUCCEEDED"
    assert empty.steps["joined"].outputs["Output"] == ""


def test_when_runs_only_the_branch_that_holds(tracker: Tracker) -> None:
    high = flows.gated.run({"value": 0.8}, tracker=tracker)
    assert high.steps["echo"].status == "SUCCEEDED"
    assert high.steps["echo-2"].status == "SKIPPED"
    assert high.steps["echo-2"].error == "condition 0.8 <= 0.5 is false"
    assert high.status == "SUCCEEDED"
    low = flows.gated.run({"value": 0.2}, tracker=tracker)
    assert low.steps["echo"].status == "SKIPPED"
    assert low.steps["echo-2"].status == "SUCCEEDED"


# -- resume --------------------------------------------------------------------------------------------
def test_resume_reuses_the_steps_that_succeeded(tracker: Tracker, where: str) -> None:
    failed = flows.resumable.run({"where": where}, tracker=tracker)
    assert failed.status == "FAILED"
    assert failed.steps["gate"].error == "RuntimeError: the gate is closed"
    Path(where, "open").touch()
    resumed = flows.resumable.run(tracker=tracker, resume=failed.run_id)
    assert resumed.status == "SUCCEEDED"
    assert resumed.run_id == failed.run_id
    assert resumed.steps["counted"].cached
    assert resumed.steps["counted"].run_id == failed.steps["counted"].run_id
    assert len(flows.runs_of(where, "counted")) == 1  # cache=False, yet not run again
    assert resumed.steps["gate"].outputs["Output"] == 2
    assert tracker.get_run(failed.run_id).info.status.value == "FINISHED"
    with pytest.raises(InvalidInputError, match="other arguments"):
        flows.resumable.run({"where": "/elsewhere"}, tracker=tracker, resume=failed.run_id)
    with pytest.raises(InvalidInputError, match="not 'training'"):
        flows.training.run(tracker=tracker, resume=failed.run_id)


# -- executors given as instances, PostgreSQL ----------------------------------------------------------
def test_an_executor_instance_is_reused_and_left_open(tracker: Tracker) -> None:
    executor = resolve_executor("process", workers=2)
    try:
        for rows in (3, 4):
            result = flows.training.run({"rows": rows}, tracker=tracker, executor=executor)
            assert result.status == "SUCCEEDED"
        assert executor.capacity == 2
    finally:
        executor.close()


def test_pipeline_on_postgresql_with_the_process_executor(pg_url: str, tmp_path: Path) -> None:
    tracker = Tracker(pg_url, artifact_uri=str(tmp_path / "artifacts"))
    try:
        result = flows.training.run({"rows": 5}, tracker=tracker, executor="process")
        assert result.status == "SUCCEEDED", {n: s.error for n, s in result.steps.items()}
        again = flows.training.run({"rows": 5}, tracker=tracker, executor="process")
        assert all(s.cached for s in again.steps.values())
        assert len(step_runs(tracker, result.run_id)) == 4
    finally:
        tracker.close()
