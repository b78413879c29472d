"""`/runs/<run_id>` in Chromium: overview, params, metrics, tags edited through the API, the
artifacts browser and its previews (an HTML artifact's script never runs), models, lineage,
and a million-point chart whose one spike is visible, zoomed by dragging."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

import mlcore
from mlcore import Artifact
from mlcore.server import Server
from tests.ui.conftest import UiServer, screenshot
from tests.ui.seed import SPIKE_STEP, SPIKE_VALUE, log_files, log_million, log_sklearn_model


def seed_run(ui_server: UiServer, tmp_path: Path) -> tuple[str, str]:
    """A finished run with everything the page shows, and its child; their ids."""
    tracker = ui_server.tracker
    run = tracker.create_run(
        experiment="credit",
        name="baseline",
        params={"lr": 0.01, "optimizer": "adam"},
        config={"model": {"depth": 6}},
        notes="Baseline with **default** features.",
        tags={"team": "risk", "mlcore.source.git.commit": "0123abcd"},
    )
    run_id = run.info.run_id
    for step in range(50):
        tracker.log_metric(run_id, "accuracy", 0.5 + step / 100, step=step)
    tracker.log_metric(run_id, "f1", 0.8, step=0)
    log_files(tracker, run_id, tmp_path)
    log_sklearn_model(tracker, run_id)
    data = tmp_path / "train.csv"
    data.write_text("x,y\n1,2\n")
    dataset = Artifact("training-data", type="dataset")
    dataset.add_file(str(data))
    tracker.log_artifact(run_id, dataset)
    child = tracker.create_run(experiment="credit", name="fold-1", parent_run_id=run_id)
    tracker.use_artifact(child.info.run_id, "training-data:v0")
    tracker.flush()
    tracker.end_run(run_id)
    return run_id, child.info.run_id


def test_the_run_page_shows_overview_params_metrics_and_notes(
    ui_server: UiServer, page: Any, tmp_path: Path
) -> None:
    run_id, child_id = seed_run(ui_server, tmp_path)
    ui_server.open(page, f"/runs/{run_id}")
    expect(page.get_by_role("heading", name="baseline")).to_be_visible()
    overview = page.get_by_test_id("overview")
    expect(page.locator("h1 .badge")).to_have_text("FINISHED")
    expect(overview).to_contain_text("0123abcd")
    expect(overview.get_by_test_id("children").get_by_role("link", name="fold-1")).to_be_visible()
    expect(page.get_by_test_id("notes")).to_contain_text("Baseline with default features.")
    expect(page.get_by_test_id("notes").locator("strong")).to_have_text("default")
    params = page.get_by_test_id("params")
    expect(params.locator("tr", has_text="optimizer")).to_contain_text("adam")
    expect(params.locator("tr", has_text="model.depth")).to_contain_text("6")
    metrics = page.get_by_test_id("metrics")
    expect(metrics.locator("tr", has_text="accuracy")).to_contain_text("0.99")
    expect(page.get_by_test_id("chart-accuracy").locator(".u-over")).to_be_visible()
    expect(page.get_by_test_id("plot-accuracy")).to_have_attribute("data-y-max", "0.99")
    screenshot(page, "run-overview")

    # the child links back to its parent
    page.get_by_test_id("children").get_by_role("link", name="fold-1").click()
    page.wait_for_url(f"**/runs/{child_id}")
    expect(page.get_by_role("link", name=run_id)).to_be_visible()


def test_artifacts_browser_previews_each_kind_and_html_scripts_never_run(
    ui_server: UiServer, page: Any, tmp_path: Path
) -> None:
    run_id, _ = seed_run(ui_server, tmp_path)
    ui_server.open(page, f"/runs/{run_id}")
    tree = page.get_by_test_id("artifacts")
    preview = page.get_by_test_id("preview")

    tree.get_by_role("button", name="eval/").click()
    tree.get_by_role("button", name="scores.csv").click()
    table = preview.get_by_test_id("csv-preview")
    expect(table.locator("th")).to_have_text(["name", "score"])
    expect(table.locator("tbody tr").nth(1)).to_contain_text("0.87")
    expect(preview).to_contain_text("sha256 ")  # recorded when logged

    tree.get_by_role("button", name="summary.json").click()
    expect(preview.locator("pre")).to_contain_text('"threshold": 0.5')

    tree.get_by_role("button", name="README.md").click()
    expect(preview.get_by_role("heading", name="Model card")).to_be_visible()

    tree.get_by_role("button", name="plots/").click()
    tree.get_by_role("button", name="confusion.png").click()
    image = preview.locator("img.preview-image")
    expect(image).to_be_visible()
    page.wait_for_function("() => document.querySelector('img.preview-image').naturalWidth === 24")
    screenshot(page, "run-artifacts-image")

    tree.get_by_role("button", name="report.html").click()
    frame = page.frame_locator("[data-testid=html-preview]")
    expect(frame.get_by_text("hello from the html artifact")).to_be_visible()
    assert page.get_by_test_id("html-preview").get_attribute("sandbox") == ""
    page.wait_for_timeout(300)  # give a script every chance to run
    assert frame.locator("body").get_attribute("data-ran") is None
    assert page.locator("body").get_attribute("data-pwned") is None
    assert page.evaluate("localStorage.getItem('pwned')") is None
    screenshot(page, "run-artifacts-html")

    # the download button hands the whole file over
    with page.expect_download() as download:
        preview.get_by_role("button", name="Download report.html").click()
    assert Path(download.value.path()).read_text().startswith("<!doctype html>")


def test_an_html_artifact_opened_directly_runs_no_script(
    ui_server: UiServer, page: Any, tmp_path: Path
) -> None:
    run_id, _ = seed_run(ui_server, tmp_path)
    run = httpx.post(f"{ui_server.url}/api/v1/get-run", json={"run_id": run_id}).json()
    url = run["info"]["artifact_uri"] + "/report.html"
    answer = httpx.get(url)
    assert answer.status_code == 200 and b"<script>" in answer.content
    assert answer.headers["x-content-type-options"] == "nosniff"
    policy = answer.headers["content-security-policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy
    assert answer.headers["content-type"] == "application/octet-stream"
    listing = httpx.get(run["info"]["artifact_uri"] + "?list=1")
    assert listing.headers["x-content-type-options"] == "nosniff"
    # path checks still hold
    assert httpx.get(f"{ui_server.url}/api/v1/artifact-files/../ui.db").status_code in (400, 404)
    assert httpx.get(f"{ui_server.url}/api/v1/artifact-files/%2e%2e/ui.db").status_code == 400

    ui_server.open(page, "/")  # the UI's origin
    # the browser saves it (octet-stream, nosniff) instead of rendering it
    with pytest.raises(Exception, match="Download is starting"):
        page.goto(url)
    ui_server.open(page, "/")
    expect(page.get_by_role("heading", name="Experiments")).to_be_visible()
    assert page.evaluate("localStorage.getItem('pwned')") is None


def test_logged_model_and_lineage_are_shown(ui_server: UiServer, page: Any, tmp_path: Path) -> None:
    run_id, child_id = seed_run(ui_server, tmp_path)
    ui_server.open(page, f"/runs/{run_id}")
    models = page.get_by_test_id("models")
    expect(models).to_contain_text("sklearn")
    expect(models).to_contain_text("scikit-learn")
    expect(models.get_by_role("link", name="classifier v1")).to_have_attribute(
        "href", "/models/classifier/versions/1"
    )
    models.get_by_text("Requirements").click()
    expect(models.get_by_test_id("requirements")).to_contain_text("scikit-learn==")
    expect(models.locator("details", has_text="Signature")).to_contain_text("float64")
    lineage = page.get_by_test_id("lineage")
    expect(lineage.locator("div", has_text="Produced")).to_contain_text("training-data:v0")
    lineage.scroll_into_view_if_needed()
    screenshot(page, "run-models-lineage")

    ui_server.open(page, f"/runs/{child_id}")
    used = page.get_by_test_id("lineage").locator("div").filter(has_text="Used").first
    expect(used.get_by_role("link", name="training-data:v0")).to_be_visible()


def test_a_million_point_chart_keeps_its_spike_and_drag_zoom_refetches(
    ui_server: UiServer, page: Any
) -> None:
    tracker = ui_server.tracker
    run_id = tracker.create_run(experiment="long", name="long-run").info.run_id
    log_million(tracker, run_id)
    requests: list[str] = []
    page.on(
        "request",
        lambda r: requests.append(r.post_data or "") if "sampled-histories" in r.url else None,
    )
    ui_server.open(page, f"/runs/{run_id}")
    plot = page.get_by_test_id("plot-loss")
    expect(plot).to_have_attribute("data-y-max", str(int(SPIKE_VALUE)))
    assert int(plot.get_attribute("data-points")) <= 2000
    expect(page.get_by_test_id("chart-loss")).to_contain_text("of 1,000,000 points")
    screenshot(page, "run-million-points")
    assert len(requests) == 1 and '"min_step":null' in requests[0]

    # drag across the spike: the zoomed step range is fetched again, the spike still there
    over = plot.locator(".u-over")
    box = over.bounding_box()
    x0 = box["x"] + box["width"] * 0.60
    x1 = box["x"] + box["width"] * 0.70
    y = box["y"] + box["height"] / 2
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move(x1, y, steps=8)
    page.mouse.up()
    chart = page.get_by_test_id("chart-loss")
    expect(chart).not_to_have_attribute("data-range", "")
    expect(plot).to_have_attribute("data-y-max", str(int(SPIKE_VALUE)))
    low, high = (int(v) for v in chart.get_attribute("data-range").split("-"))
    assert 550_000 < low < SPIKE_STEP < high < 750_000
    # the drawn x-range is the zoomed one (M4 keeps each range's first and last point)
    expect(plot).to_have_attribute("data-x-min", str(low))
    expect(plot).to_have_attribute("data-x-max", str(high))
    assert len(requests) == 2 and f'"min_step":{low}' in requests[1]

    # a narrow drag: a small range comes back at full resolution (every point, no sampling)
    box = plot.locator(".u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.50, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.505, y, steps=4)
    page.mouse.up()
    expect(chart).not_to_have_attribute("data-range", f"{low}-{high}")
    narrow_low, narrow_high = (int(v) for v in chart.get_attribute("data-range").split("-"))
    expect(plot).to_have_attribute("data-points", str(narrow_high - narrow_low + 1))
    assert len(requests) == 3

    # double-click: back to the whole history
    plot.locator(".u-over").dblclick()
    expect(chart).to_have_attribute("data-range", "")
    expect(plot).to_have_attribute("data-x-max", "999999")
    assert len(requests) == 4

    # log scale toggles, and lives in the URL
    page.get_by_label("Log scale").check()
    expect(plot).to_have_attribute("data-log", "1")
    assert "log=1" in page.url
    page.reload()
    expect(page.get_by_test_id("plot-loss")).to_have_attribute("data-log", "1")
    page.get_by_label("Log scale").uncheck()
    expect(page.get_by_test_id("plot-loss")).to_have_attribute("data-log", "0")


def test_editing_tags_persists(ui_server: UiServer, page: Any, tmp_path: Path) -> None:
    tracker = ui_server.tracker
    run_id = tracker.create_run(experiment="e", name="tagged", tags={"team": "risk"}).info.run_id
    ui_server.open(page, f"/runs/{run_id}")
    tags = page.get_by_test_id("tags")
    expect(tags.locator("tr", has_text="team")).to_contain_text("risk")
    tags.get_by_placeholder("tag key").fill("stage")
    tags.get_by_placeholder("value").fill("candidate")
    tags.get_by_role("button", name="Set tag").click()
    expect(tags.locator("tr", has_text="stage")).to_contain_text("candidate")
    assert tracker.get_run(run_id).data.tags["stage"] == "candidate"

    tags.get_by_role("button", name="Delete").and_(tags.get_by_title("delete team")).click()
    expect(tags.locator("tr", has_text="team")).to_have_count(0)
    assert "team" not in tracker.get_run(run_id).data.tags
    page.reload()
    expect(page.get_by_test_id("tags").locator("tr", has_text="stage")).to_contain_text("candidate")


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A server with tokens, and a run on its store; (url, run id)."""
    store = f"sqlite:///{tmp_path}/t.db"
    tracker = mlcore.Tracker(store, artifact_uri=str(tmp_path / "a"))
    run_id = tracker.create_run(experiment="e", name="guarded").info.run_id
    server = Server.tracking(
        store=store, artifacts=str(tmp_path / "a"), tokens={"reader": "read", "writer": "write"}
    )
    url = server.start(port=0)
    yield url, run_id
    server.stop()
    tracker.close()


def test_a_read_token_sees_the_servers_403_when_editing_a_tag(
    read_only: tuple[str, str], page: Any
) -> None:
    url, run_id = read_only
    page.context.add_init_script("localStorage.setItem('mlcore.token', 'reader')")
    page.goto(f"{url}/runs/{run_id}")
    tags = page.get_by_test_id("tags")
    tags.get_by_placeholder("tag key").fill("stage")
    tags.get_by_role("button", name="Set tag").click()
    expect(tags.get_by_role("alert")).to_contain_text("may only read")
    expect(tags.locator("tr", has_text="stage")).to_have_count(0)


def test_an_unknown_run_shows_not_found(ui_server: UiServer, page: Any) -> None:
    ui_server.open(page, "/runs/0123456789abcdef0123456789abcdef")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    assert "Traceback" not in page.content()
