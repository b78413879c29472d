"""The pipeline page: a real pipeline run (local executor) drawn as a DAG; the user watches
a step go from running to finished (it waits on a file the test creates), sees the cached
step and the step that failed once and was retried, reads a step's log and outputs and
clicks through to the step's run."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from mlcore.pipeline import Dataset, Input, Output, component, pipeline
from tests.ui.conftest import UiServer, screenshot


@component
def prepare(rows: int, data: Output[Dataset]) -> int:
    data.write_text("\n".join(str(i) for i in range(rows)))
    return rows


@component(retries=1, retry_backoff=0.05, cache=False)
def flaky(marker: str, n: int) -> int:
    seen = Path(marker)
    if not seen.exists():
        seen.write_text("failed once")
        raise RuntimeError("transient failure: the first attempt fails")
    print(f"second attempt: doubling {n}")
    return n * 2


@component(cache=False)
def wait_for_gate(gate: str, n: int, data: Input[Dataset]) -> str:
    deadline = time.monotonic() + 60
    while not Path(gate).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{gate} never appeared")
        time.sleep(0.05)
    print(f"gate opened with n={n} and {len(data.read_text().splitlines())} rows")
    return "opened"


@pipeline(name="nightly")
def nightly(rows: int = 5, marker: str = "", gate: str = "") -> None:
    p = prepare(rows=rows)
    f = flaky(marker=marker, n=p.outputs["Output"])
    wait_for_gate(gate=gate, n=f.output, data=p.outputs["data"])


def running_pipeline(tracker: Any) -> Any:
    """The pipeline run once its gate step is running."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = list(
            tracker.iter_runs(
                "nightly",
                "tags.`mlcore.pipeline.step` = 'wait-for-gate' AND attributes.status = 'RUNNING'",
            )
        )
        if runs:
            return runs[0].info.parent_run_id
        time.sleep(0.05)
    raise AssertionError("the pipeline's gate step never started")


def test_watch_a_pipeline_run_live_with_cached_and_retried_steps(
    ui_server: UiServer, page: Any, tmp_path: Path
) -> None:
    tracker = ui_server.tracker
    first_gate = tmp_path / "gate-1"
    first_gate.touch()
    first = nightly.run({"marker": str(tmp_path / "m1"), "gate": str(first_gate)}, tracker=tracker)
    assert first.status == "SUCCEEDED"

    gate = tmp_path / "gate-2"
    result: dict[str, Any] = {}
    worker = threading.Thread(
        target=lambda: result.setdefault(
            "run",
            nightly.run({"marker": str(tmp_path / "m2"), "gate": str(gate)}, tracker=tracker),
        )
    )
    worker.start()
    try:
        run_id = running_pipeline(tracker)
        ui_server.open(page, f"/pipelines/{run_id}")
        graph = page.get_by_role("img", name="pipeline nightly")
        gate_node = graph.locator("[data-node='wait-for-gate'] rect")
        expect(gate_node).to_have_class("dag-node step-running ")
        expect(page.get_by_text("LIVE")).to_be_visible()
        expect(graph.locator("[data-node='prepare']")).to_contain_text("cached")
        expect(graph.locator("[data-node='flaky']")).to_contain_text("retried \u00d71")
        for edge in ("prepare", "flaky", "wait-for-gate"):
            expect(graph.locator(f"[data-node='{edge}']")).to_be_visible()
        assert graph.locator("path.dag-edge").count() == 3
        screenshot(page, "pipeline-running")

        gate.touch()  # the step finishes; the page follows without a reload
        expect(gate_node).to_have_class("dag-node step-succeeded ", timeout=30_000)
        expect(page.get_by_text("LIVE")).to_have_count(0)
        expect(page.get_by_role("heading", name="Pipeline nightly")).to_contain_text("FINISHED")
    finally:
        gate.touch()
        worker.join(60)
    assert result["run"].status == "SUCCEEDED"
    assert result["run"].steps["prepare"].cached

    # the retried step: two attempts, its log, its output, a link to its run
    graph.locator("[data-node='flaky']").click()
    page.wait_for_url("**?step=flaky")
    panel = page.get_by_test_id("step-panel")
    expect(panel).to_contain_text("2 attempts")
    expect(panel.get_by_test_id("step-outputs")).to_contain_text("10")
    expect(panel.get_by_test_id("step-log").last).to_contain_text("second attempt: doubling 5")
    screenshot(page, "pipeline")
    # the cached step: marked, its artifact output shown
    graph.locator("[data-node='prepare']").click()
    expect(panel).to_contain_text("cached")
    expect(panel.get_by_test_id("step-outputs")).to_contain_text("data")
    step_run = result["run"].steps["prepare"].run_id
    panel.get_by_role("link", name=step_run[:12]).click()
    page.wait_for_url(f"**/runs/{step_run}")


def test_a_run_that_is_not_a_pipeline_shows_not_found(ui_server: UiServer, page: Any) -> None:
    run = ui_server.tracker.start_run("plain")
    run.end()
    for path in (f"/pipelines/{run.id}", "/pipelines/0123456789abcdef0123456789abcdef"):
        ui_server.open(page, path)
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        assert "Traceback" not in page.content()
