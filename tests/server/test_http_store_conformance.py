"""HttpStore passes the store, registry and artifact conformance suites against a real
``mlcore server`` (uvicorn on loopback, SQLite and local files behind it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlcore.artifacts import ArtifactStore, resolve_artifact_store
from mlcore.artifacts.http import HttpArtifactStore
from mlcore.server import Server
from mlcore.stores import MetadataStore, resolve_store
from mlcore.stores.http import HttpStore
from mlcore.testing import ArtifactStoreConformance, StoreConformance


class TestHttpStore(StoreConformance):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[MetadataStore]:
        # a fresh server per test: the suites expect an empty store
        srv = Server.tracking(store=f"sqlite:///{tmp_path}/m.db", artifacts=str(tmp_path / "art"))
        url = srv.start()
        store = resolve_store(url)
        assert isinstance(store, HttpStore)
        yield store
        store.close()
        srv.stop()


class TestHttpArtifactStore(ArtifactStoreConformance):
    @pytest.fixture
    def artifact_store(self, server_url: str) -> ArtifactStore:
        store = resolve_artifact_store(
            f"{server_url}/api/v1/artifact-files/conformance-{uuid.uuid4().hex[:8]}"
        )
        assert isinstance(store, HttpArtifactStore)
        return store
