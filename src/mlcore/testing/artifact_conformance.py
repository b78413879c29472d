"""``ArtifactStoreConformance``: what every ``ArtifactStore`` must do, as pytest tests.

Mix it into a test class that provides an ``artifact_store`` fixture returning a store rooted
at a fresh, empty location::

    class TestMyArtifacts(ArtifactStoreConformance):
        @pytest.fixture
        def artifact_store(self, tmp_path):
            return MyArtifactStore(f"mys://{tmp_path}")
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from mlcore.artifacts.base import ArtifactStore
from mlcore.errors import IntegrityError, InvalidInputError, NotFoundError

__all__ = ["TRAVERSAL_PATHS", "ArtifactStoreConformance"]

#: Path attacks from MLflow's CVE history (and friends); every one must be refused.
TRAVERSAL_PATHS = [
    "../escape.txt",
    "a/../../escape.txt",
    "a/./b.txt",
    "/etc/passwd",
    "~/x.txt",
    "..%2fescape.txt",
    "%2e%2e/escape.txt",
    "%2E%2E%2Fescape.txt",
    "%252e%252e%252fescape.txt",
    "%25252e%25252e%25252fescape.txt",
    "a\\..\\escape.txt",
    "..\\escape.txt",
    "C:\\Windows\\x.txt",
    "c:/x.txt",
    "file:///etc/passwd",
    "s3://other-bucket/x",
    "http://evil/x",
    "a;b=c/x.txt",
    "x.txt;jsessionid=1",
    "nul\x00byte.txt",
    "new\nline.txt",
]


class _Exploding(io.RawIOBase):
    """A stream that yields some bytes, then fails: a client that disconnects mid-upload."""

    def __init__(self, good: int) -> None:
        self.left = good

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            raise ConnectionError("client went away")
        n = min(self.left, 65536 if size is None or size < 0 else size)
        self.left -= n
        return b"x" * n


class ArtifactStoreConformance:
    """Behaviour every artifact store shares. Needs an ``artifact_store`` fixture."""

    def test_put_and_get_bytes(self, artifact_store: ArtifactStore) -> None:
        info = artifact_store.put_bytes(b"hello", "greeting.txt")
        assert info.path == "greeting.txt"
        assert info.size == 5
        assert info.sha256 == hashlib.sha256(b"hello").hexdigest()
        assert artifact_store.get_bytes("greeting.txt") == b"hello"
        assert artifact_store.exists("greeting.txt")
        assert not artifact_store.info("greeting.txt").is_dir

    def test_nested_paths_and_listing(self, artifact_store: ArtifactStore) -> None:
        artifact_store.put_bytes(b"1", "model/weights.bin")
        artifact_store.put_bytes(b"22", "model/sub/config.json")
        artifact_store.put_bytes(b"333", "plots/roc.png")
        top = artifact_store.list()
        assert [(e.path, e.is_dir) for e in top] == [("model", True), ("plots", True)]
        model = artifact_store.list("model")
        assert [(e.path, e.is_dir) for e in model] == [
            ("model/sub", True),
            ("model/weights.bin", False),
        ]
        assert [e.path for e in artifact_store.walk()] == [
            "model/sub/config.json",
            "model/weights.bin",
            "plots/roc.png",
        ]
        assert {e.path: e.size for e in artifact_store.walk("model")} == {
            "model/sub/config.json": 2,
            "model/weights.bin": 1,
        }
        assert artifact_store.info("model").is_dir

    def test_overwrite_replaces_content(self, artifact_store: ArtifactStore) -> None:
        artifact_store.put_bytes(b"old", "f.txt")
        artifact_store.put_bytes(b"new content", "f.txt")
        assert artifact_store.get_bytes("f.txt") == b"new content"

    def test_missing_paths_are_not_found(self, artifact_store: ArtifactStore) -> None:
        with pytest.raises(NotFoundError):
            artifact_store.get_bytes("nope.txt")
        with pytest.raises(NotFoundError):
            artifact_store.info("nope.txt")
        with pytest.raises(NotFoundError):
            artifact_store.delete("nope.txt")
        assert not artifact_store.exists("nope.txt")
        assert artifact_store.list("nope") == []

    def test_delete_file_and_tree(self, artifact_store: ArtifactStore) -> None:
        artifact_store.put_bytes(b"1", "d/a.txt")
        artifact_store.put_bytes(b"2", "d/e/b.txt")
        artifact_store.put_bytes(b"3", "keep.txt")
        artifact_store.delete("d/a.txt")
        assert [e.path for e in artifact_store.walk()] == ["d/e/b.txt", "keep.txt"]
        artifact_store.delete("d")
        assert [e.path for e in artifact_store.walk()] == ["keep.txt"]

    @pytest.mark.parametrize("path", TRAVERSAL_PATHS)
    def test_path_attacks_are_refused(self, artifact_store: ArtifactStore, path: str) -> None:
        with pytest.raises(InvalidInputError):
            artifact_store.put_bytes(b"pwned", path)
        with pytest.raises(InvalidInputError):
            artifact_store.get_bytes(path)
        with pytest.raises(InvalidInputError):
            artifact_store.delete(path)
        assert artifact_store.walk() == []

    def test_failed_upload_leaves_nothing_and_keeps_the_old_file(
        self, artifact_store: ArtifactStore
    ) -> None:
        artifact_store.put_bytes(b"precious", "data.bin")
        with pytest.raises(Exception, match="client went away"):
            artifact_store.put_stream(_Exploding(3 * 1024 * 1024), "data.bin")
        with pytest.raises(Exception, match="client went away"):
            artifact_store.put_stream(_Exploding(1024), "fresh.bin")
        assert artifact_store.get_bytes("data.bin") == b"precious"
        assert not artifact_store.exists("fresh.bin")
        assert [e.path for e in artifact_store.walk()] == ["data.bin"]

    def test_large_file_streams_with_hash(
        self, artifact_store: ArtifactStore, tmp_path: Path
    ) -> None:
        payload = os.urandom(3 * 1024 * 1024 + 17)
        local = tmp_path / "big.bin"
        local.write_bytes(payload)
        info = artifact_store.put_file(local, "big/big.bin")
        assert info.size == len(payload)
        assert info.sha256 == hashlib.sha256(payload).hexdigest()
        out = tmp_path / "out" / "big.bin"
        got = artifact_store.get_file("big/big.bin", out, sha256=info.sha256)
        assert out.read_bytes() == payload
        assert got.sha256 == info.sha256

    def test_download_verifies_sha256(self, artifact_store: ArtifactStore, tmp_path: Path) -> None:
        info = artifact_store.put_bytes(b"model bytes", "m/model.pkl")
        target = tmp_path / "dl"
        with pytest.raises(IntegrityError):
            artifact_store.download("m", target, expected={"m/model.pkl": "0" * 64})
        assert not (target / "m" / "model.pkl").exists()
        path = artifact_store.download("m", target, expected={"m/model.pkl": info.sha256 or ""})
        assert Path(path, "model.pkl").read_bytes() == b"model bytes"

    def test_put_dir_and_download_tree(self, artifact_store: ArtifactStore, tmp_path: Path) -> None:
        source = tmp_path / "src"
        (source / "sub").mkdir(parents=True)
        (source / "a.txt").write_text("a")
        (source / "sub" / "b.txt").write_text("b")
        stored = artifact_store.put_dir(source, "tree")
        assert sorted(f.path for f in stored) == ["tree/a.txt", "tree/sub/b.txt"]
        local = artifact_store.download("tree", tmp_path / "copy")
        assert Path(local, "sub", "b.txt").read_text() == "b"
        whole = artifact_store.download("", tmp_path / "all")
        assert Path(whole, "tree", "a.txt").read_text() == "a"

    def test_unusual_but_legal_names(self, artifact_store: ArtifactStore) -> None:
        for name in ("with space.txt", "ünïcødé.txt", "100%.txt", "a..b.txt", ".hidden"):
            artifact_store.put_bytes(name.encode(), f"odd/{name}")
            assert artifact_store.get_bytes(f"odd/{name}") == name.encode()

    def test_uri_of_a_path(self, artifact_store: ArtifactStore) -> None:
        assert artifact_store.uri("a/b.txt") == artifact_store.root_uri + "/a/b.txt"
        with pytest.raises(InvalidInputError):
            artifact_store.uri("../x")
