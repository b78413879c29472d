"""PostgreSQL as a team's store: concurrent writers and a server restart mid-run."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

import mlcore
from tests.conftest import PgCluster

pytestmark = pytest.mark.postgres

WRITER = """
import sys, mlcore
url, exp, index, points = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
tracker = mlcore.Tracker(url)
run = tracker.create_run(exp, name=f"writer-{index}", config={"index": index})
rid = run.info.run_id
for step in range(points):
    tracker.log_metric(rid, "loss", index + step / points, step=step)
    if step % 500 == 0:
        tracker.log_metric(rid, "acc", step / points, step=step)
tracker.set_tag(rid, "done", "yes")
tracker.end_run(rid)
tracker.close()
print(rid)
"""


def test_eight_processes_logging_at_once_lose_nothing(pg_url: str) -> None:
    tracker = mlcore.Tracker(pg_url)
    exp = tracker.create_experiment("eight-writers").experiment_id
    points = 5000
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, pg_url, exp, str(i), str(points)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(8)
    ]
    run_ids = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        run_ids.append(out.strip().splitlines()[-1])
    runs = tracker.search_runs(exp, max_results=100)
    assert sorted(r.info.run_id for r in runs) == sorted(run_ids)
    for run in runs:
        index = int(run.data.params["index"])
        assert run.info.status == "FINISHED"
        assert run.data.tags["done"] == "yes"
        history = tracker.metric_history(run.info.run_id, "loss")
        assert history.column("step").to_pylist() == list(range(points))
        assert history.column("value").to_pylist()[-1] == pytest.approx(
            index + (points - 1) / points
        )
        assert tracker.metric_history(run.info.run_id, "acc").num_rows == points // 500
    tracker.close()


@pytest.fixture
def cluster() -> Iterator[PgCluster]:
    own = PgCluster(durable=True)  # a crash may not take acknowledged commits with it
    try:
        yield own
    finally:
        own.destroy()


def test_postgres_restarted_while_a_run_logs_loses_and_duplicates_nothing(
    cluster: PgCluster,
) -> None:
    name = f"t_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(f"{cluster.url}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    url = f"{cluster.url}/{name}"
    tracker = mlcore.Tracker(url)
    run_id = tracker.create_run(tracker.create_experiment("restart").experiment_id).info.run_id
    total, restarted = 3000, threading.Event()

    def restart() -> None:
        cluster.stop("immediate")  # connections die mid-transaction
        time.sleep(1.5)
        cluster.start()
        restarted.set()

    restarter = None
    for step in range(total):
        tracker.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
        if step == total // 3:
            restarter = threading.Thread(target=restart)
            restarter.start()
        if step % 100 == 0:
            time.sleep(0.02)  # points keep coming while the server is down and back
    assert restarter is not None
    restarter.join()
    assert restarted.is_set()
    tracker.end_run(run_id)  # flushes: the writer reconnects and stores what was pending
    history = tracker.metric_history(run_id, "loss")
    steps = history.column("step").to_pylist()
    assert steps == list(range(total)), "points lost or stored twice"
    assert tracker.get_run(run_id).info.status == "FINISHED"
    tracker.close()
