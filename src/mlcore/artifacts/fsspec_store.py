"""``FsspecArtifactStore``: an artifact store over any fsspec filesystem.

Plugins for object stores subclass it (``mlcore-s3``, ``mlcore-gcs``) and override
``_put_stream`` where the backend has a better atomic write (an object store's upload is only
visible once complete, so no temp name is needed there).
"""

from __future__ import annotations

import shutil
from typing import IO, TYPE_CHECKING, Any

from mlcore.artifacts.base import CHUNK_SIZE, ArtifactStore, HashingReader, _file_info, temp_name

if TYPE_CHECKING:
    from mlcore.types import FileInfo

__all__ = ["FsspecArtifactStore"]


class FsspecArtifactStore(ArtifactStore):
    """Artifacts on an fsspec filesystem.

    Args:
        root_uri: an fsspec URL (``memory://bucket/x``, ``s3://bucket/prefix``, ...).
        storage_options: passed to fsspec (credentials, endpoint, ...).
    """

    def __init__(self, root_uri: str, **storage_options: Any) -> None:
        super().__init__(root_uri)
        from fsspec.core import url_to_fs

        self.fs, root_path = url_to_fs(self.root_uri, **storage_options)
        self.root_path = root_path.rstrip("/")

    def _full(self, path: str) -> str:
        return f"{self.root_path}/{path}" if path else self.root_path

    def _relative(self, full: str) -> str:
        full = full.rstrip("/")
        root = self.root_path.lstrip("/")
        stripped = full.lstrip("/")
        return stripped[len(root) :].lstrip("/") if stripped.startswith(root) else stripped

    def _put_stream(self, reader: HashingReader, path: str) -> None:
        final = self._full(path)
        parent, _, name = final.rpartition("/")
        partial = f"{parent}/{temp_name(name)}"
        self.fs.makedirs(parent, exist_ok=True)
        try:
            with self.fs.open(partial, "wb") as target:
                shutil.copyfileobj(reader, target, CHUNK_SIZE)
            self.fs.mv(partial, final)
        except BaseException:
            try:
                if self.fs.exists(partial):
                    self.fs.rm(partial)
            except Exception:  # pragma: no cover - best effort cleanup
                pass
            raise

    def _open(self, path: str) -> IO[bytes]:
        handle: IO[bytes] = self.fs.open(self._full(path), "rb")
        return handle

    def _entry(self, item: dict[str, Any]) -> FileInfo:
        is_dir = item.get("type") == "directory"
        return _file_info(
            self._relative(item["name"]), is_dir=is_dir, size=None if is_dir else item.get("size")
        )

    def _list(self, path: str) -> list[FileInfo]:
        full = self._full(path)
        if not self.fs.exists(full) or not self.fs.isdir(full):
            return []
        return [
            self._entry(item)
            for item in self.fs.ls(full, detail=True)
            if item["name"].rstrip("/") != full.rstrip("/")
        ]

    def _info(self, path: str) -> FileInfo | None:
        full = self._full(path)
        try:
            item = self.fs.info(full)
        except FileNotFoundError:
            return None
        entry = self._entry(item)
        return _file_info(path, is_dir=entry.is_dir, size=entry.size)

    def _delete(self, path: str) -> None:
        self.fs.rm(self._full(path), recursive=True)
