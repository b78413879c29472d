"""The built-in artifact stores run the ArtifactStoreConformance suite."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from mlcore.artifacts import ArtifactStore, resolve_artifact_store
from mlcore.artifacts.local import LocalArtifactStore
from mlcore.artifacts.memory import MemoryArtifactStore
from mlcore.testing import ArtifactStoreConformance
from mlcore.uris import path_to_file_uri


class TestLocalArtifactStore(ArtifactStoreConformance):
    @pytest.fixture
    def artifact_store(self, tmp_path: Path) -> ArtifactStore:
        store = resolve_artifact_store(path_to_file_uri(tmp_path / "artifacts"))
        assert isinstance(store, LocalArtifactStore)
        return store


class TestMemoryArtifactStore(ArtifactStoreConformance):
    @pytest.fixture
    def artifact_store(self) -> ArtifactStore:
        store = resolve_artifact_store(f"memory://conformance-{uuid.uuid4().hex}/root")
        assert isinstance(store, MemoryArtifactStore)
        return store
