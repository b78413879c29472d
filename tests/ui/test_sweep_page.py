"""The sweep page: a real small sweep (random sampler) — the trials table with params,
objective and status, the best run, the objective by trial, parallel coordinates and
parameter importance."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

import mlcore
from tests.ui.conftest import UiServer, screenshot


def train() -> None:
    # the loss grows with lr; depth barely matters
    loss = mlcore.config.lr * 10 + mlcore.config.depth * 1e-4
    mlcore.log({"loss": loss})


def test_trials_best_run_chart_and_importance(ui_server: UiServer, page: Any) -> None:
    sweep = mlcore.sweep(
        {
            "method": "random",
            "seed": 3,
            "metric": {"name": "loss", "goal": "minimize"},
            "parameters": {
                "lr": {"distribution": "uniform", "min": 0.0, "max": 1.0},
                "depth": {"values": [2, 4, 8]},
                "optimizer": {"value": "adam"},
            },
        },
        train,
        count=6,
        tracker=ui_server.tracker,
        experiment="tuning",
    )
    best = sweep.best_run
    assert best is not None
    ui_server.open(page, f"/sweeps/{sweep.id}")
    expect(page.get_by_role("heading", name="Sweep sweep-random")).to_be_visible()
    trials = page.get_by_test_id("trials")
    expect(trials.locator("tbody tr")).to_have_count(6)
    expect(trials.locator("thead")).to_contain_text("lr")
    expect(trials.locator("thead")).to_contain_text("depth")
    expect(trials.locator("thead")).to_contain_text("loss")
    expect(trials.locator("thead")).not_to_contain_text("optimizer")  # a constant: not searched
    # the best trial: highlighted in the table, named above it, linked to its run
    best_row = trials.locator("tr.best")
    expect(best_row).to_have_count(1)
    expect(best_row.get_by_role("link")).to_have_attribute("href", f"/runs/{best.info.run_id}")
    expect(page.get_by_test_id("best-run")).to_contain_text(
        f"Trial {best.data.tags['mlcore.sweep.trial']}"
    )
    chart = page.get_by_test_id("objective-chart")
    expect(chart.locator("circle")).to_have_count(6)
    expect(chart.locator("circle.best")).to_have_count(1)
    expect(page.get_by_test_id("parallel-coordinates").locator("path.pc-line")).to_have_count(6)
    # lr drives the loss: the most important parameter
    importance = page.get_by_test_id("importance")
    expect(importance.locator("span.mono").first).to_have_text("lr")
    screenshot(page, "sweep")


def test_a_run_that_is_not_a_sweep_shows_not_found(ui_server: UiServer, page: Any) -> None:
    run = ui_server.tracker.start_run("plain")
    run.end()
    ui_server.open(page, f"/sweeps/{run.id}")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    assert "Traceback" not in page.content()
