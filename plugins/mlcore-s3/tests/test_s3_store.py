"""mlcore-s3 against a real S3 API (moto server on loopback)."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import uuid
from pathlib import Path

import pytest
import requests
import s3fs
from mlcore_s3 import S3ArtifactStore

import mlcore
from mlcore.artifacts import resolve_artifact_store
from mlcore.errors import IntegrityError, InvalidInputError, NotFoundError, StoreError
from mlcore.testing import ArtifactStoreConformance


class TestS3Conformance(ArtifactStoreConformance):
    @pytest.fixture
    def artifact_store(self, s3_server: str, bucket: str) -> S3ArtifactStore:
        return S3ArtifactStore(f"s3://{bucket}/root/prefix?endpoint_url={s3_server}")


def _raw(endpoint: str) -> s3fs.S3FileSystem:
    return s3fs.S3FileSystem(endpoint_url=endpoint, skip_instance_cache=True)


def test_entry_point_resolves_and_options_stay_out_of_the_location(
    s3_server: str, bucket: str
) -> None:
    store = resolve_artifact_store(f"s3://{bucket}/exp?endpoint_url={s3_server}&retries=3")
    assert isinstance(store, S3ArtifactStore)
    assert store.root_uri == f"s3://{bucket}/exp"
    store.put_bytes(b"abc", "a.txt")
    # a later store for the same bucket, without the query, reaches the same server
    again = resolve_artifact_store(f"s3://{bucket}/exp")
    assert again.get_bytes("a.txt") == b"abc"
    assert _raw(s3_server).cat(f"{bucket}/exp/a.txt") == b"abc"


def test_tracking_end_to_end_on_s3(s3_server: str, bucket: str, tmp_path: Path) -> None:
    tracker = mlcore.Tracker(
        f"sqlite:///{tmp_path}/m.db", artifact_uri=f"s3://{bucket}/mlcore?endpoint_url={s3_server}"
    )
    exp = tracker.create_experiment("s3-exp").experiment_id
    run = tracker.create_run(exp)
    local = tmp_path / "weights.bin"
    local.write_bytes(os.urandom(3 << 20))
    tracker.log_artifact(run.info.run_id, str(local), "model")
    info = tracker.get_run(run.info.run_id).info
    assert info.artifact_uri.startswith(f"s3://{bucket}/mlcore/")
    assert "?" not in info.artifact_uri and "endpoint_url" not in info.artifact_uri
    files = tracker.list_artifacts(run.info.run_id, "model")
    assert [(f.path, f.size) for f in files] == [("model/weights.bin", 3 << 20)]
    target = tracker.download_artifacts(run.info.run_id, "model", str(tmp_path / "dl"))
    assert Path(target, "weights.bin").read_bytes() == local.read_bytes()


def test_endpoint_from_the_standard_environment_variable(
    s3_server: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    store = S3ArtifactStore(f"s3://{bucket}/env")
    store.put_bytes(b"via env", "f.txt")
    assert _raw(s3_server).cat(f"{bucket}/env/f.txt") == b"via env"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("secret=abc", "secret"),
        ("aws_secret_access_key=abc", "aws_secret_access_key"),
        ("endpoint=http://x", "endpoint"),
        ("retries=-1", "retries"),
        ("anon=maybe", "anon"),
        ("addressing_style=sideways", "addressing_style"),
    ],
)
def test_bad_options_are_refused_naming_the_key(query: str, field: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        S3ArtifactStore(f"s3://some-bucket/p?{query}")
    assert err.value.field == field
    assert field in str(err.value)
    if "secret" in query:
        assert "abc" not in str(err.value)


def test_multipart_upload_streams_and_records_sha256(s3_server: str, bucket: str) -> None:
    store = S3ArtifactStore(f"s3://{bucket}/mp?endpoint_url={s3_server}&part_size_mb=5")
    data = os.urandom(17 << 20)  # four parts
    info = store.put_stream(io.BytesIO(data), "big/blob.bin")
    assert info.size == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert store.info("big/blob.bin").size == len(data)
    assert store.get_bytes("big/blob.bin", sha256=info.sha256) == data


class _Stops(io.RawIOBase):
    """Yields ``good`` bytes, then calls ``stop`` (the server goes away) and keeps yielding."""

    def __init__(self, good: int, total: int, stop: object) -> None:
        self.good, self.left, self.stop = good, total, stop
        self.stopped = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self.left <= 0:
            return b""
        if not self.stopped and self.left <= self.good:
            self.stopped = True
            self.stop()  # type: ignore[operator]
        n = min(self.left, 1 << 20 if size is None or size < 0 else size)
        self.left -= n
        return b"y" * n


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_server_stopped_mid_upload_fails_cleanly_and_a_retry_after_restart_succeeds() -> None:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    name = f"mlcore-{uuid.uuid4().hex[:12]}"
    _raw(endpoint).mkdir(name)
    store = S3ArtifactStore(f"s3://{name}/r?endpoint_url={endpoint}&part_size_mb=5&retries=1")
    total = 24 << 20
    try:
        stream = _Stops(good=12 << 20, total=total, stop=server.stop)
        with pytest.raises(StoreError) as err:
            store.put_stream(stream, "model/weights.bin")
        assert stream.stopped
        message = str(err.value)
        assert f"s3://{name}/r" in message
        assert os.environ["AWS_SECRET_ACCESS_KEY"] not in message
        # the server comes back (moto keeps its state in-process): nothing under the final name
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        assert not store.exists("model/weights.bin")
        assert not _raw(endpoint).exists(f"{name}/r/model/weights.bin")
        info = store.put_stream(io.BytesIO(b"y" * total), "model/weights.bin")
        assert info.size == total
        assert store.info("model/weights.bin").size == total
    finally:
        server.stop()


def test_wrong_credentials_give_a_clear_error_without_the_secret(
    s3_server: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_uri = f"s3://{bucket}/auth?endpoint_url={s3_server}&retries=1"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value-1234567890")
    requests.post(f"{s3_server}/moto-api/reset-auth", data=b"0", timeout=10)
    try:
        store = S3ArtifactStore(store_uri)
        with pytest.raises(StoreError) as err:
            store.put_bytes(b"x", "f.txt")
        message = str(err.value)
        assert "access denied" in message
        assert f"s3://{bucket}/auth" in message
        assert "wrong-secret-value-1234567890" not in message
        assert "AKIAWRONGWRONGWRONG1" not in message
    finally:
        requests.post(f"{s3_server}/moto-api/reset-auth", data=b"inf", timeout=10)
    monkeypatch.undo()
    assert not _raw(s3_server).exists(f"{bucket}/auth/f.txt")


def test_missing_bucket_is_a_clear_error(s3_server: str) -> None:
    store = S3ArtifactStore(
        f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/p?endpoint_url={s3_server}"
    )
    with pytest.raises(NotFoundError) as err:
        store.put_bytes(b"x", "f.txt")
    assert "bucket 'no-such-bucket" in str(err.value)
    assert "does not exist" in str(err.value)


def test_store_copy_moves_the_embedded_default_to_s3(
    s3_server: str, bucket: str, tmp_path: Path
) -> None:
    """`mlcore store copy ./.mlcore DST --artifacts s3://...`: PostgreSQL when the suite has
    one (CI), else SQLite; every file verified by sha256 on S3."""
    import sqlalchemy as sa

    from mlcore.cli import main

    home = tmp_path / "home"
    tracker = mlcore.Tracker(str(home))
    run = tracker.create_run(tracker.create_experiment("to-s3").experiment_id)
    rid = run.info.run_id
    payload = os.urandom(7 << 20)
    (tmp_path / "blob.bin").write_bytes(payload)
    tracker.log_artifact(rid, str(tmp_path / "blob.bin"), "data")
    tracker.log_metric(rid, "loss", 0.5, step=1)
    tracker.end_run(rid)
    tracker.close()

    destination = f"sqlite:///{tmp_path}/team.db"
    server_url = os.environ.get("MLCORE_TEST_POSTGRES_URL")
    admin = None
    if server_url:
        name = f"s3copy_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        destination = f"{server_url.rsplit('/', 1)[0]}/{name}"
    root = f"s3://{bucket}/team"
    try:
        code = main(
            [
                "store",
                "copy",
                str(home),
                destination,
                "--artifacts",
                f"{root}?endpoint_url={s3_server}",
            ]
        )
        assert code == 0
        team = mlcore.Tracker(destination, artifact_uri=root)
        info = team.get_run(rid).info
        assert info.artifact_uri.startswith(root + "/")
        assert team.get_run(rid).data.metrics["loss"] == 0.5
        got = team.download_artifacts(rid, "data/blob.bin", str(tmp_path / "dl"))
        assert Path(got).read_bytes() == payload
        key = info.artifact_uri.removeprefix("s3://") + "/data/blob.bin"
        assert (
            hashlib.sha256(_raw(s3_server).cat(key)).hexdigest()
            == hashlib.sha256(payload).hexdigest()
        )
        team.close()
    finally:
        if admin is not None:
            admin.dispose()


def test_large_local_files_take_the_parallel_multipart_path(
    s3_server: str, bucket: str, tmp_path: Path
) -> None:
    store = S3ArtifactStore(f"s3://{bucket}/fast?endpoint_url={s3_server}&part_size_mb=5")
    data = os.urandom(23 << 20)  # five parts, uploaded concurrently
    (tmp_path / "big.bin").write_bytes(data)
    info = store.put_file(tmp_path / "big.bin", "m/big.bin")
    assert info.size == len(data) and info.sha256 == hashlib.sha256(data).hexdigest()
    back = store.get_file("m/big.bin", tmp_path / "back.bin", sha256=info.sha256)
    assert back.sha256 == info.sha256 and (tmp_path / "back.bin").read_bytes() == data
    _raw(s3_server).pipe(f"{bucket}/fast/m/big.bin", b"tampered")
    with pytest.raises(IntegrityError):
        store.get_file("m/big.bin", tmp_path / "bad.bin", sha256=info.sha256)
    assert not (tmp_path / "bad.bin").exists()
