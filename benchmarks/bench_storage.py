"""Team storage: metrics into PostgreSQL, and a large artifact through S3 (moto server).

1. 1,000,000 metric points into PostgreSQL through mlcore's batching writer (``log_metric`` in
   a loop, then ``flush``) versus MLflow's ``MlflowClient.log_batch`` (1,000 metrics a call,
   its maximum) into the same server, in the same run. Points/s, medians.
2. A 1 GiB artifact to and from a moto S3 server on loopback: mlcore's ``put_file`` /
   ``get_file`` (streamed multipart upload, sha256 on the way, atomic download) versus plain
   ``s3fs`` ``put_file`` / ``get_file`` (the limit). MB/s, medians. Bar: mlcore within 20%.

PostgreSQL: ``--pg-url`` (a server URL; databases are created in it) or a throw-away cluster
started from /usr/lib/postgresql (as the tests do).

    python benchmarks/bench_storage.py [--points 1000000] [--size-mb 1024] [--repeats 3]
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from _common import fmt_rate, have, quiet_peers, report, skipped


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def postgres(url: str | None) -> Iterator[str]:
    if url:
        yield url.rstrip("/").rsplit("/", 1)[0] if url.count("/") > 2 else url
        return
    bindir = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
    base = tempfile.mkdtemp(prefix="mlcore-bench-pg-")
    user = "postgres" if os.geteuid() == 0 else None
    if user:
        shutil.chown(base, "postgres", "postgres")
    port = _free_port()
    run = {"check": True, "user": user, "capture_output": True}
    subprocess.run([f"{bindir}/initdb", "-D", f"{base}/data", "-A", "trust", "-U", "postgres",
                    "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], **run)  # fmt: skip
    # durable defaults (fsync, synchronous_commit on): what a team server runs with
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base}"
    subprocess.run([f"{bindir}/pg_ctl", "-D", f"{base}/data", "-l", f"{base}/log", "-w", "-o",
                    options, "start"], **run)  # fmt: skip
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([f"{bindir}/pg_ctl", "-D", f"{base}/data", "-m", "fast", "-w", "stop"],
                       user=user, capture_output=True)  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


def new_database(server: str) -> str:
    import sqlalchemy as sa

    name = f"b_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return f"{server}/{name}"


def mlcore_points(server: str, points: int) -> float:
    import mlcore

    tracker = mlcore.Tracker(new_database(server))
    rid = tracker.create_run(tracker.create_experiment("bench").experiment_id).info.run_id
    start = time.perf_counter()
    for step in range(points):
        tracker.log_metric(rid, "loss", 0.5, step=step)
    tracker.flush()
    elapsed = time.perf_counter() - start
    assert tracker.metric_history(rid, "loss").num_rows == points
    tracker.close()
    return points / elapsed


def mlflow_points(server: str, points: int) -> float:
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=new_database(server))
    rid = client.create_run(client.create_experiment("bench")).info.run_id
    start = time.perf_counter()
    now = int(time.time() * 1000)
    for first in range(0, points, 1000):
        client.log_batch(
            rid, metrics=[Metric("loss", 0.5, now, s) for s in range(first, first + 1000)]
        )
    elapsed = time.perf_counter() - start
    assert len(client.get_metric_history(rid, "loss")) == points
    return points / elapsed


@contextmanager
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    for key, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        os.environ.setdefault(key, value)
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def s3_transfer(size_mb: int, repeats: int) -> list[tuple[str, str, str, str]]:
    import s3fs
    from mlcore_s3 import S3ArtifactStore

    work = tempfile.mkdtemp(prefix="mlcore-bench-s3-")
    source = os.path.join(work, "big.bin")
    with open(source, "wb") as handle:
        block = os.urandom(1 << 20)
        for _ in range(size_mb):
            handle.write(block)
    results: dict[str, list[float]] = {k: [] for k in ("mu", "md", "su", "sd")}
    with moto_server() as endpoint:
        fs = s3fs.S3FileSystem(endpoint_url=endpoint, skip_instance_cache=True)
        fs.mkdir("bench-bucket")
        store = S3ArtifactStore(f"s3://bench-bucket/mlcore?endpoint_url={endpoint}")
        for _ in range(repeats):
            for key, fn in (
                ("su", lambda: fs.put_file(source, "bench-bucket/plain/big.bin")),
                ("sd", lambda: fs.get_file("bench-bucket/plain/big.bin", f"{work}/p.bin")),
                ("mu", lambda: store.put_file(source, "run/big.bin")),
                ("md", lambda: store.get_file("run/big.bin", f"{work}/m.bin")),
            ):
                start = time.perf_counter()
                fn()
                results[key].append(size_mb / (time.perf_counter() - start))
            fs.rm("bench-bucket/plain/big.bin")
            store.delete("run/big.bin")
    shutil.rmtree(work, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in results.items()}
    return [
        (f"upload {size_mb} MiB", f"{med['mu']:.0f} MB/s", f"{med['su']:.0f} MB/s (s3fs)",
         f"{med['mu'] / med['su']:.2f}x"),
        (f"download {size_mb} MiB", f"{med['md']:.0f} MB/s", f"{med['sd']:.0f} MB/s (s3fs)",
         f"{med['md'] / med['sd']:.2f}x"),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pg-url", default=os.environ.get("MLCORE_BENCH_POSTGRES_URL"))
    parser.add_argument("--skip", choices=["pg", "s3"], action="append", default=[])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat (CI)")
    args = parser.parse_args()
    if args.quick:
        args.points, args.size_mb, args.repeats = 20_000, 8, 1
    if "pg" not in args.skip and not (args.pg_url or glob.glob("/usr/lib/postgresql/*/bin")):
        report("metric points into PostgreSQL", [("points/s", "skipped (no PostgreSQL)", "", "")])
        args.skip.append("pg")
    if "pg" not in args.skip:
        quiet_peers()
        peer = have("mlflow")
        with postgres(args.pg_url) as server:
            ours = [mlcore_points(server, args.points) for _ in range(args.repeats)]
            theirs = [mlflow_points(server, args.points) for _ in range(args.repeats) if peer]
        a = statistics.median(ours)
        b = statistics.median(theirs) if theirs else None
        report(
            f"{args.points:,} metric points into PostgreSQL (median of {args.repeats}; server "
            "durable: fsync and synchronous_commit on; database creation outside the timers)",
            [(
                "points/s",
                fmt_rate(a),
                skipped("mlflow") if b is None else fmt_rate(b) + " (MLflow log_batch)",
                "" if b is None else f"{a / b:.1f}x",
            )],
        )  # fmt: skip
    if "s3" not in args.skip and not all(have(m) for m in ("moto", "s3fs", "mlcore_s3")):
        report("S3 (moto server)", [("upload/download", "skipped (moto, s3fs, mlcore-s3)", "", "")])
        args.skip.append("s3")
    if "s3" not in args.skip:
        report(
            f"S3 (moto server, loopback): one {args.size_mb} MiB file (median of {args.repeats})",
            s3_transfer(args.size_mb, args.repeats),
        )


if __name__ == "__main__":
    main()
