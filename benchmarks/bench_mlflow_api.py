"""A log-batch of 1,000 metrics through MLflow's REST API on ``mlcore server`` (the stock
``mlflow`` client, ``MlflowClient.log_batch``) against mlcore's own ``/api/v1/log-metrics``
(mlcore's HTTP store, ``log_metrics``), on the same server and SQLite store.

A third line posts the same MLflow JSON body with ``httpx`` (no ``mlflow`` client): what
the server's MLflow route costs without the client's protobuf-to-JSON work (about 90 ms of
the mlflow client's time per 1,000 metrics,
measured alone on the reference machine).

Each side times ``--calls`` requests of 1,000 points to one run (steps go on), interleaved in
``--rounds`` rounds, and the medians per request are printed with their ratio; every point is
read back (count per run) before the figures are printed.

    python benchmarks/bench_mlflow_api.py [--rounds 5] [--calls 20]

Needs the ``mlflow`` virtualenv (``bash scripts/peer-venvs.sh``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MLFLOW_PYTHON = ROOT / ".venv-mlflow" / "bin" / "python"

_MLFLOW_SIDE = """
import json, sys, time
from mlflow import MlflowClient
from mlflow.entities import Metric
url, run_id, first, calls = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
client = MlflowClient(url)
times = []
for c in range(calls):
    step0 = first + c * 1000
    steps = range(step0, step0 + 1000)
    metrics = [Metric("loss", 1.0 / (s + 1), 1700000000000 + s, s) for s in steps]
    start = time.perf_counter()
    client.log_batch(run_id, metrics=metrics, synchronous=True)
    times.append(time.perf_counter() - start)
print(json.dumps(times))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="one round of 2 calls (CI smoke)")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.calls = 1, 2
    sys.path.insert(0, str(ROOT / "src"))
    from mlcore.server import Server
    from mlcore.stores import resolve_store
    from mlcore.tracking import Tracker

    home = tempfile.mkdtemp(prefix="bench-mlflow-api-")
    server = Server.tracking(store=f"sqlite:///{home}/mlcore.db", artifacts=f"{home}/artifacts")
    url = server.start()
    try:
        tracker = Tracker(url)
        run_mlflow = tracker.start_run("bench", name="via-mlflow")
        run_mlcore = tracker.start_run("bench", name="via-mlcore")
        store = resolve_store(url)
        import httpx

        run_raw = tracker.start_run("bench", name="via-raw-post")
        ours: list[float] = []
        theirs: list[float] = []
        raw: list[float] = []
        endpoint = url + "/api/2.0/mlflow/runs/log-batch"
        session = httpx.Client()  # keeps its connection, as both clients do
        for r in range(args.rounds):
            first = r * args.calls * 1000
            done = subprocess.run(
                [
                    str(MLFLOW_PYTHON),
                    "-c",
                    _MLFLOW_SIDE,
                    url,
                    run_mlflow.info.run_id,
                    str(first),
                    str(args.calls),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            theirs.extend(json.loads(done.stdout.splitlines()[-1]))
            for c in range(args.calls):
                step0 = first + c * 1000
                points = [
                    (run_mlcore.info.run_id, "loss", 1.0 / (s + 1), 1700000000000 + s, s)
                    for s in range(step0, step0 + 1000)
                ]
                start = time.perf_counter()
                store.log_metrics(points)
                ours.append(time.perf_counter() - start)
                body = {
                    "run_id": run_raw.info.run_id,
                    "metrics": [
                        {
                            "key": "loss",
                            "value": 1.0 / (s + 1),
                            "timestamp": 1700000000000 + s,
                            "step": s,
                        }
                        for s in range(step0, step0 + 1000)
                    ],
                }
                content = json.dumps(body).encode()
                start = time.perf_counter()
                response = session.post(
                    endpoint, content=content, headers={"Content-Type": "application/json"}
                )
                raw.append(time.perf_counter() - start)
                assert response.status_code == 200, response.text
        expected = args.rounds * args.calls * 1000
        for run in (run_mlflow, run_mlcore, run_raw):
            stored = tracker.metric_history(run.info.run_id, "loss").num_rows
            assert stored == expected, (run.info.name, stored, expected)
        mlflow_ms = statistics.median(theirs) * 1000
        mlcore_ms = statistics.median(ours) * 1000
        raw_ms = statistics.median(raw) * 1000
        print(
            f"## 1,000-metric batch, median of {len(ours)} requests each "
            f"(all {expected:,} points of each run read back)\n"
        )
        print("| path | median ms | / mlcore client |")
        print("|---|---|---|")
        print(
            f"| mlflow client -> /api/2.0/mlflow/runs/log-batch | {mlflow_ms:.1f} | "
            f"{mlflow_ms / mlcore_ms:.2f} |"
        )
        print(f"| mlcore client -> /api/v1/log-metrics | {mlcore_ms:.1f} | 1.00 |")
        print(
            f"| httpx POST -> /api/2.0/mlflow/runs/log-batch | {raw_ms:.1f} | "
            f"{raw_ms / mlcore_ms:.2f} |"
        )
        run_mlflow.end()
        run_mlcore.end()
        run_raw.end()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
