"""A real ``mlcore server`` records an artifact version's files from the bytes it stores,
never from a client's claim (``create-artifact-version``)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlcore import Artifact, Tracker
from mlcore.artifacts import resolve_artifact_store
from mlcore.errors import InvalidInputError
from mlcore.stores.artifact_versions_api import content_path, manifest_digest
from mlcore.types import ArtifactFile


@pytest.fixture
def tracker(server_url: str) -> Iterator[Tracker]:
    tracker = Tracker(server_url)
    yield tracker
    tracker.close()


def _version(tracker: Tracker, name: str, files: list[ArtifactFile]) -> None:
    tracker.store.create_artifact_version(  # type: ignore[attr-defined]
        name, "dataset", digest=manifest_digest(files), files=files
    )


def _no_versions(tracker: Tracker, name: str) -> bool:
    return name not in [v.name for v in tracker.store.list_artifact_collections()]  # type: ignore[attr-defined]


def test_a_version_is_logged_and_downloaded_through_the_server(
    tracker: Tracker, tmp_path: Path
) -> None:
    data = tmp_path / "d.csv"
    data.write_bytes(b"a,b\n1,2\n")
    with tracker.start_run("avh") as run:
        artifact = Artifact("honest", "dataset")
        artifact.add_file(data)
        run.log_artifact(artifact)
    logged = tracker.artifact("honest:v0")
    assert logged.files[0].sha256 == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert logged.files[0].size == 8
    assert (Path(logged.download(tmp_path / "out")) / "d.csv").read_bytes() == b"a,b\n1,2\n"


def test_a_hash_of_bytes_not_stored_is_refused(tracker: Tracker) -> None:
    files = [ArtifactFile(path="d.csv", sha256=hashlib.sha256(b"never sent").hexdigest(), size=9)]
    with pytest.raises(InvalidInputError, match="not stored"):
        _version(tracker, "unsent", files)
    assert _no_versions(tracker, "unsent")


def test_bytes_stored_under_another_hash_are_refused(tracker: Tracker) -> None:
    claimed = hashlib.sha256(b"what the client claims").hexdigest()
    root = resolve_artifact_store(tracker.store.default_artifact_root)
    root.put_bytes(b"a swapped pickle", content_path(claimed))  # any client may PUT a path
    files = [ArtifactFile(path="model.pkl", sha256=claimed, size=22)]
    with pytest.raises(InvalidInputError, match="stored bytes"):
        _version(tracker, "swapped", files)
    assert _no_versions(tracker, "swapped")


def test_a_wrong_size_or_digest_is_refused(tracker: Tracker) -> None:
    digest = hashlib.sha256(b"12345").hexdigest()
    resolve_artifact_store(tracker.store.default_artifact_root).put_bytes(
        b"12345", content_path(digest)
    )
    wrong_size = [ArtifactFile(path="f", sha256=digest, size=10**9)]
    with pytest.raises(InvalidInputError, match="size"):
        _version(tracker, "sized", wrong_size)
    right = [ArtifactFile(path="f", sha256=digest, size=5)]
    with pytest.raises(InvalidInputError, match="digest"):
        tracker.store.create_artifact_version(  # type: ignore[attr-defined]
            "sized", "dataset", digest="f" * 64, files=right
        )
    assert _no_versions(tracker, "sized")
    _version(tracker, "sized", right)
    assert tracker.artifact("sized:v0").files == right
