"""mlcore-gcs against a real GCS JSON API (gcp-storage-emulator on loopback)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from mlcore_gcs import GcsArtifactStore

import mlcore
from conftest import free_port, raw_fs, start_emulator
from mlcore import plugins
from mlcore.artifacts import resolve_artifact_store
from mlcore.errors import InvalidInputError, NotFoundError, StoreError
from mlcore.testing import ArtifactStoreConformance


class TestGcsConformance(ArtifactStoreConformance):
    @pytest.fixture
    def artifact_store(self, gcs_server: str, bucket: str) -> GcsArtifactStore:
        return GcsArtifactStore(f"gs://{bucket}/root/prefix?endpoint_url={gcs_server}")


def test_entry_point_and_remembered_options(gcs_server: str, bucket: str) -> None:
    store = resolve_artifact_store(f"gs://{bucket}/exp?endpoint_url={gcs_server}&part_size_mb=8")
    assert isinstance(store, GcsArtifactStore)
    assert store.root_uri == f"gs://{bucket}/exp"
    store.put_bytes(b"abc", "a.txt")
    assert plugins.load("mlcore.artifacts", "gcs") is GcsArtifactStore
    assert resolve_artifact_store(f"gs://{bucket}/exp").get_bytes("a.txt") == b"abc"
    assert raw_fs(gcs_server).cat(f"{bucket}/exp/a.txt") == b"abc"


def test_tracking_end_to_end_on_gcs(gcs_server: str, bucket: str, tmp_path: Path) -> None:
    tracker = mlcore.Tracker(
        f"sqlite:///{tmp_path}/m.db", artifact_uri=f"gs://{bucket}/ml?endpoint_url={gcs_server}"
    )
    run = tracker.create_run(tracker.create_experiment("gcs-exp"))
    tracker.log_dict(run.info.run_id, {"lr": 0.1}, "config.json")
    info = tracker.get_run(run.info.run_id).info
    assert info.artifact_uri.startswith(f"gs://{bucket}/ml/") and "?" not in info.artifact_uri
    target = tracker.download_artifacts(run.info.run_id, "config.json", str(tmp_path / "dl"))
    assert json.loads(Path(target).read_text()) == {"lr": 0.1}


def test_emulator_from_the_standard_environment_variable(
    gcs_server: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_server)
    store = GcsArtifactStore(f"gs://{bucket}/env")
    store.put_bytes(b"via env", "f.txt")
    assert raw_fs(gcs_server).cat(f"{bucket}/env/f.txt") == b"via env"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("token=ya29.secret-access-token", "token"),
        ("private_key=abc", "private_key"),
        ("credentials_file=/no/such/key.json", "credentials_file"),
        ("zone=x", "zone"),
        ("part_size_mb=x", "part_size_mb"),
        ("retries=2", "retries"),
    ],
)
def test_bad_options_are_refused_naming_the_key(query: str, field: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        GcsArtifactStore(f"gs://some-bucket/p?{query}")
    assert err.value.field == field
    assert "secret-access-token" not in str(err.value)


def test_resumable_upload_in_parts_records_sha256(gcs_server: str, bucket: str) -> None:
    store = GcsArtifactStore(f"gs://{bucket}/big?endpoint_url={gcs_server}&part_size_mb=5")
    data = os.urandom(12 << 20)
    info = store.put_stream(io.BytesIO(data), "blob.bin")
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert store.info("blob.bin").size == len(data)
    assert store.get_bytes("blob.bin", sha256=info.sha256) == data


class _Stops(io.RawIOBase):
    def __init__(self, good: int, total: int, stop: Any) -> None:
        self.good, self.left, self.stop, self.stopped = good, total, stop, False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self.left <= 0:
            return b""
        if not self.stopped and self.left <= self.good:
            self.stopped = True
            self.stop()
        n = min(self.left, 1 << 20 if size is None or size < 0 else size)
        self.left -= n
        return b"z" * n


def test_emulator_restarted_mid_upload_fails_cleanly_and_a_retry_succeeds() -> None:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    servers = [start_emulator(port)]
    name = "mlcore-restart"
    raw_fs(endpoint).mkdir(name)
    store = GcsArtifactStore(f"gs://{name}/r?endpoint_url={endpoint}&part_size_mb=1")
    total = 6 << 20

    def restart() -> None:
        # the server goes away mid-upload and comes back half a second later, empty (in-memory):
        # gcsfs's retry reaches it, but the upload session is gone
        servers[0].stop()
        timer = threading.Timer(0.5, lambda: servers.append(start_emulator(port)))
        timer.start()

    try:
        stream = _Stops(good=3 << 20, total=total, stop=restart)
        with pytest.raises((StoreError, NotFoundError)) as err:
            store.put_stream(stream, "model.bin")
        assert stream.stopped
        assert f"gs://{name}/r" in str(err.value)
        raw_fs(endpoint).mkdir(name)
        assert not store.exists("model.bin")
        info = store.put_stream(io.BytesIO(b"z" * total), "model.bin")
        assert store.info("model.bin").size == info.size == total
    finally:
        servers[-1].stop()


def test_broken_credentials_file_is_a_clear_error_without_its_content(tmp_path: Path) -> None:
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"type": "service_account", "private_key": "SECRET-KEY-MATERIAL"}))
    with pytest.raises((StoreError, InvalidInputError)) as err:
        store = GcsArtifactStore(f"gs://some-bucket/p?credentials_file={key}")
        store.put_bytes(b"x", "f.txt")
    assert "SECRET-KEY-MATERIAL" not in str(err.value)
    assert "gs://some-bucket/p" in str(err.value)
