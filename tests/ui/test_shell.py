"""The UI's shell: served at `/` by the tracking server, deep links, not-found, safety headers,
tokens."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from mlcore.server import Server
from tests.ui.conftest import UiServer, screenshot


def test_experiments_page_lists_experiments_and_filters_by_name(
    ui_server: UiServer, page: Any
) -> None:
    for name in ("credit-scoring", "churn", "credit-limits"):
        ui_server.tracker.create_experiment(name)
    ui_server.open(page, "/")
    table = page.get_by_test_id("experiments")
    for name in ("credit-scoring", "churn", "credit-limits"):
        expect(table.get_by_role("link", name=name)).to_be_visible()
    screenshot(page, "experiments")

    page.get_by_placeholder("Search experiments by name").fill("credit")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/?q=credit")
    expect(table.get_by_role("link", name="churn")).to_have_count(0)
    expect(table.get_by_role("link", name="credit-limits")).to_be_visible()

    page.reload()  # the view lives in the URL: a reload shows the same filtered list
    expect(page.get_by_placeholder("Search experiments by name")).to_have_value("credit")
    expect(
        page.get_by_test_id("experiments").get_by_role("link", name="credit-limits")
    ).to_be_visible()
    expect(page.get_by_test_id("experiments").get_by_role("link", name="churn")).to_have_count(0)


def test_an_unknown_page_shows_not_found_without_a_stack_trace(
    ui_server: UiServer, page: Any
) -> None:
    ui_server.open(page, "/sweeps/no-such-sweep/extra/parts")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    assert "Traceback" not in page.content()


def test_pages_carry_a_policy_that_runs_only_the_uis_own_scripts(ui_server: UiServer) -> None:
    for path in ("/", "/experiments/1", "/runs/abc", "/compare?runs=a,b"):
        answer = httpx.get(ui_server.url + path)
        assert answer.status_code == 200, path
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["content-type"].startswith("text/html")
    # the API is not swallowed by the pages: an unknown API path is still a JSON 404
    assert httpx.post(ui_server.url + "/api/v1/nope", json={}).status_code == 404
    # an asset name cannot step out of the bundle
    assert httpx.get(ui_server.url + "/assets/..%2F..%2F__init__.py").status_code == 404


@pytest.fixture
def token_server(tmp_path: Any) -> Any:
    server = Server.tracking(
        store=f"sqlite:///{tmp_path}/t.db",
        artifacts=str(tmp_path / "a"),
        tokens={"reader-token": "read", "writer-token": "write"},
    )
    url = server.start(port=0)
    yield url
    server.stop()


def test_with_tokens_the_ui_asks_for_one_and_sends_it_as_a_header(
    token_server: str, page: Any
) -> None:
    seen: list[str | None] = []
    page.on(
        "request",
        lambda r: seen.append(r.headers.get("authorization")) if "/api/v1/" in r.url else None,
    )
    page.goto(token_server + "/")  # the shell needs no token; its first API call gets 401
    prompt = page.get_by_label("This server needs a token", exact=False)
    prompt.fill("reader-token")
    page.get_by_role("button", name="Use token").click()
    page.get_by_test_id("experiments").wait_for()
    assert "Bearer reader-token" in seen
    assert page.context.cookies() == []  # never a cookie: another site cannot ride on it
