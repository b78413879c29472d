"""`/compare?runs=...` in Chromium: a chart per metric with a line per run, the params/metrics
table with differences highlighted, parallel coordinates and a scatter."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.ui.conftest import UiServer, screenshot


def seed(ui_server: UiServer) -> list[str]:
    tracker = ui_server.tracker
    ids = []
    for i, lr in enumerate((0.1, 0.01, 0.001)):
        run = tracker.create_run(
            experiment="sweep",
            name=f"lr-{lr}",
            params={"lr": lr, "batch": 32, "optimizer": "adam" if i else "sgd"},
        )
        run_id = run.info.run_id
        for step in range(100):
            tracker.log_metric(run_id, "loss", (1 + i) / (1 + step), step=step)
        tracker.log_metric(run_id, "accuracy", 0.8 + 0.05 * i, step=99)
        tracker.flush()
        tracker.end_run(run_id)
        ids.append(run_id)
    return ids


def test_compare_overlays_charts_and_highlights_differences(ui_server: UiServer, page: Any) -> None:
    ids = seed(ui_server)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "sampled-histories" in r.url else None)
    ui_server.open(page, "/compare?runs=" + ",".join(ids))
    expect(page.get_by_role("heading", name="Comparing 3 runs")).to_be_visible()

    chart = page.get_by_test_id("chart-loss")
    legend = chart.locator(".u-legend")
    for name in ("lr-0.1", "lr-0.01", "lr-0.001"):
        expect(legend).to_contain_text(name)
    plot = page.get_by_test_id("plot-loss")
    expect(plot).to_have_attribute("data-points", "300")
    expect(plot).to_have_attribute("data-y-max", "3")  # run 3's first loss

    table = page.get_by_test_id("compare-table")
    lr = table.locator("tr[data-column='params.lr']")
    expect(lr).to_have_attribute("data-differs", "1")
    expect(lr).to_have_class("differs")
    expect(lr).to_contain_text("0.001")
    batch = table.locator("tr[data-column='params.batch']")
    expect(batch).to_have_attribute("data-differs", "0")
    expect(table.locator("tr[data-column='metrics.accuracy']")).to_have_attribute(
        "data-differs", "1"
    )
    screenshot(page, "compare")

    page.get_by_label("Only differences", exact=False).check()
    expect(table.locator("tr[data-column='params.batch']")).to_have_count(0)
    expect(table.locator("tr[data-column='params.lr']")).to_be_visible()

    parallel = page.get_by_test_id("parallel-coordinates")
    expect(parallel.locator("polyline")).to_have_count(3)
    expect(parallel).to_contain_text("params.lr")
    expect(parallel).to_contain_text("metrics.accuracy")

    scatter = page.get_by_test_id("scatter")
    expect(scatter.locator("circle")).to_have_count(3)
    page.locator("select[name=scatter-y]").select_option("metrics.loss")
    expect(scatter).to_have_attribute("aria-label", "metrics.loss against params.lr")
    page.get_by_test_id("parallel-coordinates").scroll_into_view_if_needed()
    screenshot(page, "compare-plots")

    # one request per chart, whatever the number of runs
    assert len(requests) == 2


def test_compare_x_axis_and_smoothing_live_in_the_url(ui_server: UiServer, page: Any) -> None:
    ids = seed(ui_server)
    ui_server.open(page, "/compare?runs=" + ",".join(ids))
    plot = page.get_by_test_id("plot-loss")
    expect(plot).to_have_attribute("data-y-max", "3")
    expect(plot).to_have_attribute("data-y-min", "0.01")  # run 1's last raw loss
    page.locator("select[name=x-axis]").select_option("relative")
    expect(page.get_by_test_id("chart-loss")).to_contain_text("seconds since start")
    page.locator("input[name=smoothing]").fill("0.9")
    page.locator("input[name=smoothing]").dispatch_event("change")
    assert "x=relative" in page.url and "smooth=0.9" in page.url
    # the smoothed curve lags the falling loss: it never gets down to the raw minimum
    expect(plot).not_to_have_attribute("data-y-min", "0.01")
    assert float(plot.get_attribute("data-y-min")) > 0.01
    page.reload()
    expect(page.locator("select[name=x-axis]")).to_have_value("relative")


def test_compare_with_an_unknown_run_says_not_found(ui_server: UiServer, page: Any) -> None:
    ids = seed(ui_server)
    ui_server.open(page, f"/compare?runs={ids[0]},0123456789abcdef0123456789abcdef")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
