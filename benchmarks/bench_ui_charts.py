"""The web UI's charts in Chromium (Playwright over Debian's Chromium), on SQLite through a real
``mlcore server``:

- **run page**: a run whose ``loss`` has 1,000,000 points with one spike: time from navigation
  to the chart drawn with the spike in its y-range (target < 1 s);
- **compare**: 100 runs x 10 metrics x 10,000 steps on ``/compare`` (a tall window, so all ten
  charts load at once): time to every chart drawn (target < 3 s) and the longest main-thread
  task (PerformanceObserver ``longtask``; target: none over 200 ms).

Medians of several page loads (a fresh tab each). ``--quick``: 100,000 points; 10 runs x 3
metrics x 1,000 steps. Without Chromium, playwright or the built bundle it says so and
measures nothing.

``--mlflow``: the same run page in ``mlflow ui`` (MLflow in ``.venv-mlflow``): the same points
logged through MLflow's client (``log_batch`` of 1,000, SQLite; kept under
``$MLCORE_BENCH_CACHE`` for the next time: ~8 min for a million points), its "Model metrics"
tab opened in a fresh tab; time until its chart (plotly) has drawn a line, and whether the
spike is in its y-range. MLflow's compare view is not measured.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from _common import ratio, report, scratch_dir, skipped

CHROMIUM = os.environ.get("MLCORE_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
SPIKE = 1000.0
#: records every long task of the page (the observer is installed before the page's scripts)
LONGTASKS = """
window.__longtasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longtasks.push(e.duration);
}).observe({ type: "longtask", buffered: true });
"""


ROOT = Path(__file__).resolve().parent.parent
PEER = ROOT / ".venv-mlflow" / "bin"
#: logs the run through MLflow's client: argv = tracking URI, points
_MLFLOW_SEED = """
import math, sys
from mlflow import MlflowClient
from mlflow.entities import Metric
uri, n = sys.argv[1], int(sys.argv[2])
client = MlflowClient(uri)
experiment = client.create_experiment("long", artifact_location=sys.argv[3])
run_id = client.create_run(experiment, run_name="long").info.run_id
spike = int(n * 0.654321)
for start in range(0, n, 1000):
    client.log_batch(run_id, metrics=[
        Metric("loss", 1000.0 if s == spike else math.sin(s / 5000.0), 10 * s, s)
        for s in range(start, min(n, start + 1000))])
client.set_terminated(run_id)
print(experiment, run_id)
"""
#: MLflow's run page chart: a plotly line drawn; its y-range and point count kept for the report
_MLFLOW_READY = """() => {
  const g = document.querySelector('.js-plotly-plot');
  const line = g && g.querySelector('.scatterlayer path.js-line');
  if (!g || !g._fullLayout || !line || !(line.getAttribute('d') || '').length) return false;
  window.__yRange = g._fullLayout.yaxis.range;
  window.__points = (g.data || []).reduce((n, t) => n + (t.y ? t.y.length : 0), 0);
  return true;
}"""


def mlflow_store(n: int) -> tuple[str, str, str] | None:
    """(tracking URI, experiment id, run id) of MLflow's copy of the long run, seeded once."""
    if not (PEER / "python").exists():
        return None
    where = Path(os.environ.get("MLCORE_BENCH_CACHE", "/tmp/mlcore-bench-cache")) / f"mlflow-ui-{n}"
    done = where / "ids"
    uri = f"sqlite:///{where}/mlflow.db"
    if not done.exists():
        shutil.rmtree(where, ignore_errors=True)
        where.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        out = subprocess.run(
            [str(PEER / "python"), "-c", _MLFLOW_SEED, uri, str(n), str(where / "artifacts")],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        ).stdout.split()
        done.write_text(" ".join(out[-2:]))
    experiment, run_id = done.read_text().split()
    return uri, experiment, run_id


def measure_mlflow(browser: object, n: int, repeats: int) -> tuple[list[float], bool, int] | None:
    """MLflow's run page: (ms until its chart is drawn per load, spike in range, points drawn)."""
    found = mlflow_store(n)
    if found is None:
        return None
    uri, experiment, run_id = found
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    command = [str(PEER / "mlflow"), "ui", "--backend-store-uri", uri, "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while True:
            try:
                urllib.request.urlopen(base + "/health", timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("mlflow ui did not start") from None
                time.sleep(1)
        url = f"{base}/#/experiments/{experiment}/runs/{run_id}/model-metrics"
        times, spike, points = [], False, 0
        for i in range(repeats + 1):  # the first is a warm-up
            context = browser.new_context(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
            page = context.new_page()
            page.goto(url)
            page.wait_for_function(_MLFLOW_READY, timeout=300_000, polling="raf")
            elapsed = float(page.evaluate("performance.now()"))
            spike = max(page.evaluate("window.__yRange")) >= SPIKE
            points = int(page.evaluate("window.__points"))
            context.close()
            if i:
                times.append(elapsed)
        return times, spike, points
    finally:
        server.terminate()
        server.wait(timeout=30)


def missing() -> str | None:
    from mlcore.ui import is_built

    if not is_built():
        return "the UI bundle is not built (bash scripts/build-ui.sh)"
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM}"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    return None


def seed_long(tracker: object, n: int) -> str:
    store = tracker.store  # type: ignore[attr-defined]
    run_id: str = tracker.create_run(experiment="long", name="long").info.run_id  # type: ignore[attr-defined]
    spike = int(n * 0.654321)
    for start in range(0, n, 200_000):
        store.log_metrics(
            [
                (run_id, "loss", SPIKE if s == spike else math.sin(s / 5000.0), 10 * s, s)
                for s in range(start, min(n, start + 200_000))
            ]
        )
    return run_id


def seed_compare(tracker: object, runs: int, metrics: int, steps: int) -> list[str]:
    store = tracker.store  # type: ignore[attr-defined]
    ids = []
    for r in range(runs):
        run = tracker.create_run(  # type: ignore[attr-defined]
            experiment="cmp", name=f"run-{r}", params={"lr": 10 ** -(r % 5), "seed": r}
        )
        run_id = run.info.run_id
        points = [
            (run_id, f"m{m}", math.exp(-s / steps) * (1 + r / runs) + 0.01 * m, 10 * s, s)
            for m in range(metrics)
            for s in range(steps)
        ]
        for start in range(0, len(points), 200_000):
            store.log_metrics(points[start : start + 200_000])
        ids.append(run_id)
    return ids


def measure(browser: object, url: str, ready: str, tall: bool) -> tuple[float, float]:
    """(ms from navigation start until `ready` holds in the page, longest task in ms)."""
    height = 4000 if tall else 900
    context = browser.new_context(viewport={"width": 1400, "height": height})  # type: ignore[attr-defined]
    page = context.new_page()
    page.add_init_script(LONGTASKS)
    page.goto(url)
    page.wait_for_function(f"() => {ready}", timeout=120_000, polling="raf")
    elapsed = float(page.evaluate("performance.now()"))
    page.wait_for_timeout(200)  # let the observer report the last tasks
    longest = float(page.evaluate("Math.max(0, ...window.__longtasks)"))
    context.close()
    return elapsed, longest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--mlflow", action="store_true", help="also MLflow's run page")
    args = parser.parse_args()
    n = 100_000 if args.quick else 1_000_000
    runs, metrics, steps = (10, 3, 1_000) if args.quick else (100, 10, 10_000)
    repeats = 2 if args.quick else 5
    reason = missing()
    if reason:
        report("UI charts in Chromium", [("skipped", reason, "-", "-")])
        return

    from playwright.sync_api import sync_playwright

    import mlcore
    from mlcore.server import Server

    with scratch_dir() as tmp:
        store = f"sqlite:///{tmp}/ui.db"
        tracker = mlcore.Tracker(store, artifact_uri=f"{tmp}/artifacts")
        long_id = seed_long(tracker, n)
        ids = seed_compare(tracker, runs, metrics, steps)
        tracker.close()
        server = Server.tracking(store=store, artifacts=f"{tmp}/artifacts")
        url = server.start(port=0)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
                spike_ready = (
                    "document.querySelector('[data-testid=plot-loss]')?.dataset.yMax === '1000'"
                )
                charts_ready = (
                    f"document.querySelectorAll('.line-chart[data-points]').length === {metrics}"
                )
                measure(browser, f"{url}/runs/{long_id}", spike_ready, False)  # warm-up
                run_page = [
                    measure(browser, f"{url}/runs/{long_id}", spike_ready, False)
                    for _ in range(repeats)
                ]
                compare_url = f"{url}/compare?runs=" + ",".join(ids)
                measure(browser, compare_url, charts_ready, True)  # warm-up
                compare = [
                    measure(browser, compare_url, charts_ready, True) for _ in range(repeats)
                ]
                peer = measure_mlflow(browser, n, min(repeats, 3)) if args.mlflow else None
                browser.close()
        finally:
            server.stop()

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values):.0f} ms"

    ours = statistics.median([t for t, _ in run_page])
    peer_cell, peer_ratio = "-", "-"
    if args.mlflow and peer is None:
        peer_cell = skipped("mlflow (.venv-mlflow)")
    elif peer is not None:
        times, spike, points = peer
        shown = "spike visible" if spike else "spike NOT visible"
        peer_cell = f"MLflow {ms(times)} ({points:,} points plotted, {shown})"
        peer_ratio = ratio(ours, statistics.median(times))
    report(
        "UI charts in Chromium (median of page loads)",
        [
            (
                f"run page, {n:,}-point metric: chart drawn, spike visible (target < 1000 ms)",
                ms([t for t, _ in run_page]),
                peer_cell,
                peer_ratio,
            ),
            ("run page: longest main-thread task", ms([lt for _, lt in run_page]), "-", "-"),
            (
                f"compare {runs} runs x {metrics} metrics x {steps:,} steps: all charts drawn",
                ms([t for t, _ in compare]),
                "target < 3000 ms",
                "-",
            ),
            (
                "compare: longest main-thread task",
                ms([lt for _, lt in compare]),
                "target < 200 ms",
                "-",
            ),
        ],
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
