"""The artifacts pages: collections, a collection's versions, aliases, files (name, size,
digest) and its lineage graph — the runs that produced and used each version, linked."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

import mlcore
from tests.ui.conftest import UiServer, screenshot


def seed_artifacts(tracker: Any, tmp: Path) -> dict[str, str]:
    """``reviews`` (dataset) v0 made by ``ingest``, v1 made by ``clean`` from v0; ``train``
    uses v1 and ``audit`` uses v0."""
    ids = {}
    ingest = tracker.start_run("data", name="ingest")
    raw = tmp / "reviews.csv"
    raw.write_text("text,label\ngood,1\nbad,0\nmeh,0\n")
    draft = mlcore.Artifact("reviews", type="dataset", description="scraped")
    draft.add_file(raw)
    tracker.log_artifact(ingest.id, draft, aliases=["raw"])
    ingest.end()
    clean = tracker.start_run("data", name="clean")
    tracker.use_artifact(clean.id, "reviews:v0")
    cleaned = tmp / "clean" / "reviews.csv"
    cleaned.parent.mkdir()
    cleaned.write_text("text,label\ngood,1\nbad,0\n")
    draft = mlcore.Artifact("reviews", type="dataset")
    draft.add_file(cleaned)
    (tmp / "clean" / "README.md").write_text("# cleaned\n")
    draft.add_file(tmp / "clean" / "README.md")
    tracker.log_artifact(clean.id, draft, aliases=["prod"])
    clean.end()
    for name, ref in (("train", "reviews:prod"), ("audit", "reviews:v0")):
        run = tracker.start_run("data", name=name)
        tracker.use_artifact(run.id, ref)
        run.end()
        ids[name] = run.id
    ids.update(ingest=ingest.id, clean=clean.id)
    return ids


def test_collections_versions_files_and_lineage(
    ui_server: UiServer, page: Any, tmp_path: Path
) -> None:
    ids = seed_artifacts(ui_server.tracker, tmp_path)
    ui_server.open(page, "/")
    page.get_by_role("link", name="Artifacts").click()
    listing = page.get_by_test_id("artifacts")
    expect(listing.locator("tr", has_text="reviews")).to_contain_text("dataset")
    expect(listing.locator("tr", has_text="reviews")).to_contain_text("v1")
    screenshot(page, "artifacts")

    listing.get_by_role("link", name="reviews").click()
    page.wait_for_url("**/artifacts/reviews")
    versions = page.get_by_test_id("artifact-versions")
    v0, v1 = versions.locator("tr[data-version='0']"), versions.locator("tr[data-version='1']")
    expect(v0).to_contain_text("@raw")
    expect(v1).to_contain_text("@prod")
    expect(v1.get_by_role("link", name="clean")).to_have_attribute("href", f"/runs/{ids['clean']}")
    expect(v1.get_by_role("link", name="train")).to_be_visible()
    expect(v0.get_by_role("link", name="audit")).to_be_visible()

    # the latest version's files: names, sizes and digests
    files = page.get_by_test_id("artifact-files")
    digest = hashlib.sha256(b"# cleaned\n").hexdigest()
    expect(files.locator("tr", has_text="README.md")).to_contain_text(digest)
    expect(files.locator("tr", has_text="README.md")).to_contain_text("10 B")
    # another version's files
    v0.get_by_role("link", name="v0").click()
    page.wait_for_url("**/artifacts/reviews?version=0")
    expect(files.locator("tr", has_text="README.md")).to_have_count(0)
    expect(files.locator("tr", has_text="reviews.csv")).to_be_visible()

    # the lineage graph: every run and version a node; runs link to their pages
    graph = page.get_by_role("img", name="lineage of reviews")
    for node in ("reviews:v0", "reviews:v1", ids["ingest"], ids["clean"], ids["train"]):
        expect(graph.locator(f"[data-node='{node}']")).to_be_visible()
    assert graph.locator("path.dag-edge").count() == 5  # ingest→v0→clean→v1→train, v0→audit
    screenshot(page, "artifact")
    graph.locator(f"[data-node='{ids['train']}']").click()
    page.wait_for_url(f"**/runs/{ids['train']}")


def test_an_unknown_collection_shows_not_found(ui_server: UiServer, page: Any) -> None:
    ui_server.open(page, "/artifacts/no-such-thing")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    assert "Traceback" not in page.content()
