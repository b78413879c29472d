"""``ExecutorConformance``: the behaviour every ``mlcore.executors`` implementation owes the
pipeline runner and the sweep engine.

Mix it into a test class that provides an ``executor`` fixture (a fresh instance, closed by
the fixture). Executors that cannot stop a running step (threads) set
``stops_running_steps = False``; those that do not isolate a step's process set
``isolates_steps = False`` (a step that kills its process would kill the test).

Executors that run the task's command rather than its function (``runs_commands = True``,
containers) get a command that writes its report to a file; their steps must share this
machine's filesystem (a stand-in kubelet running the commands locally does).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from typing import Any, ClassVar

from mlcore.executors import Executor, StepHandle, StepOutcome, StepTask
from mlcore.testing.executor_tasks import conformance_task

__all__ = ["ExecutorConformance"]

WAIT_S = 120.0


_REPORTS = tempfile.mkdtemp(prefix="mlcore-executor-conformance-")


def task(name: str, order: dict[str, Any], timeout: float | None = None) -> StepTask:
    report = os.path.join(_REPORTS, f"{name}-{time.monotonic_ns()}.json")
    payload = json.dumps({**order, "report": report}).encode()
    return StepTask(
        id=f"{time.monotonic_ns() % 10**12}",
        name=name,
        function=conformance_task,
        payload=payload,
        command=["python", "-m", "mlcore.testing.executor_tasks", payload.decode()],
        timeout=timeout,
        image="python:3.11-slim",
        labels={"mlcore/conformance": name},
    )


def report_of(submitted: StepTask, outcome: StepOutcome) -> dict[str, Any]:
    """What the step reported: its return value, or (command executors) its report file."""
    if outcome.value is not None:
        return dict(json.loads(outcome.value))
    path = json.loads(submitted.payload)["report"]
    assert os.path.exists(path), f"the step left no report ({outcome})"
    with open(path) as handle:
        return dict(json.load(handle))


def finish(executor: Executor, handles: list[StepHandle], limit: float = WAIT_S) -> None:
    """Wait until every handle is done (failing the test past ``limit`` seconds)."""
    deadline = time.monotonic() + limit
    pending = list(handles)
    while pending:
        left = deadline - time.monotonic()
        assert left > 0, f"{len(pending)} steps still running after {limit:g}s"
        done = executor.wait(pending, timeout=min(left, 1.0))
        pending = [h for h in pending if h not in done and not h.done()]


def outcome_of(executor: Executor, submitted: StepTask, limit: float = WAIT_S) -> StepOutcome:
    handle = executor.submit(submitted)
    finish(executor, [handle], limit)
    return handle.outcome()


class ExecutorConformance:
    """Requires an ``executor`` fixture."""

    #: the executor can stop a running step (timeout, cancel) — not so for threads
    stops_running_steps: ClassVar[bool] = True
    #: a step runs in a process of its own that may die without taking the executor along
    isolates_steps: ClassVar[bool] = True
    #: how many steps the "many steps" test submits at once
    many: ClassVar[int] = 40

    def test_capacity_is_positive(self, executor: Executor) -> None:
        assert executor.capacity >= 1

    def test_returns_what_the_step_returned(self, executor: Executor) -> None:
        submitted = task("echo", {"op": "echo", "value": "héllo"})
        outcome = outcome_of(executor, submitted)
        assert outcome.ok, outcome.error
        assert report_of(submitted, outcome)["echo"] == "héllo"

    def test_a_raising_step_fails_with_its_error(self, executor: Executor) -> None:
        submitted = task("fail", {"op": "fail", "message": "bad row 17"})
        outcome = outcome_of(executor, submitted)
        assert outcome.status == "failed"
        text = outcome.error or ""
        if getattr(executor, "runs_commands", False):  # the command said why, in its report
            text = report_of(submitted, outcome)["error"]
        assert "ValueError" in text
        assert "bad row 17" in text

    def test_steps_run_at_once_up_to_capacity(self, executor: Executor) -> None:
        if executor.capacity < 2:
            return
        tasks = [task(f"sleep{i}", {"op": "sleep", "seconds": 1.0}) for i in range(2)]
        handles = [executor.submit(t) for t in tasks]
        finish(executor, handles)
        assert all(h.outcome().ok for h in handles)
        reports = [report_of(t, h.outcome()) for t, h in zip(tasks, handles)]
        assert max(r["start"] for r in reports) < min(r["end"] for r in reports), (
            "two steps within capacity did not overlap"
        )

    def test_many_steps_all_end(self, executor: Executor) -> None:
        tasks = [task(f"n{i}", {"op": "echo", "value": i}) for i in range(self.many)]
        handles = [executor.submit(t) for t in tasks]
        finish(executor, handles)
        values = sorted(report_of(t, h.outcome())["echo"] for t, h in zip(tasks, handles))
        assert values == list(range(self.many))

    def test_wait_returns_only_finished_steps(self, executor: Executor) -> None:
        slow = executor.submit(task("slow", {"op": "sleep", "seconds": 3}))
        fast = executor.submit(task("fast", {"op": "echo", "value": 1}))
        finish(executor, [fast])
        done = executor.wait([slow, fast], timeout=0.1)
        assert fast in done
        assert slow not in done
        finish(executor, [slow])

    def test_a_step_past_its_timeout_ends_as_timeout(self, executor: Executor) -> None:
        started = time.monotonic()
        outcome = outcome_of(executor, task("hang", {"op": "sleep", "seconds": 60}, 1.0), 45)
        assert outcome.status == "timeout", outcome
        assert time.monotonic() - started < 45

    def test_a_cancelled_step_ends_cancelled(self, executor: Executor) -> None:
        handle = executor.submit(task("cancel-me", {"op": "sleep", "seconds": 60}))
        time.sleep(0.5)
        handle.cancel()
        finish(executor, [handle], 45)
        assert handle.outcome().status == "cancelled"
        if self.stops_running_steps:  # and the executor still works
            assert outcome_of(executor, task("after", {"op": "echo", "value": 2})).ok

    def test_a_step_that_kills_its_process_is_a_failed_attempt(self, executor: Executor) -> None:
        if not self.isolates_steps:
            return
        outcome = outcome_of(executor, task("exit", {"op": "exit", "code": 7}), 90)
        assert outcome.status in ("crashed", "failed"), outcome
        assert not outcome.ok
        again = outcome_of(executor, task("after-crash", {"op": "echo", "value": 3}), 90)
        assert again.ok, again.error
