"""HttpStore passes the store, registry and artifact conformance suites against a real
``mlcore server`` (uvicorn on loopback, SQLite and local files behind it)."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlcore.artifacts import ArtifactStore, resolve_artifact_store
from mlcore.artifacts.http import HttpArtifactStore
from mlcore.server import Server
from mlcore.stores import MetadataStore, resolve_store
from mlcore.stores.artifact_versions_api import content_path
from mlcore.stores.http import HttpStore
from mlcore.testing import ArtifactStoreConformance, StoreConformance
from mlcore.types import ArtifactFile, FileInfo, ModelStage


def _stored(store: MetadataStore, run_id: str, path: str, data: bytes) -> FileInfo:
    """``data`` uploaded to the run's artifacts through the server, as a record of it."""
    root = store.get_run(run_id).info.artifact_uri
    resolve_artifact_store(root).put_bytes(data, path)
    return FileInfo(path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest())


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

    def stored_file(self, store: MetadataStore, path: str, data: bytes) -> ArtifactFile:
        """The server records an artifact version's files from the bytes it stores: upload."""
        digest = hashlib.sha256(data).hexdigest()
        resolve_artifact_store(store.default_artifact_root).put_bytes(data, content_path(digest))
        return ArtifactFile(path=path, sha256=digest, size=len(data))

    # The server records hashes of the bytes it stores (tests/server/test_model_hashes.py), so
    # these two suite tests run here on uploaded files instead of made-up hashes.
    def test_artifact_records(self, store: MetadataStore, experiment_id: str) -> None:
        run_id = store.create_run(experiment_id, name="run", start_time=0).info.run_id
        files = [
            _stored(store, run_id, path, path.encode())
            for path in ("model/model.pkl", "model/MLmodel", "model_card.md")
        ]
        store.record_artifacts(run_id, files)
        assert sorted(store.artifact_records(run_id, "model")) == [
            "model/MLmodel",
            "model/model.pkl",
        ]
        assert len(store.artifact_records(run_id)) == 3
        card = store.artifact_records(run_id, "model_card.md")["model_card.md"]
        assert card.sha256 == hashlib.sha256(b"model_card.md").hexdigest()
        # LIKE wildcards in a prefix are literal characters
        store.record_artifacts(
            run_id,
            [_stored(store, run_id, p, b"x") for p in ("a_b/x", "aXb/y", "100%/z", "1000/w")],
        )
        assert list(store.artifact_records(run_id, "a_b")) == ["a_b/x"]
        assert list(store.artifact_records(run_id, "100%")) == ["100%/z"]

    def test_version_fields(self, store: MetadataStore) -> None:
        experiment = store.create_experiment("registry").experiment_id
        started = int(time.time() * 1000)
        run_id = store.create_run(experiment, name="r", start_time=started).info.run_id
        manifest = _stored(store, run_id, "model/mlcore-model.yaml", b"flavor: python\n")
        version = store.create_model_version(
            "m",
            f"runs:/{run_id}/model",
            run_id=run_id,
            tags={"k": "v"},
            description="first",
            manifest_sha256="f" * 64,  # not what is stored: the server records the truth
            user="ana",
        )
        fetched = store.get_model_version("m", 1)
        assert fetched == version
        assert (fetched.source, fetched.run_id, fetched.tags) == (
            f"runs:/{run_id}/model",
            run_id,
            {"k": "v"},
        )
        assert (fetched.description, fetched.manifest_sha256, fetched.user) == (
            "first",
            manifest.sha256,
            "ana",
        )
        assert fetched.stage is ModelStage.NONE
        assert fetched.status.value == "READY"
        assert store.model_versions_of_run(run_id) == [fetched]
        store.update_model_version("m", 1, description="better")
        store.set_model_version_tag("m", 1, "k", "w")
        assert store.get_model_version("m", "1").description == "better"
        assert store.get_model_version("m", 1).tags == {"k": "w"}
        store.delete_model_version_tag("m", 1, "k")
        assert store.get_model_version("m", 1).tags == {}


class TestHttpArtifactStore(ArtifactStoreConformance):
    @pytest.fixture
    def artifact_store(self, server_url: str) -> ArtifactStore:
        store = resolve_artifact_store(
            f"{server_url}/api/v1/artifact-files/conformance-{uuid.uuid4().hex[:8]}"
        )
        assert isinstance(store, HttpArtifactStore)
        return store
