"""The run context: default tracker, active runs per thread, fork reset, prepared runs."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mlcore.errors import InvalidInputError
from mlcore.tracking import ActiveRun, Tracker
from mlcore.tracking.context import RunContext, run_context

_attached: list[ActiveRun] = []


def record_attach(run: ActiveRun) -> None:
    """The ``MLCORE_RUN_ATTACH`` hook of ``test_attach_hook_is_called_with_the_started_run``."""
    _attached.append(run)


@pytest.fixture
def context(tmp_path: Path) -> Iterator[RunContext]:
    made = RunContext()
    made.set_tracking_uri(str(tmp_path / "store"))
    yield made
    while made.active_run() is not None:
        run = made.active_run()
        assert run is not None
        run.end()
    if made.tracker is not None:
        made.tracker.close()


def _in_thread(fn: Callable[[], Any]) -> Any:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(fn()))
    thread.start()
    thread.join()
    return result[0]


def test_the_process_has_one_context() -> None:
    assert run_context() is run_context()
    assert isinstance(run_context(), RunContext)


def test_two_contexts_are_independent(tmp_path: Path, context: RunContext) -> None:
    other = RunContext()
    other.set_tracking_uri(str(tmp_path / "other"))
    try:
        run = context.start_run(name="mine")
        assert context.active_run() is run
        assert other.active_run() is None
        assert other.default_tracker() is not context.default_tracker()
        assert other.get_tracking_uri() == str(tmp_path / "other")
        other_run = other.start_run(name="theirs")  # not nested: the other context has none
        assert context.active_run() is run
        other_run.end()
        assert other.active_run() is None
        assert context.active_run() is run
    finally:
        if other.tracker is not None:
            other.tracker.close()


def test_a_run_started_in_a_thread_is_active_only_there(context: RunContext) -> None:
    def in_thread() -> tuple[bool, str]:
        run = context.start_run(name="worker")
        return context.active_run() is run, run.id

    active_there, run_id = _in_thread(in_thread)
    assert active_there
    assert context.active_run() is None  # the main thread does not see it
    assert context.main_runs() == []
    context.default_tracker().end_run(run_id)


def test_a_main_thread_run_is_active_in_threads_that_started_none(context: RunContext) -> None:
    run = context.start_run(name="main")
    assert _in_thread(context.active_run) is run
    assert context.main_runs() == [run]

    def own() -> bool:
        mine = context.start_run(name="own", nested=True)
        try:
            return context.active_run() is mine
        finally:
            mine.end()

    assert _in_thread(own)
    run.end()
    assert context.active_run() is None
    assert _in_thread(context.active_run) is None


def test_a_threads_own_run_stays_in_that_thread_while_it_lasts(context: RunContext) -> None:
    main = context.start_run(name="main")
    started, release = threading.Event(), threading.Event()
    seen: dict[str, ActiveRun | None] = {}

    def worker() -> None:
        own = context.start_run(name="own", nested=True)
        seen["own"] = own
        seen["worker sees"] = context.active_run()
        started.set()
        release.wait(30)
        seen["worker sees later"] = context.active_run()
        own.end()
        seen["worker sees after end"] = context.active_run()

    thread = threading.Thread(target=worker)
    thread.start()
    assert started.wait(30)
    assert context.active_run() is main  # neither the main thread...
    assert _in_thread(context.active_run) is main  # ...nor a third thread sees the worker's
    release.set()
    thread.join()
    assert seen["worker sees"] is seen["own"] and seen["worker sees later"] is seen["own"]
    assert seen["worker sees after end"] is main
    assert context.active_run() is main and _in_thread(context.active_run) is main
    main.end()
    assert context.active_run() is None and _in_thread(context.active_run) is None


def test_a_thread_that_exits_with_its_run_active_keeps_it_to_itself(
    context: RunContext,
) -> None:
    main = context.start_run(name="main")
    left: list[ActiveRun] = []
    _in_thread(lambda: left.append(context.start_run(name="left", nested=True)))
    assert context.active_run() is main
    assert _in_thread(context.active_run) is main
    left[0].end()
    main.end()


def test_activated_restores_the_previous_active_run(context: RunContext) -> None:
    main = context.start_run(name="main")
    step = context.default_tracker().start_run(name="step")
    inner = context.default_tracker().start_run(name="inner")
    with context.activated(step) as active:
        assert active is step
        assert context.active_run() is step
        with context.activated(inner):
            assert context.active_run() is inner
        assert context.active_run() is step
    assert context.active_run() is main
    assert not step.ended  # activated does not end the run
    with pytest.raises(RuntimeError), context.activated(step):
        raise RuntimeError("the block failed")
    assert context.active_run() is main
    step.end()
    inner.end()


def test_push_and_pop(context: RunContext) -> None:
    run = context.default_tracker().start_run(name="pushed")
    context.push(run)
    assert context.active_run() is run
    context.pop(run)
    assert context.active_run() is None
    context.push(run)
    run.end()  # ending a run pops it
    assert context.active_run() is None


def test_start_run_refuses_a_second_run_unless_nested(context: RunContext) -> None:
    run = context.start_run()
    with pytest.raises(InvalidInputError, match="already active"):
        context.start_run()
    child = context.start_run(nested=True)
    assert child.tracker is run.tracker
    assert context.active_run() is child
    child.end()
    assert context.active_run() is run


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_has_no_active_run(context: RunContext) -> None:
    run = context.start_run(name="parent")
    uri = context.get_tracking_uri()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running the parent's exit handlers
        code = 1
        try:
            os.close(read_end)
            seen = {
                "active": context.active_run() is not None,
                "main_runs": len(context.main_runs()),
                "tracker_kept": context.tracker is not None,
                "uri": context.get_tracking_uri(),
            }
            os.write(write_end, json.dumps(seen).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        seen = json.loads(pipe.read())
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert seen == {"active": False, "main_runs": 0, "tracker_kept": False, "uri": uri}
    assert context.active_run() is run  # the parent is untouched


def test_attach_hook_is_called_with_the_started_run(
    context: RunContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared = context.default_tracker().start_run(name="prepared")
    prepared_id = prepared.id
    monkeypatch.setenv("MLCORE_RUN_ID", prepared_id)
    monkeypatch.setenv("MLCORE_RUN_ATTACH", f"{__name__}:record_attach")
    _attached.clear()
    run = context.start_run()
    assert run.id == prepared_id  # the prepared run is resumed
    assert _attached == [run]
    assert context.active_run() is run
    run.end()
    resumed = context.start_run(run_id=prepared_id)
    assert _attached == [run]  # only a run started with none active and no run_id is attached
    resumed.end()
    prepared.end()


def test_a_bad_attach_hook_fails_before_a_run_starts(
    context: RunContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared = context.default_tracker().start_run(name="prepared")
    monkeypatch.setenv("MLCORE_RUN_ID", prepared.id)
    for hook in ("no_such_module_for_mlcore:hook", f"{__name__}:missing", __name__):
        monkeypatch.setenv("MLCORE_RUN_ATTACH", hook)
        with pytest.raises(InvalidInputError, match="MLCORE_RUN_ATTACH"):
            context.start_run()
        assert context.active_run() is None
    prepared.end()


def test_worker_trackers(tmp_path: Path, context: RunContext) -> None:
    uri = str(tmp_path / "workers")
    built = context.worker_tracker(uri)  # built once, then kept for the process's steps
    assert context.worker_tracker(uri) is built
    assert context.lent_tracker(uri) is None  # sweeps use only lent trackers
    with Tracker(uri) as runner, Tracker(uri) as sweep:
        context.share_tracker(runner)  # a pipeline runner's, until another is shared
        assert context.worker_tracker(uri) is runner
        with context.lend_tracker(sweep):  # a sweep's, while it runs
            assert context.lent_tracker(uri) is sweep
            assert context.worker_tracker(uri) is sweep
        assert context.lent_tracker(uri) is None
        assert context.worker_tracker(uri) is runner
    built.close()
