"""Browser tests of the web UI: Debian's Chromium driven by Playwright (test-infra §6).

``ui_server`` serves a fresh store with the UI (a real ``mlcore server`` app on loopback);
``page`` is a new Chromium tab. The bundle must be built (``scripts/build-ui.sh``); without it,
or without Chromium, the tests skip — unless ``MLCORE_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import missing_service

CHROMIUM = os.environ.get("MLCORE_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
#: screenshots of each page land here (kept by CI as artifacts; docs/ui.md shows some)
SHOTS = Path(os.environ.get("MLCORE_UI_SCREENSHOTS", "/tmp/mlcore-ui-screenshots"))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from mlcore.ui import is_built

    if not is_built():
        missing_service("the UI bundle is not built (bash scripts/build-ui.sh)")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing_service(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_service("playwright is not installed")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.set_default_timeout(15_000)
    yield tab
    context.close()
    assert not errors, f"the page threw: {errors}"


@dataclass
class UiServer:
    url: str
    store: str
    tracker: Any

    def open(self, page: Any, path: str) -> Any:
        page.goto(self.url + path)
        return page


@pytest.fixture
def ui_server(tmp_path: Path) -> Iterator[UiServer]:
    """A tracking server (with the UI) over a fresh SQLite store, and a Tracker writing to the
    same store directly (seeding data as a user's training script would)."""
    import mlcore
    from mlcore.server import Server

    store = f"sqlite:///{tmp_path}/ui.db"
    tracker = mlcore.Tracker(store, artifact_uri=str(tmp_path / "artifacts"))
    server = Server.tracking(store=store, artifacts=str(tmp_path / "artifacts"))
    url = server.start(port=0)
    try:
        yield UiServer(url=url, store=store, tracker=tracker)
    finally:
        server.stop()
        tracker.close()


def screenshot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)
