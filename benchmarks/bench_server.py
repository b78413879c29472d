"""Remote logging: ``log_metric`` calls through ``http://`` until stored, mlcore vs MLflow.

mlcore: ``mlcore server`` (SQLite behind it) and a Tracker on ``http://127.0.0.1:PORT``:
N ``log_metric`` calls, then ``flush()`` (everything stored, read back to check).
MLflow: ``mlflow server`` (SQLite behind it) and ``mlflow.log_metric`` against it (each call
is one synchronous request). Both servers run as separate processes on loopback, one worker.
MLflow's rate is measured on ``--mlflow-calls`` calls (default 2,000: it does a few hundred a
second) and compared per call. Medians of ``--repeats``.

    python benchmarks/bench_server.py [--calls 10000] [--mlflow-calls 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

from _common import fmt_rate, have, quiet_peers, report, scratch_dir, skipped


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(port: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {port}")


def _serve(cmd: list[str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait(port)
    time.sleep(0.5)
    return proc


def bench_mlcore(calls: int) -> float:
    import mlcore

    port = _free_port()
    server = _serve(
        [sys.executable, "-m", "mlcore", "server", "--store", "sqlite:///mlcore-srv.db",
         "--artifacts", "./mlcore-art", "--port", str(port)], port,
    )  # fmt: skip
    try:
        tracker = mlcore.Tracker(f"http://127.0.0.1:{port}")
        run = tracker.start_run("bench")
        start = time.perf_counter()
        for i in range(calls):
            run.log_metric("loss", 1.0 / (i + 1), step=i)
        tracker.flush()
        elapsed = time.perf_counter() - start
        stored = tracker.metric_history(run.info.run_id, "loss")
        assert len(stored) == calls, len(stored)
        run.end()
        tracker.close()
        return calls / elapsed
    finally:
        server.terminate()
        server.wait(30)


def bench_mlflow(calls: int) -> float:
    import mlflow

    port = _free_port()
    mlflow_bin = os.path.join(os.path.dirname(sys.executable), "mlflow")
    server = _serve(
        [mlflow_bin, "server", "--backend-store-uri", "sqlite:///mlflow-srv.db",
         "--default-artifact-root", "./mlflow-art", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"], port,
    )  # fmt: skip
    try:
        mlflow.set_tracking_uri(f"http://127.0.0.1:{port}")
        with mlflow.start_run() as run:
            start = time.perf_counter()
            for i in range(calls):
                mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
            elapsed = time.perf_counter() - start
        history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "loss")
        assert len(history) == calls, len(history)
        return calls / elapsed
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--mlflow-calls", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat (CI)")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.mlflow_calls, args.repeats = 1_000, 100, 1
    quiet_peers()
    peer = have("mlflow")
    ours, theirs = [], []
    for _ in range(args.repeats):
        with scratch_dir():
            ours.append(bench_mlcore(args.calls))
            if peer:
                theirs.append(bench_mlflow(args.mlflow_calls))
    a = statistics.median(ours)
    if not peer:
        report(
            f"remote log_metric until stored (loopback server, medians of {args.repeats})",
            [(f"{args.calls:,} calls", fmt_rate(a, " calls/s"), skipped("mlflow"), "")],
        )
        return
    b = statistics.median(theirs)
    report(
        f"remote log_metric until stored (loopback server, medians of {args.repeats})",
        [(f"{args.calls:,} calls (mlcore) / {args.mlflow_calls:,} (MLflow)",
          fmt_rate(a, " calls/s"), fmt_rate(b, " calls/s"), f"{a / b:.0f}x")],
    )  # fmt: skip
    print(f"\nmlcore: 10,000 calls in {10_000 / a:.2f} s; MLflow would take {10_000 / b:.1f} s")


if __name__ == "__main__":
    main()
