"""Ctrl-C while a pipeline runs: running steps are stopped and KILLED, the run ends KILLED."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mlcore.tracking import Tracker
from tests.pipeline import flows

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("executor", ["process", "local"])
def test_ctrl_c_kills_running_steps(tmp_path: Path, executor: str) -> None:
    where = tmp_path / "marks"
    where.mkdir()
    store = tmp_path / "store"
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from mlcore.tracking import Tracker
        from tests.pipeline import flows
        flows.sleeping.run({{"seconds": 60.0, "where": {str(where)!r}}},
                           executor={executor!r}, tracker=Tracker({str(store)!r}))
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's job
    )
    try:
        deadline = time.monotonic() + 60
        while not flows.runs_of(str(where), "sleeper-start"):
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the step never started"
            time.sleep(0.05)
        os.killpg(child.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        _, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    assert child.returncode != 0
    assert "KeyboardInterrupt" in stderr
    tracker = Tracker(str(store))
    try:
        (pipeline_run,) = tracker.search_runs(None, "tags.`mlcore.pipeline.name` = 'sleeping'")
        assert pipeline_run.info.status.value == "KILLED"
        (step,) = tracker.search_runs(None, f"attributes.parent_run_id = '{pipeline_run.id}'")
        assert step.info.status.value == "KILLED"
        assert step.data.tags["mlcore.pipeline.status"] == "KILLED"
        assert step.data.tags["mlcore.error"] == "the pipeline was interrupted"
    finally:
        tracker.close()
    if executor == "process":  # the worker running the step was stopped too
        (start,) = flows.runs_of(str(where), "sleeper-start")
        time.sleep(0.5)
        with pytest.raises(ProcessLookupError):
            os.kill(int(start["pid"]), 0)  # type: ignore[call-overload]
    assert not flows.runs_of(str(where), "sleeper-end")
