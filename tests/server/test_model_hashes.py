"""A real ``mlcore server`` records hashes of the bytes it stores, never a client's claim."""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mlcore import Tracker
from mlcore._http import TOKEN_ENV
from mlcore.errors import IntegrityError, InvalidInputError
from mlcore.flavors import MANIFEST
from mlcore.server import Server
from mlcore.types import FileInfo
from tests.model_attacks import Malicious, double

WRITE_TOKEN = "write-token-" + "w" * 20


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("hashes")
    srv = Server.tracking(
        store=f"sqlite:///{home}/m.db",
        artifacts=str(home / "art"),
        tokens={WRITE_TOKEN: "write"},
    )
    yield srv.start()
    srv.stop()


@pytest.fixture
def tracker(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tracker]:
    monkeypatch.setenv(TOKEN_ENV, WRITE_TOKEN)
    monkeypatch.delenv("MLCORE_TRUST_UNRECORDED_MODELS", raising=False)
    tracker = Tracker(url)
    yield tracker
    tracker.close()


def _logged(tracker: Tracker) -> tuple[str, bytes]:
    run_id = tracker.create_run("hashes").info.run_id
    tracker.log_model(run_id, double, "model", flavor="python")
    manifest = tracker.artifact_store(run_id).get_bytes(f"model/{MANIFEST}")
    return run_id, manifest


def test_a_forged_sha256_does_not_change_the_records(url: str, tracker: Tracker) -> None:
    run_id, _ = _logged(tracker)
    before = tracker.store.artifact_records(run_id)
    stored = tracker.artifact_store(run_id).get_bytes("model/python_model.pkl")
    assert before["model/python_model.pkl"].sha256 == hashlib.sha256(stored).hexdigest()
    forged = {
        "run_id": run_id,
        "files": [
            {"path": "model/python_model.pkl", "is_dir": False, "size": 3, "sha256": "0" * 64},
            {"path": f"model/{MANIFEST}", "is_dir": False, "size": 3, "sha256": "1" * 64},
        ],
    }
    answer = httpx.post(
        f"{url}/api/v1/record-artifacts",
        json=forged,
        headers={"Authorization": f"Bearer {WRITE_TOKEN}"},
    )
    assert answer.status_code == 409, answer.text
    assert answer.json()["error_code"] == "INTEGRITY_ERROR"
    with pytest.raises(IntegrityError, match="does not match the bytes"):
        tracker.store.record_artifacts(
            run_id, [FileInfo(path="model/python_model.pkl", size=3, sha256="0" * 64)]
        )
    # a file the server does not store cannot be recorded at all
    with pytest.raises(InvalidInputError, match="not stored"):
        tracker.store.record_artifacts(
            run_id, [FileInfo(path="model/other.pkl", size=3, sha256="2" * 64)]
        )
    assert tracker.store.artifact_records(run_id) == before


def test_a_record_follows_the_bytes_uploaded_through_the_server(tracker: Tracker) -> None:
    run_id = tracker.create_run("hashes").info.run_id
    artifacts = tracker.artifact_store(run_id)
    artifacts.put_bytes(b"first", "notes.txt")
    # no sha256 sent, or a wrong size: the server computes both from what it stores
    tracker.store.record_artifacts(run_id, [FileInfo(path="notes.txt", size=999)])
    record = tracker.store.artifact_records(run_id)["notes.txt"]
    assert (record.sha256, record.size) == (hashlib.sha256(b"first").hexdigest(), 5)
    artifacts.put_bytes(b"second!", "notes.txt")  # re-uploaded through the server
    tracker.store.record_artifacts(
        run_id, [FileInfo(path="notes.txt", size=7, sha256=hashlib.sha256(b"second!").hexdigest())]
    )
    record = tracker.store.artifact_records(run_id)["notes.txt"]
    assert (record.sha256, record.size) == (hashlib.sha256(b"second!").hexdigest(), 7)


def test_a_forged_manifest_sha256_is_replaced_by_the_stored_one(
    tracker: Tracker, tmp_path: Path
) -> None:
    run_id, manifest = _logged(tracker)
    true = hashlib.sha256(manifest).hexdigest()
    version = tracker.store.create_model_version(
        "hashed", f"runs:/{run_id}/model", run_id=run_id, manifest_sha256="f" * 64
    )
    assert version.manifest_sha256 == true
    assert tracker.store.get_model_version("hashed", version.version).manifest_sha256 == true
    assert tracker.load_model(f"models:/hashed/{version.version}").predict([2]) == [4]

    # an attacker rewrites the model file and its manifest through the server, records the
    # new bytes (as a re-upload may) and registers them with a manifest hash of its own
    marker = tmp_path / "pwned"
    evil = pickle.dumps(Malicious(str(marker)))
    genuine = hashlib.sha256(tracker.artifact_store(run_id).get_bytes("model/python_model.pkl"))
    forged_manifest = manifest.replace(
        genuine.hexdigest().encode(), hashlib.sha256(evil).hexdigest().encode()
    )
    artifacts = tracker.artifact_store(run_id)
    artifacts.put_bytes(evil, "model/python_model.pkl")
    artifacts.put_bytes(forged_manifest, f"model/{MANIFEST}")
    # the version pinned at registration still holds: the load is refused, nothing runs
    with pytest.raises(IntegrityError, match="sha256"):
        tracker.load_model(f"models:/hashed/{version.version}")
    assert not marker.exists()
    # a new version pinned to a forged hash gets the hash of the stored manifest instead
    again = tracker.store.create_model_version(
        "hashed", f"runs:/{run_id}/model", manifest_sha256=true
    )
    assert again.manifest_sha256 == hashlib.sha256(forged_manifest).hexdigest()


def test_a_version_without_a_stored_manifest_records_no_hash(tracker: Tracker) -> None:
    run_id = tracker.create_run("hashes").info.run_id
    version = tracker.store.create_model_version(
        "empty", f"runs:/{run_id}/nothing", manifest_sha256="f" * 64
    )
    assert version.manifest_sha256 is None
    with pytest.raises(InvalidInputError, match="source"):  # refused before any lookup
        tracker.store.create_model_version("empty", "models:/empty/latest")


def test_a_pipeline_output_directory_is_recorded_with_its_tree_digest(
    tracker: Tracker, tmp_path: Path
) -> None:
    from mlcore.pipeline.worker import _digest

    output = tmp_path / "out"
    (output / "b" / "c").mkdir(parents=True)
    (output / "z.txt").write_bytes(b"z")
    (output / "b" / "a.txt").write_bytes(b"a")
    (output / "b" / "c" / "d.bin").write_bytes(b"\x00" * 10)
    run_id = tracker.create_run("hashes").info.run_id
    tracker.artifact_store(run_id).put_dir(str(output), "outputs/out")
    digest, size = _digest(str(output))
    tracker.store.record_artifacts(
        run_id, [FileInfo(path="outputs/out", is_dir=False, size=size, sha256=digest)]
    )
    record = tracker.store.artifact_records(run_id)["outputs/out"]
    assert (record.sha256, record.size) == (digest, size)
