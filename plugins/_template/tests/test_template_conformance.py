"""The template passes mlcore's artifact-store conformance suite and works end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlcore_template import ExampleArtifactStore

import mlcore
from mlcore.artifacts import ArtifactStore, resolve_artifact_store
from mlcore.testing import ArtifactStoreConformance


class TestExampleArtifactStore(ArtifactStoreConformance):
    @pytest.fixture
    def artifact_store(self, tmp_path: Path) -> ArtifactStore:
        return ExampleArtifactStore(f"example://{tmp_path}/root")


def test_found_through_its_entry_point(tmp_path: Path) -> None:
    store = resolve_artifact_store(f"example://{tmp_path}")
    assert isinstance(store, ExampleArtifactStore)


def test_a_tracker_logs_through_the_plugin(tmp_path: Path) -> None:
    tracker = mlcore.Tracker(f"sqlite:///{tmp_path}/m.db", artifact_uri=f"example://{tmp_path}/a")
    run = tracker.create_run("demo")
    info = tracker.log_text(run.info.run_id, "hello", "notes/hi.txt")
    assert info.sha256 is not None
    stored = tmp_path / "a" / run.info.experiment_id / run.info.run_id / "notes" / "hi.txt"
    assert stored.read_text() == "hello"
    assert tracker.list_artifacts(run.info.run_id, "notes")[0].sha256 == info.sha256
    tracker.close()


def test_bad_uri_is_a_clear_error() -> None:
    with pytest.raises(mlcore.InvalidInputError, match="example:///"):
        ExampleArtifactStore("example://relative")
