"""What happens to runs when the process ends: normally, by exception, SIGTERM, Ctrl-C, SIGKILL.

Each case runs a real Python process against a real SQLite store and reads the outcome from
another tracker, as a user looking at the UI afterwards would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mlcore import Tracker
from mlcore.types import RunStatus
from tests.conftest import run_python

PRELUDE = """
import os, sys, time, mlcore
mlcore.set_tracking_uri(os.environ["STORE"])
"""


def only_run(store: Path) -> tuple[Tracker, str]:
    tracker = Tracker(str(store))
    runs = tracker.search_runs()
    assert len(runs) == 1, [r.info for r in runs]
    return tracker, runs[0].id


def test_run_left_open_ends_finished_at_exit_with_everything_stored(tmp_path: Path) -> None:
    result = run_python(
        PRELUDE
        + "run = mlcore.start_run()\n"
        + "for i in range(5000): mlcore.log_metric('m', i, step=i)\n",
        env={"STORE": str(tmp_path / "s"), "MLCORE_FLUSH_INTERVAL": "60"},
    )
    assert result.returncode == 0, result.stderr
    tracker, run_id = only_run(tmp_path / "s")
    assert tracker.get_run(run_id).info.status is RunStatus.FINISHED
    assert tracker.metric_history(run_id, "m").num_rows == 5000


def test_uncaught_exception_ends_failed(tmp_path: Path) -> None:
    result = run_python(
        PRELUDE + "mlcore.start_run()\nmlcore.log_metric('m', 1.0)\nraise RuntimeError('boom')\n",
        env={"STORE": str(tmp_path / "s")},
    )
    assert result.returncode == 1 and "boom" in result.stderr
    tracker, run_id = only_run(tmp_path / "s")
    run = tracker.get_run(run_id)
    assert run.info.status is RunStatus.FAILED
    assert run.data.metrics == {"m": 1.0}


def _started(tmp_path: Path, body: str, **env: str) -> subprocess.Popen[str]:
    marker = tmp_path / "started"
    code = PRELUDE + textwrap.dedent(body).replace("MARKER", repr(str(marker)))
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        env={**os.environ, "STORE": str(tmp_path / "s"), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(process.communicate())
        time.sleep(0.05)
    return process


LOG_THEN_WAIT = """
with mlcore.start_run():
    for i in range(3000):
        mlcore.log_metric("m", i, step=i)
    open(MARKER, "w").close()
    time.sleep(120)
"""


def test_sigterm_ends_killed_and_flushes(tmp_path: Path) -> None:
    process = _started(tmp_path, LOG_THEN_WAIT, MLCORE_FLUSH_INTERVAL="60")
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    tracker, run_id = only_run(tmp_path / "s")
    assert tracker.get_run(run_id).info.status is RunStatus.KILLED
    assert tracker.metric_history(run_id, "m").num_rows == 3000


def test_ctrl_c_ends_killed_and_flushes(tmp_path: Path) -> None:
    process = _started(tmp_path, LOG_THEN_WAIT, MLCORE_FLUSH_INTERVAL="60")
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    assert process.returncode != 0
    tracker, run_id = only_run(tmp_path / "s")
    assert tracker.get_run(run_id).info.status is RunStatus.KILLED
    assert tracker.metric_history(run_id, "m").num_rows == 3000


def test_a_programs_own_sigterm_handler_still_runs(tmp_path: Path) -> None:
    body = """
    import signal
    signal.signal(signal.SIGTERM, lambda s, f: (print("user handler"), sys.exit(7)))
    with mlcore.start_run():
        mlcore.log_metric("m", 1.0)
        open(MARKER, "w").close()
        time.sleep(120)
    """
    process = _started(tmp_path, body)
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=60)
    assert "user handler" in stdout
    assert process.returncode == 7
    tracker, run_id = only_run(tmp_path / "s")
    assert tracker.get_run(run_id).info.status is RunStatus.KILLED


def test_sigkill_leaves_a_crashed_run_with_flushed_data(tmp_path: Path) -> None:
    body = """
    with mlcore.start_run():
        for i in range(2000):
            mlcore.log_metric("m", i, step=i)
        mlcore.flush()
        open(MARKER, "w").close()
        time.sleep(120)
    """
    process = _started(
        tmp_path, body, MLCORE_HEARTBEAT_INTERVAL="0.2", MLCORE_HEARTBEAT_TIMEOUT="1"
    )
    tracker, run_id = only_run(tmp_path / "s")
    assert tracker.get_run(run_id).info.status is RunStatus.RUNNING  # heartbeat keeps it alive
    time.sleep(1.5)
    assert tracker.get_run(run_id).info.status is RunStatus.RUNNING
    process.kill()
    process.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while tracker.get_run(run_id).info.status is RunStatus.RUNNING:
        assert time.monotonic() < deadline, "run never showed as CRASHED"
        time.sleep(0.2)
    run = tracker.get_run(run_id)
    assert run.info.status is RunStatus.CRASHED
    assert tracker.metric_history(run_id, "m").num_rows == 2000
    assert [r.id for r in tracker.search_runs(filter="attributes.status = 'CRASHED'")] == [run_id]


@pytest.mark.parametrize("shared_run", [False, True], ids=["own-runs", "one-shared-run"])
def test_four_processes_log_into_one_sqlite_store(tmp_path: Path, shared_run: bool) -> None:
    store = tmp_path / "s"
    tracker = Tracker(str(store))
    shared = tracker.create_run("concurrent").info.run_id if shared_run else ""
    code = PRELUDE + textwrap.dedent(
        """
        worker = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ["WORKER"])
        shared = os.environ["SHARED"]
        mlcore.set_experiment("concurrent")
        run = mlcore.start_run(run_id=shared) if shared else mlcore.start_run(name=f"w{worker}")
        for i in range(2000):
            mlcore.log_metric(f"w{worker}", i, step=i)
            mlcore.log_metric("all", worker * 10000 + i, step=worker * 10000 + i)
            if i % 500 == 0:
                mlcore.set_tag(f"progress-{worker}", str(i))
        if not shared:
            mlcore.end_run()
        """
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env={
                **os.environ,
                "STORE": str(store),
                "WORKER": str(w),
                "SHARED": shared,
                "MLCORE_FLUSH_INTERVAL": "0.005",
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(4)
    ]
    outputs = [p.communicate(timeout=180) for p in processes]
    for process, (_, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr
        assert "locked" not in stderr.lower(), stderr
    runs = tracker.search_runs("concurrent")
    if shared_run:
        assert len(runs) == 1
        history = tracker.metric_history(shared, "all")
        assert history.num_rows == 8000
        assert sorted(history.column("value").to_pylist()) == sorted(
            float(w * 10000 + i) for w in range(4) for i in range(2000)
        )
        assert runs[0].data.metrics["all"] == 31999.0
        for w in range(4):
            assert tracker.metric_history(shared, f"w{w}").num_rows == 2000
    else:
        assert len(runs) == 4
        for run in runs:
            worker = run.info.name[1:]
            history = tracker.metric_history(run.id, f"w{worker}")
            assert history.column("value").to_pylist() == [float(i) for i in range(2000)]
            assert run.info.status is RunStatus.FINISHED
    tracker.close()


def test_four_processes_open_a_fresh_store_at_once(tmp_path: Path) -> None:
    code = PRELUDE + "mlcore.set_experiment('race')\nwith mlcore.start_run(): pass\n"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env={**os.environ, "STORE": f"sqlite:///{tmp_path}/fresh.db"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    tracker = Tracker(f"sqlite:///{tmp_path}/fresh.db")
    assert [e.name for e in tracker.list_experiments()] == ["race"]
    assert len(tracker.search_runs("race")) == 4
    tracker.close()
