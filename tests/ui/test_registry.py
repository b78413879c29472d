"""The registry pages: models with their versions, aliases and stages; a user sets an alias,
moves a stage, edits tags and the description in the browser and reads them back through
mlcore's Python API; a read-scope token is refused inline and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import expect
from sklearn.linear_model import LogisticRegression

import mlcore
from mlcore.registry import Registry
from mlcore.server import Server
from tests.ui.conftest import UiServer, screenshot


def seed_models(tracker: Any) -> tuple[Registry, list[str]]:
    """``churn`` in two versions (v1 Production with alias champion, v2 Staging) from two
    real training runs; a second model ``fraud`` with one version."""
    rng = np.random.default_rng(0)
    x = rng.random((40, 3))
    y = (x[:, 0] > 0.5).astype(int)
    run_ids = []
    for c, name in ((1.0, "churn"), (0.1, "churn"), (1.0, "fraud")):
        run = tracker.start_run("registry-demo", name=f"train-{name}-C{c}")
        run.log_params({"C": c})
        tracker.log_model(run.id, LogisticRegression(C=c).fit(x, y), registered_model_name=name)
        run.end()
        run_ids.append(run.id)
    registry = Registry(tracker=tracker)
    registry.set_alias("churn", "champion", 1)
    registry.transition_stage("churn", 1, "Production")
    registry.transition_stage("churn", 2, "Staging")
    registry.update_model("churn", description="predicts who leaves")
    return registry, run_ids


def test_models_list_and_a_models_versions_with_stage_alias_and_source_run(
    ui_server: UiServer, page: Any
) -> None:
    _, run_ids = seed_models(ui_server.tracker)
    ui_server.open(page, "/")
    page.get_by_role("link", name="Models").click()
    table = page.get_by_test_id("models")
    expect(table.get_by_role("link", name="churn")).to_be_visible()
    expect(table.get_by_role("link", name="fraud")).to_be_visible()
    expect(table.locator("tr", has_text="churn")).to_contain_text("@champion → v1")
    expect(table.locator("tr", has_text="churn")).to_contain_text("Production")
    screenshot(page, "models")

    table.get_by_role("link", name="churn").click()
    page.wait_for_url("**/models/churn")
    expect(page.get_by_role("heading", name="churn")).to_be_visible()
    expect(page.get_by_text("predicts who leaves")).to_be_visible()
    versions = page.get_by_test_id("versions")
    v1 = versions.locator("tr[data-version='1']")
    v2 = versions.locator("tr[data-version='2']")
    expect(v1).to_contain_text("Production")
    expect(v1).to_contain_text("@champion")
    expect(v2).to_contain_text("Staging")
    # the source run links to the run's page
    expect(v2.get_by_role("link", name=run_ids[1][:8])).to_have_attribute(
        "href", f"/runs/{run_ids[1]}"
    )
    screenshot(page, "model")


def test_set_an_alias_move_a_stage_edit_tags_and_description_in_the_browser(
    ui_server: UiServer, page: Any
) -> None:
    registry, _ = seed_models(ui_server.tracker)
    ui_server.open(page, "/models/churn/versions/2")
    expect(page.get_by_role("heading", name="churn · version 2")).to_be_visible()

    page.get_by_label("New alias").fill("challenger")
    page.get_by_role("button", name="Set alias").click()
    expect(page.get_by_test_id("aliases").locator("[data-alias='challenger']")).to_be_visible()
    assert registry.get_model_version_by_alias("churn", "challenger").version == 2

    # moving champion here takes it from v1
    page.get_by_label("New alias").fill("champion")
    page.get_by_role("button", name="Set alias").click()
    expect(page.get_by_test_id("aliases").locator("[data-alias='champion']")).to_be_visible()
    assert registry.get_model_version_by_alias("churn", "champion").version == 2

    page.get_by_role("button", name="Remove alias challenger").click()
    expect(page.get_by_test_id("aliases").locator("[data-alias='challenger']")).to_have_count(0)
    assert "challenger" not in registry.get_version("churn", 2).aliases

    stage = page.get_by_test_id("stage")
    stage.get_by_role("combobox").select_option("Production")
    stage.get_by_role("checkbox").check()
    stage.get_by_role("button", name="Transition").click()
    expect(page.get_by_role("heading", name="churn · version 2")).to_contain_text("Production")
    assert registry.get_version("churn", 2).stage.value == "Production"
    assert registry.get_version("churn", 1).stage.value == "Archived"  # archive_existing

    page.get_by_label("Tag key").fill("validated_by")
    page.get_by_label("Tag value").fill("ana")
    page.get_by_role("button", name="Set tag").click()
    expect(page.get_by_test_id("tags").locator("tr[data-tag='validated_by']")).to_contain_text(
        "ana"
    )
    assert registry.get_version("churn", 2).tags["validated_by"] == "ana"

    page.get_by_role("button", name="Edit description").click()
    page.get_by_label("Description").fill("C=0.1, better recall")
    page.get_by_role("button", name="Save description").click()
    expect(page.get_by_text("C=0.1, better recall")).to_be_visible()
    assert registry.get_version("churn", 2).description == "C=0.1, better recall"
    screenshot(page, "model-version")


def test_unknown_models_and_versions_show_not_found(ui_server: UiServer, page: Any) -> None:
    seed_models(ui_server.tracker)
    for path in ("/models/nope", "/models/churn/versions/9", "/models/churn/versions/x"):
        ui_server.open(page, path)
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        assert "Traceback" not in page.content()


@pytest.fixture
def read_token_server(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    store = f"sqlite:///{tmp_path}/t.db"
    tracker = mlcore.Tracker(store, artifact_uri=str(tmp_path / "a"))
    server = Server.tracking(
        store=store, artifacts=str(tmp_path / "a"), tokens={"reader-token": "read"}
    )
    url = server.start(port=0)
    yield url, tracker
    server.stop()
    tracker.close()


def test_a_read_token_sees_the_servers_refusal_inline_and_nothing_changes(
    read_token_server: tuple[str, Any], page: Any
) -> None:
    url, tracker = read_token_server
    registry, _ = seed_models(tracker)
    page.add_init_script("window.localStorage.setItem('mlcore.token', 'reader-token')")
    page.goto(url + "/models/churn/versions/2")
    expect(page.get_by_role("heading", name="churn · version 2")).to_be_visible()
    page.get_by_label("New alias").fill("challenger")
    page.get_by_role("button", name="Set alias").click()
    expect(page.get_by_test_id("aliases").get_by_role("alert")).to_contain_text("Not allowed")
    stage = page.get_by_test_id("stage")
    stage.get_by_role("combobox").select_option("Archived")
    stage.get_by_role("button", name="Transition").click()
    expect(stage.get_by_role("alert")).to_be_visible()
    assert registry.get_version("churn", 2).aliases == []
    assert registry.get_version("churn", 2).stage.value == "Staging"
    assert "Traceback" not in page.content()
