"""Where steps run on the ``local`` executor: a step that would run alone runs in the runner's
thread (no hand-off), steps that can run together still do, and every step is a stored run."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlcore.tracking import Tracker
from tests.pipeline import flows


@pytest.fixture
def tracker(tmp_path: Path) -> Iterator[Tracker]:
    tracker = Tracker(str(tmp_path / "store"))
    yield tracker
    tracker.close()


def test_a_chain_runs_in_the_runner_thread_and_stores_every_step(tracker: Tracker) -> None:
    result = flows.thread_chain.run(tracker=tracker, executor="local")
    assert result.status == "SUCCEEDED"
    here = threading.current_thread().name
    assert [step.outputs["Output"] for step in result.steps.values()] == [here, here]
    for value, step in enumerate(result.steps.values(), start=1):
        run = tracker.get_run(step.run_id or "")
        assert run.info.parent_run_id == result.run_id
        assert run.info.status.value == "FINISHED"
        assert run.data.metrics == {"x": float(value)}  # the step's own run, while it ran here
    assert tracker.get_run(result.run_id).info.status.value == "FINISHED"


def test_steps_ready_together_still_run_at_the_same_time(tracker: Tracker) -> None:
    result = flows.two_meet.run(tracker=tracker, executor="local")
    assert result.status == "SUCCEEDED"  # each waited for the other: they ran concurrently
    assert sorted(step.outputs["Output"] for step in result.steps.values()) == [1, 2]
