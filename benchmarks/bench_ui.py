"""The runs table in Chromium: mlcore's UI vs ``mlflow ui`` on the same runs.

Each experiment has N runs with 20 params and 10 metrics. mlcore: ``mlcore ui`` over SQLite
(seeded with ``Tracker.create_runs`` + buffered ``log_metrics``); MLflow: ``mlflow ui`` over
SQLite from MLflow's own virtualenv (seeded there with ``MlflowClient.log_batch``). Both
stores are cached under ``/tmp/mlcore-bench-ui`` (seeding MLflow takes minutes).

- first rows: from ``page.goto`` of the experiment's page until the table shows a run row
  (a fresh browser context each time; median of ``--repeats``)
- jump to row 90,000 (100,000-run experiment): set the scroll position, until that row shows
- API p95: the UI's own API calls (recorded while loading, sorting, jumping), replayed

    python benchmarks/bench_ui.py [--runs 10000] [--big 100000] [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from _common import fmt_seconds, report

CACHE = Path(os.environ.get("MLCORE_BENCH_UI_CACHE", "/tmp/mlcore-bench-ui"))
ROOT = Path(__file__).resolve().parent.parent
MLFLOW_VENV = Path(os.environ.get("MLCORE_PEER_VENV_MLFLOW", ROOT / ".venv-mlflow"))
if not MLFLOW_VENV.exists():
    MLFLOW_VENV = Path("/work/main/.venv-mlflow")
CHROMIUM = os.environ.get("MLCORE_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
PARAMS, METRICS = 20, 10
MLCORE_ROW = ".runs-body [role=row] .run-name a"
MLFLOW_ROW = ".ag-row a[href*='/runs/']"  # a run link in MLflow's runs grid


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(url)


def seed_mlcore(runs: int) -> tuple[str, str]:
    """A cached SQLite store with one experiment of ``runs`` runs; (store url, experiment id)."""
    import mlcore
    from mlcore.tracking import RunSpec

    path = CACHE / f"mlcore-{runs}.db"
    url = f"sqlite:///{path}"
    if not (CACHE / f"mlcore-{runs}.done").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        os.environ["MLCORE_SQLITE_SYNCHRONOUS"] = "NORMAL"
        tracker = mlcore.Tracker(url, artifact_uri=str(CACHE / "mlcore-art"))
        experiment = tracker.create_experiment("bench").experiment_id
        for start in range(0, runs, 2000):
            specs = [
                RunSpec(
                    name=f"run-{i:06d}",
                    params={f"p{j}": (i * 7 + j) % 13 for j in range(PARAMS)},
                    heartbeat=False,
                )
                for i in range(start, min(runs, start + 2000))
            ]
            made = tracker.create_runs(specs, experiment_id=experiment)
            for k, run in enumerate(made):
                i = start + k
                tracker.log_metrics(
                    run.info.run_id, {f"m{j}": ((i * 31 + j) % 997) / 997 for j in range(METRICS)}
                )
            tracker.flush()
        tracker.close()
        os.environ.pop("MLCORE_SQLITE_SYNCHRONOUS")
        (CACHE / f"mlcore-{runs}.done").write_text(experiment)
    return url, (CACHE / f"mlcore-{runs}.done").read_text()


_MLFLOW_SEED = """
import json, sys, time
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
uri, runs, params, metrics = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
client = MlflowClient(tracking_uri=uri)
experiment = client.create_experiment("bench")
now = int(time.time() * 1000)
for i in range(runs):
    run = client.create_run(experiment, run_name=f"run-{i:06d}")
    client.log_batch(
        run.info.run_id,
        metrics=[Metric(f"m{j}", ((i * 31 + j) % 997) / 997, now, 0) for j in range(metrics)],
        params=[Param(f"p{j}", str((i * 7 + j) % 13)) for j in range(params)],
    )
    client.set_terminated(run.info.run_id)
print(json.dumps({"experiment_id": experiment}))
"""


#: runs seeded through MLflow's client (a few per second under load); the rest are copies
CLIENT_RUNS = int(os.environ.get("MLCORE_BENCH_UI_MLFLOW_CLIENT_RUNS", "2000"))


def clone_mlflow_runs(path: Path, runs: int) -> None:
    """Grow MLflow's store to ``runs`` runs by copying the rows its client wrote (every table
    with a ``run_uuid`` column) under new run ids and names: the same shape, minutes faster."""
    import sqlite3
    import uuid

    db = sqlite3.connect(path)
    tables = [
        name
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if "run_uuid" in [c[1] for c in db.execute(f"PRAGMA table_info({name})")]
    ]
    sources = [r for (r,) in db.execute("SELECT run_uuid FROM runs ORDER BY start_time")]
    have = len(sources)
    with db:
        for n in range(have, runs):
            source, new = sources[n % len(sources)], uuid.uuid4().hex
            for table in tables:
                columns = [c[1] for c in db.execute(f"PRAGMA table_info({table})")]
                rows = db.execute(f"SELECT * FROM {table} WHERE run_uuid = ?", (source,))
                for row in rows.fetchall():
                    values = dict(zip(columns, row))
                    values["run_uuid"] = new
                    if table == "runs":
                        values["name"] = f"run-{n:06d}"
                        values["artifact_uri"] = str(values["artifact_uri"]).replace(source, new)
                        values["start_time"] = int(values["start_time"]) + n
                    if table == "tags" and values.get("key") == "mlflow.runName":
                        values["value"] = f"run-{n:06d}"
                    marks = ", ".join("?" for _ in columns)
                    db.execute(
                        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                        [values[c] for c in columns],
                    )
    db.close()


def seed_mlflow(runs: int) -> tuple[str, str] | None:
    """MLflow's SQLite store with ``runs`` runs (MlflowClient.log_batch for the first
    CLIENT_RUNS, copies after); (store url, experiment id), or None without MLflow."""
    python = MLFLOW_VENV / "bin" / "python"
    if not python.exists():
        return None
    path = CACHE / f"mlflow-{runs}.db"
    done = CACHE / f"mlflow-{runs}.done"
    if not done.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env.pop("PYTHONPATH", None)
        out = subprocess.run(
            [str(python), "-c", textwrap.dedent(_MLFLOW_SEED), f"sqlite:///{path}",
             str(min(runs, CLIENT_RUNS)), str(PARAMS), str(METRICS)],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        clone_mlflow_runs(path, runs)
        done.write_text(json.loads(out.stdout.strip().splitlines()[-1])["experiment_id"])
    return f"sqlite:///{path}", done.read_text()


def serve_mlcore(store: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlcore", "ui", "--store", store, "--artifacts",
         str(CACHE / "mlcore-art"), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    _wait_http(url + "/health")
    return proc, url


def serve_mlflow(store: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.pop("PYTHONPATH", None)
    proc = subprocess.Popen(
        [str(MLFLOW_VENV / "bin" / "mlflow"), "ui", "--backend-store-uri", store,
         "--default-artifact-root", str(CACHE / "mlflow-art"), "--port", str(port),
         "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    _wait_http(url + "/health", timeout=600)  # MLflow's server takes long to import
    return proc, url


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server and its workers (its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)


def first_rows(browser: Any, url: str, selector: str, repeats: int) -> float:
    """Median seconds from navigation until a run row is visible (a fresh context each time)."""
    samples = []
    for _ in range(repeats):
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        start = time.perf_counter()
        page.goto(url)
        page.wait_for_selector(selector, state="visible", timeout=120_000)
        samples.append(time.perf_counter() - start)
        context.close()
    return statistics.median(samples)


def jump(browser: Any, url: str, row: int, repeats: int) -> float:
    """Median seconds from setting the scroll position until row ``row`` shows its run."""
    samples = []
    for _ in range(repeats):
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector(MLCORE_ROW)
        table = page.get_by_test_id("runs-table")
        start = time.perf_counter()
        table.evaluate(f"el => {{ el.scrollTop = {(row - 1) * 32}; }}")
        page.wait_for_selector(f"[data-row='{row}'] .run-name a", timeout=60_000)
        samples.append(time.perf_counter() - start)
        name = page.locator(f"[data-row='{row}'] .run-name a").text_content()
        assert name, name
        context.close()
    return statistics.median(samples)


def api_p95(browser: Any, url: str, calls: int) -> tuple[float, int]:
    """The UI's API calls (load, sort by a metric, jump far down), replayed ``calls`` times in
    all; (p95 seconds, distinct calls)."""
    import httpx

    recorded: list[tuple[str, str]] = []
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.on(
        "request",
        lambda r: recorded.append((r.url, r.post_data or "{}")) if "/api/v1/" in r.url else None,
    )
    page.goto(url)
    page.wait_for_selector(MLCORE_ROW)
    page.goto(url + "?order_by=metrics.m0+DESC")
    page.wait_for_selector(MLCORE_ROW)
    page.get_by_test_id("runs-table").evaluate("el => { el.scrollTop = el.scrollHeight / 2; }")
    page.wait_for_timeout(500)
    context.close()
    wanted = recorded
    samples = []
    each: dict[int, list[float]] = {}
    with httpx.Client(headers={"Content-Type": "application/json"}) as client:
        for i in range(calls):
            target, body = wanted[i % len(wanted)]
            start = time.perf_counter()
            answer = client.post(target, content=body)
            samples.append(time.perf_counter() - start)
            each.setdefault(i % len(wanted), []).append(samples[-1])
            assert answer.status_code in (200, 404), (target, answer.text[:200])
    samples.sort()
    slowest = max(each, key=lambda k: statistics.median(each[k]))
    print(
        f"slowest call: {wanted[slowest][0].rsplit('/', 1)[-1]} {wanted[slowest][1][:160]} "
        f"median {fmt_seconds(statistics.median(each[slowest]))}",
        file=sys.stderr,
    )
    return samples[int(0.95 * (len(samples) - 1))], len(wanted)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=100_000, help="0: skip the big experiment")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--api-calls", type=int, default=400)
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.big, args.repeats, args.api_calls = 300, 0, 1, 40
        args.no_mlflow = True
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        report("runs table in Chromium", [("first rows", "skipped (no Chromium)", "", "")])
        return
    from playwright.sync_api import sync_playwright

    rows: list[tuple[str, str, str, str]] = []
    store, experiment = seed_mlcore(args.runs)
    mlflow_seeded = None if args.no_mlflow else seed_mlflow(args.runs)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        proc, url = serve_mlcore(store)
        try:
            page_url = f"{url}/experiments/{experiment}"
            ours = first_rows(browser, page_url, MLCORE_ROW, args.repeats)
            p95, distinct = api_p95(browser, page_url, args.api_calls)
        finally:
            stop(proc)
        theirs = None
        if mlflow_seeded is not None:
            mproc, murl = serve_mlflow(mlflow_seeded[0])
            try:
                theirs = first_rows(
                    browser,
                    f"{murl}/#/experiments/{mlflow_seeded[1]}/runs",
                    MLFLOW_ROW,
                    args.repeats,
                )
            finally:
                stop(mproc)
        peer = fmt_seconds(theirs) if theirs is not None else "skipped"
        ratio = f"{theirs / ours:.1f}x" if theirs is not None else ""
        rows.append((f"first rows, {args.runs:,} runs", fmt_seconds(ours), peer, ratio))
        rows.append(
            (f"API p95 ({distinct} distinct calls, {args.runs:,} runs)", fmt_seconds(p95), "", "")
        )
        if args.big:
            big_store, big_experiment = seed_mlcore(args.big)
            proc, url = serve_mlcore(big_store)
            try:
                page_url = f"{url}/experiments/{big_experiment}"
                big_first = first_rows(browser, page_url, MLCORE_ROW, args.repeats)
                target = min(90_000, args.big)
                big_jump = jump(browser, page_url, target, args.repeats)
            finally:
                stop(proc)
            rows.append((f"first rows, {args.big:,} runs", fmt_seconds(big_first), "", ""))
            rows.append((f"jump to row {target:,}", fmt_seconds(big_jump), "n/a (Load more)", ""))
        browser.close()
    report(f"runs table in Chromium (medians of {args.repeats}; peer: mlflow ui)", rows)


if __name__ == "__main__":
    main()
