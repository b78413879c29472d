"""First stored metric of a fresh process, and the fluent call against the run handle.

Part 1 (issue 16 goal: <= 0.3 s): ``python -c "import mlcore; set_tracking_uri(...); with
start_run(): log_metric('a', 1)"`` on an EXISTING SQLite store, timed from process start to
process exit (so until the point is stored), median of N fresh interpreters. MLflow side by
side: the same in ``mlflow`` against its own existing SQLite store (its database creation and
migrations happen before the timer, in a set-up process). Floors in the same run: a bare
interpreter, and one that only imports what the SQL store cannot do without (SQLAlchemy and
pydantic, which mlcore's entities are). CPU seconds (user + system of the child) are printed
too: they move less than wall time on a loaded machine.

Part 2 (goal: <= 1 µs): ``mlcore.log_metric`` against ``run.log_metric`` per call, in one
process, into a SQLite store (the writer stores in the background).

Every figure is checked: each timed process's point is read back from its store (count and
value), and every point of part 2 is in the history.

    python benchmarks/bench_first_use.py [--repeats 7] [--calls 200000] [--quick]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import textwrap
import time

from _common import fmt_seconds, report, scratch_dir

MLCORE_FIRST = """
import mlcore
mlcore.set_tracking_uri({uri!r})
with mlcore.start_run():
    mlcore.log_metric("a", 1.0)
"""

MLFLOW_FIRST = """
import mlflow
mlflow.set_tracking_uri({uri!r})
with mlflow.start_run():
    mlflow.log_metric("a", 1.0)
"""

FLOOR_SQL = "import sqlalchemy.engine, sqlalchemy.dialects.sqlite, pydantic.main"


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    env["PYTHONPATH"] = os.pathsep.join([os.path.abspath(src), env.get("PYTHONPATH", "")])
    env.update(
        MLFLOW_ENABLE_ASYNC_LOGGING="false",
        MLFLOW_LOGGING_LEVEL="ERROR",
        PYTHONWARNINGS="ignore",
    )
    return env


def fresh_process(code: str, repeats: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds of ``python -c code``, start to exit."""
    env = _child_env()
    walls, cpus = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            env=env,
        )
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if result.returncode != 0:
            raise SystemExit(f"child failed:\n{code}\n{result.stderr}")
        cpus.append(
            after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime,
        )
    return statistics.median(walls), statistics.median(cpus)


def _count_mlcore_points(db: str) -> list[float]:
    """The value of metric ``a`` of every run stored."""
    with sqlite3.connect(db) as conn:
        return [
            float(v) for (v,) in conn.execute("SELECT value FROM latest_metrics WHERE key = 'a'")
        ]


def _count_mlflow_points(db: str) -> list[float]:
    with sqlite3.connect(db) as conn:
        return [float(v) for (v,) in conn.execute("SELECT value FROM metrics WHERE key = 'a'")]


def first_use(repeats: int, with_mlflow: bool) -> None:
    with scratch_dir() as home:
        ours_uri = f"sqlite:///{home}/mlcore.db"
        peer_uri = f"sqlite:///{home}/mlflow.db"
        # set-up outside the timers: both stores exist (created and migrated) already
        fresh_process(MLCORE_FIRST.format(uri=ours_uri), 1)
        if with_mlflow:
            fresh_process(MLFLOW_FIRST.format(uri=peer_uri), 1)
        bare = fresh_process("pass", repeats)
        floor = fresh_process(FLOOR_SQL, repeats)
        # interleaved, so that load on the machine hits both alike
        ours_w, ours_c, peer_w, peer_c = [], [], [], []
        for _ in range(repeats):
            wall, cpu = fresh_process(MLCORE_FIRST.format(uri=ours_uri), 1)
            ours_w.append(wall)
            ours_c.append(cpu)
            if with_mlflow:
                wall, cpu = fresh_process(MLFLOW_FIRST.format(uri=peer_uri), 1)
                peer_w.append(wall)
                peer_c.append(cpu)
        stored = _count_mlcore_points(f"{home}/mlcore.db")
        if stored != [1.0] * (repeats + 1):
            raise SystemExit(f"mlcore stored {stored}, expected {repeats + 1} points of 1.0")
        if with_mlflow:
            peer = _count_mlflow_points(f"{home}/mlflow.db")
            if peer != [1.0] * (repeats + 1):
                raise SystemExit(f"MLflow stored {peer}, expected {repeats + 1} points of 1.0")
    ours = statistics.median(ours_w), statistics.median(ours_c)
    theirs = (statistics.median(peer_w), statistics.median(peer_c)) if with_mlflow else None

    def peer_cell(i: int) -> str:
        return fmt_seconds(theirs[i]) if theirs else "n/a"

    def ratio(i: int) -> str:
        return f"{theirs[i] / ours[i]:.1f}x faster" if theirs else ""

    report(
        f"first stored metric, fresh process on an existing SQLite store (median of {repeats}; "
        f"bare python {fmt_seconds(bare[0])}, python + SQLAlchemy + pydantic "
        f"{fmt_seconds(floor[0])} wall / {fmt_seconds(floor[1])} CPU)",
        [
            ("wall, start to exit", fmt_seconds(ours[0]), peer_cell(0), ratio(0)),
            ("CPU (user + sys)", fmt_seconds(ours[1]), peer_cell(1), ratio(1)),
            (
                "wall over the SQLAlchemy + pydantic floor",
                fmt_seconds(ours[0] - floor[0]),
                fmt_seconds(theirs[0] - floor[0]) if theirs else "n/a",
                "",
            ),
        ],
    )


def fluent_vs_handle(calls: int, repeats: int) -> None:
    import mlcore

    samples: dict[str, list[float]] = {"fluent": [], "handle": []}
    with scratch_dir() as home:
        mlcore.set_tracking_uri(f"sqlite:///{home}/calls.db")
        with mlcore.start_run() as run:
            log, fluent = run.log_metric, mlcore.log_metric
            for r in range(repeats):
                mlcore.flush()  # each loop starts with an empty buffer (no backlog to share)
                start = time.perf_counter()
                for i in range(calls):
                    fluent("fluent", 0.5, i + r * calls)
                samples["fluent"].append((time.perf_counter() - start) / calls)
                mlcore.flush()
                start = time.perf_counter()
                for i in range(calls):
                    log("handle", 0.5, i + r * calls)
                samples["handle"].append((time.perf_counter() - start) / calls)
            mlcore.flush()
            for key in samples:
                history = run.metric_history(key)
                assert history.num_rows == calls * repeats, (key, history.num_rows)
                assert history.column("step").to_pylist() == list(range(calls * repeats))
    fluent_s = statistics.median(samples["fluent"])
    handle_s = statistics.median(samples["handle"])
    report(
        f"log_metric per call, {calls:,} calls x {repeats} (median; SQLite, buffered)",
        [
            ("mlcore.log_metric (fluent)", fmt_seconds(fluent_s), "", ""),
            ("run.log_metric (handle)", fmt_seconds(handle_s), "", ""),
            ("fluent / handle", f"{fluent_s / handle_s:.2f}x", "", ""),
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="a few repeats, a smoke run")
    parser.add_argument("--no-mlflow", action="store_true")
    args = parser.parse_args()
    repeats, calls = (2, 5_000) if args.quick else (args.repeats, args.calls)
    with_mlflow = not args.no_mlflow and importlib.util.find_spec("mlflow") is not None
    first_use(repeats, with_mlflow)
    fluent_vs_handle(calls, 3)


if __name__ == "__main__":
    main()
