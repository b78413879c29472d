"""`/compare` of many runs in Chromium: the runs come from one search (not a request per run),
each chart is one request, and a chart of many lines names the line under the cursor instead
of listing every run in a legend."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.ui.conftest import UiServer, screenshot

RUNS = 30
STEPS = 40


def seed(ui_server: UiServer) -> list[str]:
    tracker = ui_server.tracker
    ids = []
    for r in range(RUNS):
        run_id = tracker.create_run(
            experiment="many", name=f"trial-{r}", params={"r": r}
        ).info.run_id
        points = [(run_id, "loss", (r + 1) * 10.0 + step / STEPS, 0, step) for step in range(STEPS)]
        tracker.store.log_metrics(points)
        ids.append(run_id)
    return ids


def test_many_runs_load_in_one_search_and_the_chart_names_the_nearest_line(
    ui_server: UiServer, page: Any
) -> None:
    ids = seed(ui_server)
    endpoints: list[str] = []
    page.on(
        "request",
        lambda r: endpoints.append(r.url.rsplit("/", 1)[-1]) if "/api/" in r.url else None,
    )
    ui_server.open(page, "/compare?runs=" + ",".join(ids))
    expect(page.get_by_role("heading", name=f"Comparing {RUNS} runs")).to_be_visible()
    plot = page.get_by_test_id("plot-loss")
    expect(plot).to_have_attribute("data-points", str(RUNS * STEPS))
    expect(plot).to_have_attribute("data-y-max", str(RUNS * 10 + (STEPS - 1) / STEPS))
    # the runs in one search, not a get-run each; the chart in one request
    assert "get-run" not in endpoints
    assert endpoints.count("search-runs") == 1
    assert endpoints.count("sampled-histories") == 1
    # no legend of 30 rows: hovering names the line under the cursor
    expect(plot.locator(".u-legend")).to_have_count(0)
    readout = plot.locator(".chart-readout")
    over = plot.locator(".u-over")
    box = over.bounding_box()
    # the top line is the last run's (values 300..301); the bottom one the first run's
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 2)
    expect(readout).to_contain_text(f"trial-{RUNS - 1}: 300.")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 2)
    expect(readout).to_contain_text("trial-0: 10.")
    screenshot(page, "compare-many")
    # the table and plots below the charts still come (rendered when the page is idle)
    expect(
        page.get_by_test_id("compare-table").locator("tr[data-column='params.r']")
    ).to_have_attribute("data-differs", "1")
    expect(page.get_by_test_id("parallel-coordinates").locator("polyline")).to_have_count(RUNS)
