"""The runs table (`/experiments/<id>`) in Chromium: filter, sort, columns, grouping, nesting,
selection → compare, export, live refresh, a reload keeps the view, 10,000 virtualised rows."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from mlcore.tracking import RunSpec
from tests.ui.conftest import UiServer, screenshot


def _seed(ui_server: UiServer) -> dict[str, str]:
    """Six top-level runs (one with two children), one CRASHED, one RUNNING."""
    t = ui_server.tracker
    experiment = t.create_experiment("mnist").experiment_id
    ids: dict[str, str] = {}
    for i, (opt, acc) in enumerate(
        [("adam", 0.91), ("sgd", 0.72), ("adam", 0.95), ("sgd", 0.65), ("adam", 0.88)]
    ):
        run = t.create_run(experiment_id=experiment, name=f"run-{i}", params={"opt": opt})
        run_id = run.info.run_id
        t.log_metrics(run_id, {"acc": acc, "loss": 1 - acc})
        t.set_tag(run_id, "team", "vision" if i % 2 else "nlp")
        t.end_run(run_id)
        ids[f"run-{i}"] = run_id
    parent = ids["run-0"]
    for j in range(2):
        child = t.create_run(
            experiment_id=experiment, name=f"fold-{j}", parent_run_id=parent, params={"fold": j}
        )
        t.log_metric(child.info.run_id, "acc", 0.5 + j / 10)
        t.end_run(child.info.run_id)
        ids[f"fold-{j}"] = child.info.run_id
    # a run whose heartbeat stopped long ago (its process died) reads CRASHED
    crashed = t.store.create_run(
        experiment, name="crashy", start_time=1, params={"opt": "sgd"}, alive_until=2
    )
    ids["crashy"] = crashed.info.run_id
    running = t.create_run(experiment_id=experiment, name="live-one", params={"opt": "adam"})
    t.log_metric(running.info.run_id, "acc", 0.1)
    t.flush()
    ids["live-one"] = running.info.run_id
    ids["experiment"] = experiment
    return ids


def _names(page: Any) -> list[str]:
    """Run names in the order the user sees them (top to bottom)."""
    rows = page.get_by_test_id("runs-table").locator(".runs-body [role=row]")
    found = rows.evaluate_all(
        "rows => rows.map(r => [parseInt(r.dataset.row), "
        "(r.querySelector('.run-name a') || {}).textContent])"
    )
    return [name for _, name in sorted(found) if name]


def _query(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def test_table_shows_runs_with_badges_nesting_and_not_found(ui_server: UiServer, page: Any) -> None:
    ids = _seed(ui_server)
    ui_server.open(page, f"/experiments/{ids['experiment']}")
    table = page.get_by_test_id("runs-table")
    expect(table.get_by_role("link", name="run-3")).to_be_visible()
    expect(page.get_by_test_id("run-count")).to_have_text("7 top-level runs")
    expect(table.locator(".badge.status-crashed")).to_have_text("CRASHED")
    expect(table.locator(".badge.status-running")).to_have_text("RUNNING")
    # children are under their parent, shown on expand
    expect(table.get_by_role("link", name="fold-0")).to_have_count(0)
    table.get_by_role("button", name="expand run-0 (2 child runs)").click()
    expect(table.get_by_role("link", name="fold-1")).to_be_visible()
    names = _names(page)
    assert names.index("run-0") < names.index("fold-0") < names.index("run-0") + 3
    screenshot(page, "runs-table")
    table.get_by_role("button", name="collapse run-0 (2 child runs)").click()
    expect(table.get_by_role("link", name="fold-1")).to_have_count(0)
    # a click on a row opens the run's page
    table.locator(".runs-body [role=row]", has_text="run-2").locator("[data-col]").first.click()
    page.wait_for_url(f"**/runs/{ids['run-2']}")

    ui_server.open(page, "/experiments/987654")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    assert "Traceback" not in page.content()


def test_filter_sort_columns_and_reload_keep_the_view(ui_server: UiServer, page: Any) -> None:
    ids = _seed(ui_server)
    ui_server.open(page, f"/experiments/{ids['experiment']}")
    table = page.get_by_test_id("runs-table")
    expect(table.get_by_role("link", name="run-0")).to_be_visible()

    box = page.get_by_label("Filter runs")
    box.fill("metrics.acc >> 0.5")
    page.get_by_role("button", name="Filter", exact=True).click()
    error = page.get_by_test_id("filter-error")
    expect(error).to_contain_text("invalid filter at column 14")
    assert "Traceback" not in page.content()

    box.fill("metrics.acc > 0.8 and params.opt = 'adam'")
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(page.get_by_test_id("run-count")).to_have_text("3 runs")
    expect(error).to_have_count(0)

    table.get_by_role("columnheader", name="metrics.acc").click()  # DESC first
    expect(table.get_by_role("columnheader", name="metrics.acc ▼")).to_be_visible()
    page.wait_for_function(
        "() => document.querySelectorAll('.runs-body [role=row] .run-name a').length === 3"
    )
    _wait_order(page, ["run-2", "run-0", "run-4"])
    table.get_by_role("columnheader", name="metrics.acc ▼").click()
    _wait_order(page, ["run-4", "run-0", "run-2"])
    assert _query(page)["order_by"] == ["metrics.acc ASC"]

    # pick columns: add tags.team, drop params.opt
    page.get_by_text("Columns", exact=True).click()
    picker = page.get_by_role("group", name="Columns")
    picker.get_by_role("checkbox", name="team").check()
    picker.get_by_role("checkbox", name="opt").uncheck()
    expect(table.get_by_role("columnheader", name="tags.team")).to_be_visible()
    expect(table.get_by_role("columnheader", name="params.opt")).to_have_count(0)
    expect(table.locator("[data-col='tags.team']").first).to_have_text("nlp")

    page.reload()  # the filter, the order and the columns live in the URL
    table = page.get_by_test_id("runs-table")
    expect(page.get_by_label("Filter runs")).to_have_value(
        "metrics.acc > 0.8 and params.opt = 'adam'"
    )
    expect(table.get_by_role("columnheader", name="tags.team")).to_be_visible()
    expect(table.get_by_role("columnheader", name="params.opt")).to_have_count(0)
    _wait_order(page, ["run-4", "run-0", "run-2"])


def _wait_order(page: Any, expected: list[str]) -> None:
    for _ in range(100):
        if _names(page) == expected:
            return
        page.wait_for_timeout(50)
    assert _names(page) == expected


def test_group_by_a_param_shows_counts_and_aggregates(ui_server: UiServer, page: Any) -> None:
    ids = _seed(ui_server)
    ui_server.open(page, f"/experiments/{ids['experiment']}")
    expect(page.get_by_test_id("runs-table").get_by_role("link", name="run-0")).to_be_visible()
    page.get_by_label("Group by").select_option("params.opt")
    groups = page.get_by_test_id("groups")
    adam = groups.locator("tr[data-group='adam']")
    sgd = groups.locator("tr[data-group='sgd']")
    expect(adam.get_by_test_id("group-count")).to_have_text("4")  # run-0, -2, -4, live-one
    expect(sgd.get_by_test_id("group-count")).to_have_text("3")  # run-1, -3, crashy
    expect(groups.locator("tr[data-group='(none)']").get_by_test_id("group-count")).to_have_text(
        "2"
    )  # the folds have no opt
    page.get_by_label("Aggregate metric").select_option("acc")
    expect(sgd.locator("td").nth(2)).to_have_text("0.65")  # min acc
    expect(sgd.locator("td").nth(3)).to_have_text("0.72")  # max acc
    adam.get_by_role("button").click()
    expect(groups.get_by_role("link", name="run-2")).to_be_visible()
    screenshot(page, "runs-grouped")
    page.reload()
    expect(page.get_by_test_id("groups").locator("tr[data-group='sgd']")).to_be_visible()


def test_select_two_runs_then_compare_and_export_csv(ui_server: UiServer, page: Any) -> None:
    ids = _seed(ui_server)
    ui_server.open(page, f"/experiments/{ids['experiment']}?filter=params.opt+%3D+%27sgd%27")
    table = page.get_by_test_id("runs-table")
    expect(page.get_by_test_id("run-count")).to_have_text("3 runs")
    table.get_by_role("checkbox", name="select run-1").check()
    table.get_by_role("checkbox", name="select run-3").check()
    expect(page.get_by_role("button", name="Compare (2)")).to_be_enabled()
    page.reload()  # the selection lives in the URL too
    expect(
        page.get_by_test_id("runs-table").get_by_role("checkbox", name="select run-3")
    ).to_be_checked()

    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["attributes.run_name"] for r in rows} == {"run-1", "run-3", "crashy"}
    by_name = {r["attributes.run_name"]: r for r in rows}
    assert float(by_name["run-3"]["metrics.acc"]) == pytest.approx(0.65)
    assert by_name["crashy"]["attributes.status"] == "CRASHED"

    with page.expect_download() as download:
        page.get_by_role("button", name="Export Parquet").click()
    import pyarrow.parquet as pq

    table_pq = pq.read_table(download.value.path())
    assert sorted(table_pq["run_name"].to_pylist()) == ["crashy", "run-1", "run-3"]

    page.get_by_role("button", name="Compare (2)").click()
    page.wait_for_url("**/compare?runs=*")
    assert set(_query(page)["runs"][0].split(",")) == {ids["run-1"], ids["run-3"]}


def test_a_running_runs_metric_updates_on_screen(ui_server: UiServer, page: Any) -> None:
    ids = _seed(ui_server)
    ui_server.open(page, f"/experiments/{ids['experiment']}?columns=metrics.acc")
    row = page.get_by_test_id("runs-table").locator(".runs-body [role=row]", has_text="live-one")
    expect(row.locator("[data-col='metrics.acc']")).to_have_text("0.1")
    ui_server.tracker.log_metric(ids["live-one"], "acc", 0.42, step=1)
    ui_server.tracker.flush()
    expect(row.locator("[data-col='metrics.acc']")).to_have_text("0.42", timeout=10_000)


def test_ten_thousand_runs_scroll_to_the_bottom_and_jump_to_a_row(
    ui_server: UiServer, page: Any
) -> None:
    t = ui_server.tracker
    experiment = t.create_experiment("big").experiment_id
    specs = [RunSpec(name=f"r{i:05d}", params={"i": i}, heartbeat=False) for i in range(10_000)]
    for start in range(0, len(specs), 2000):
        t.create_runs(specs[start : start + 2000], experiment_id=experiment)
    ui_server.open(page, f"/experiments/{experiment}?order_by=attributes.run_name+ASC")
    table = page.get_by_test_id("runs-table")
    expect(page.get_by_test_id("run-count")).to_have_text("10,000 top-level runs")
    expect(table.get_by_role("link", name="r00000")).to_be_visible()
    # only the visible rows are in the DOM
    assert table.locator(".runs-body [role=row]").count() < 80
    table.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    expect(table.get_by_role("link", name="r09999")).to_be_visible()
    assert table.locator(".runs-body [role=row]").count() < 80
    page.get_by_label("Go to row").fill("9000")
    page.get_by_label("Go to row").press("Enter")
    expect(table.get_by_role("link", name="r08999")).to_be_visible()
    expect(page.get_by_test_id("position")).to_contain_text("Rows 9,000")
    screenshot(page, "runs-10k")
