"""The experiments page (`/`): each experiment with its number of runs and last activity; a
click opens its runs table."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.ui.conftest import UiServer, screenshot


def test_experiments_show_run_counts_and_open_the_runs_table(
    ui_server: UiServer, page: Any
) -> None:
    t = ui_server.tracker
    busy = t.create_experiment("busy").experiment_id
    t.create_experiment("empty")
    for i in range(3):
        run = t.create_run(experiment_id=busy, name=f"b{i}", start_time=1_700_000_000_000 + i)
        t.end_run(run.info.run_id, end_time=1_800_000_000_000)
    ui_server.open(page, "/")
    table = page.get_by_test_id("experiments")
    busy_row = table.locator("tr", has_text="busy")
    expect(busy_row.get_by_test_id("run-count")).to_have_text("3")
    expect(table.locator("tr", has_text="empty").get_by_test_id("run-count")).to_have_text("0")
    # the last activity is the latest run's end (2027-01-15), not the experiment's creation
    expect(busy_row).to_contain_text("2027-01-15")
    screenshot(page, "experiments-with-counts")
    busy_row.get_by_role("link", name="busy").click()
    page.wait_for_url(f"**/experiments/{busy}")
    expect(page.get_by_test_id("runs-table").get_by_role("link", name="b2")).to_be_visible()
    expect(page.get_by_role("heading")).to_contain_text("busy")
