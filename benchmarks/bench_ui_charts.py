"""The web UI's charts in Chromium (Playwright over Debian's Chromium), on SQLite through a real
``mlcore server``:

- **run page**: a run whose ``loss`` has 1,000,000 points with one spike: time from navigation
  to the chart drawn with the spike in its y-range (target < 1 s);
- **compare**: 100 runs x 10 metrics x 10,000 steps on ``/compare`` (a tall window, so all ten
  charts load at once): time to every chart drawn (target < 3 s) and the longest main-thread
  task (PerformanceObserver ``longtask``; target: none over 200 ms).

Medians of several page loads (a fresh tab each). ``--quick``: 100,000 points; 10 runs x 3
metrics x 1,000 steps. Without Chromium, playwright or the built bundle it says so and
measures nothing. MLflow's UI is not measured here (see docs/ui.md).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys

from _common import report, scratch_dir

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
                browser.close()
        finally:
            server.stop()

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values):.0f} ms"

    report(
        "UI charts in Chromium (median of page loads)",
        [
            (
                f"run page, {n:,}-point metric: chart drawn, spike visible",
                ms([t for t, _ in run_page]),
                "target < 1000 ms",
                "-",
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
