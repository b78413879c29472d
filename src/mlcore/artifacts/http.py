"""``HttpArtifactStore``: artifacts proxied by ``mlcore server`` (``http(s)://host/api/v1/artifact-files/...``).

The server streams uploads into its own artifact root (atomically: nothing is visible under the
final name until the whole body has arrived) and streams downloads back; the client never sees
where the server keeps them. Large local files go up in resumable chunks: a dropped connection
resumes from the last byte the server has, and the server checks the sha256 before publishing.
"""

from __future__ import annotations

import builtins
import io
import json
import os
from collections.abc import Iterator
from typing import IO, Any
from urllib.parse import quote, urlsplit

from mlcore import _http
from mlcore.artifacts.base import CHUNK_SIZE, ArtifactStore, HashingReader, sha256_file
from mlcore.errors import IntegrityError, InvalidInputError, StoreError
from mlcore.types import FileInfo

__all__ = ["HttpArtifactStore"]

FILES = "/api/v1/artifact-files"
UPLOADS = "/api/v1/artifact-uploads"
RESUMABLE_THRESHOLD = 32 * 1024 * 1024
UPLOAD_PART = 16 * 1024 * 1024


class _ChunkReader(io.RawIOBase):
    """A read-only file over an iterator of byte chunks (an HTTP body)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            parts = [self._buffer, *self._chunks]
            self._buffer = b""
            return b"".join(parts)
        while len(self._buffer) < size:
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                break
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        super().close()


class HttpArtifactStore(ArtifactStore):
    """Artifacts under ``<server>/api/v1/artifact-files/<prefix>``."""

    schemes = ("http", "https")

    def __init__(self, root_uri: str) -> None:
        super().__init__(root_uri)
        parts = urlsplit(self.root_uri)
        if parts.query or parts.fragment:
            raise InvalidInputError(
                f"a proxied artifact URI takes no query: {root_uri!r}", field="artifact_uri"
            )
        base, marker, prefix = parts.path.partition(FILES)
        if not marker:
            raise InvalidInputError(
                f"not an mlcore server artifact URI (no {FILES} in it): {root_uri!r}",
                field="artifact_uri",
            )
        self.server = f"{parts.scheme}://{parts.netloc}{base}"
        self.prefix = prefix.strip("/")
        self._client = _http.HttpClient.for_url(self.server)

    def _remote(self, path: str) -> str:
        full = "/".join(p for p in (self.prefix, path) if p)
        return quote(full, safe="/")

    def _url(self, path: str) -> str:
        return f"{FILES}/{self._remote(path)}"

    def _relative(self, info: dict[str, Any]) -> FileInfo:
        path = info["path"]
        if self.prefix:
            path = path[len(self.prefix) + 1 :] if path.startswith(self.prefix + "/") else path
        return FileInfo.model_construct(
            path=path, is_dir=info["is_dir"], size=info.get("size"), sha256=info.get("sha256")
        )

    # -- writing ---------------------------------------------------------------------------------
    def _put_stream(self, reader: HashingReader, path: str) -> None:
        def chunks() -> Iterator[bytes]:
            while chunk := reader.read(CHUNK_SIZE):
                yield chunk

        response = self._client.stream_upload("PUT", self._url(path), chunks())
        self._check_digest(response.json(), reader.hexdigest(), path)

    def _check_digest(self, answer: dict[str, Any], sha256: str, path: str) -> None:
        if answer.get("sha256") != sha256:
            raise IntegrityError(
                f"{self.display_name}: the server stored {path!r} with sha256 "
                f"{answer.get('sha256')}, but {sha256} was sent"
            )

    def _put_local_file(self, local: str, path: str) -> str | None:
        """Whole files are sent with retries; large ones in resumable parts."""
        size = os.path.getsize(local)
        digest = sha256_file(local)
        if size < RESUMABLE_THRESHOLD:
            with open(local, "rb") as f:
                data = f.read()
            response = self._client.request(
                "PUT", self._url(path), content=data, headers={"X-Content-Sha256": digest}
            )
            assert response is not None
            self._check_digest(response.json(), digest, path)
            return digest
        self._resumable_upload(local, path, size, digest)
        return digest

    def _resumable_upload(self, local: str, path: str, size: int, digest: str) -> None:
        started = self._client.request(
            "POST",
            UPLOADS,
            content=json.dumps({"path": self._remote_path(path), "size": size}).encode(),
            headers={"Content-Type": "application/json"},
        )
        assert started is not None
        upload = f"{UPLOADS}/{started.json()['upload_id']}"
        with open(local, "rb") as f:
            offset = 0
            failures = 0
            while offset < size:
                f.seek(offset)
                part = f.read(UPLOAD_PART)
                try:
                    answer = self._client.request(
                        "PUT", upload, content=part, params={"offset": offset}
                    )
                    assert answer is not None
                    failures = 0
                except StoreError:
                    failures += 1
                    if failures > self._client.retries:
                        raise
                    answer = self._client.request("GET", upload)  # how much arrived?
                    assert answer is not None
                offset = int(answer.json()["received"])
        done = self._client.request(
            "POST",
            f"{upload}/complete",
            content=json.dumps({"sha256": digest}).encode(),
            headers={"Content-Type": "application/json"},
        )
        assert done is not None
        self._check_digest(done.json(), digest, path)

    def _remote_path(self, path: str) -> str:
        return "/".join(p for p in (self.prefix, path) if p)

    # -- reading ---------------------------------------------------------------------------------
    def _open(self, path: str) -> IO[bytes]:
        try:
            return io.BufferedReader(
                _ChunkReader(self._client.stream_download(self._url(path))), CHUNK_SIZE
            )
        except LookupError:
            raise FileNotFoundError(path) from None

    def _list(self, path: str) -> builtins.list[FileInfo]:
        response = self._client.request("GET", self._url(path), params={"list": "1"})
        assert response is not None
        return [self._relative(i) for i in response.json()]

    def _info(self, path: str) -> FileInfo | None:
        response = self._client.request(
            "GET", self._url(path), params={"info": "1"}, ok_missing=True
        )
        if response is None:
            return None
        return self._relative(response.json())

    def _delete(self, path: str) -> None:
        self._client.request("DELETE", self._url(path))
