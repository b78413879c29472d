"""``ArtifactVersionStoreConformance``: versioned artifacts of a store
(``ArtifactVersionStore``): content addressing, aliases, lineage links.

Mix it into a test class with a ``store`` fixture (fresh and empty), like
:class:`~mlcore.testing.TrackingStoreConformance`. The store must implement
``TrackingStore`` too: the suite creates producer and consumer runs with
``create_experiment``, ``get_experiment_by_name`` and ``create_run``. A store that records
only the bytes it stores (a tracking server) overrides :meth:`stored_file` to upload them.
"""

from __future__ import annotations

import hashlib

import pytest

from mlcore.errors import InvalidInputError, NotFoundError
from mlcore.stores import MetadataStore
from mlcore.stores.artifact_versions_api import manifest_digest
from mlcore.testing.tracking_conformance import source_run as _run
from mlcore.types import ArtifactFile

__all__ = ["ArtifactVersionStoreConformance"]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class ArtifactVersionStoreConformance:
    """Versioned-artifact behaviour every store with artifact versions shares."""

    def stored_file(self, store: MetadataStore, path: str, data: bytes) -> ArtifactFile:
        """A file of a version with ``data`` as its content (by default only hashed)."""
        return ArtifactFile(path=path, sha256=hashlib.sha256(data).hexdigest(), size=len(data))

    def test_artifact_versions_are_content_addressed(self, store: MetadataStore) -> None:
        producer = _run(store, "producer")
        files = [self.stored_file(store, "data.csv", b"x")]
        first, created = store.create_artifact_version(
            "ds",
            "dataset",
            digest=manifest_digest(files),
            files=files,
            producer_run_id=producer,
            metadata={"rows": 1},
            description="d",
            aliases=["best"],
        )
        assert created
        assert (first.version, first.qualified_name, first.aliases) == (
            0,
            "ds:v0",
            ["latest", "best"],
        )
        assert first.files == files
        assert (first.metadata, first.size, first.producer_run_id) == ({"rows": 1}, 1, producer)
        again, created = store.create_artifact_version(
            "ds", "dataset", digest=manifest_digest(files), files=files, producer_run_id=_run(store)
        )
        assert not created
        assert again.version == 0
        changed = [self.stored_file(store, "data.csv", b"y")]
        second, created = store.create_artifact_version(
            "ds", "dataset", digest=manifest_digest(changed), files=changed
        )
        assert created
        assert second.version == 1
        assert store.get_artifact_version("ds:latest").version == 1
        assert store.get_artifact_version("ds").version == 1
        assert store.get_artifact_version("ds:v0").aliases == ["best"]
        assert store.get_artifact_version("ds:best").version == 0
        assert [v.version for v in store.list_artifact_versions("ds")] == [0, 1]
        store.set_artifact_alias("ds", "best", 1)
        assert store.get_artifact_version("ds:best").version == 1
        other = [self.stored_file(store, "data.csv", b"z")]
        with pytest.raises(InvalidInputError, match="type"):
            store.create_artifact_version("ds", "model", digest=manifest_digest(other), files=other)

    def test_artifact_lineage_links(self, store: MetadataStore) -> None:
        producer, consumer = _run(store, "p"), _run(store, "c")
        files = [self.stored_file(store, "f", b"f")]
        store.create_artifact_version(
            "ds", "dataset", digest=manifest_digest(files), files=files, producer_run_id=producer
        )
        used = store.record_artifact_use("ds:latest", consumer)
        assert used.version == 0
        store.record_artifact_use("ds:v0", consumer)  # idempotent
        assert store.artifact_runs("ds", 0) == ([producer], [consumer])
        produced, consumed = store.artifacts_of_run(producer)
        assert ([v.qualified_name for v in produced], consumed) == (["ds:v0"], [])
        produced, consumed = store.artifacts_of_run(consumer)
        assert (produced, [v.qualified_name for v in consumed]) == ([], ["ds:v0"])
        assert [v.name for v in store.list_artifact_collections("dataset")] == ["ds"]
        assert store.list_artifact_collections("model") == []

    def test_unknown_and_bad_artifact_refs(self, store: MetadataStore) -> None:
        with pytest.raises(NotFoundError):
            store.get_artifact_version("missing:v0")
        files = [self.stored_file(store, "f", b"f")]
        store.create_artifact_version("ds", "dataset", digest=manifest_digest(files), files=files)
        for missing in ("ds:v5", "ds:nosuchalias"):
            with pytest.raises(NotFoundError):
                store.get_artifact_version(missing)
        for bad in ("", "bad name:v0", "ds:v0:x", "../x"):
            with pytest.raises(InvalidInputError):
                store.get_artifact_version(bad)
        with pytest.raises(InvalidInputError):
            store.create_artifact_version(
                "ds",
                "dataset",
                digest=_digest("b"),
                files=[ArtifactFile(path="../escape", sha256=_digest("f"), size=1)],
            )
        assert [v.version for v in store.list_artifact_versions("ds")] == [0]
