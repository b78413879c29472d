"""``LocalArtifactStore``: artifacts in a local directory (``file://`` URIs, the default).

Plain ``os`` calls rather than fsspec on this path: no import cost, and ``os.replace`` gives
the atomic rename directly.
"""

from __future__ import annotations

import os
import shutil
from typing import IO, TYPE_CHECKING

from mlcore.artifacts.base import CHUNK_SIZE, ArtifactStore, HashingReader, _file_info, temp_name
from mlcore.uris import file_uri_to_path, path_to_file_uri, uri_scheme

if TYPE_CHECKING:
    from mlcore.types import FileInfo

__all__ = ["LocalArtifactStore"]


class LocalArtifactStore(ArtifactStore):
    """Artifacts under a local directory, written with temp name + ``os.replace``."""

    schemes = ("file",)

    def __init__(self, root_uri: str) -> None:
        path = file_uri_to_path(root_uri) if uri_scheme(root_uri) == "file" else root_uri
        self.root = os.path.abspath(path)
        super().__init__(path_to_file_uri(self.root))

    def _local(self, path: str) -> str:
        return os.path.join(self.root, *path.split("/")) if path else self.root

    def _put_stream(self, reader: HashingReader, path: str) -> None:
        final = self._local(path)
        directory = os.path.dirname(final)
        os.makedirs(directory, exist_ok=True)
        partial = os.path.join(directory, temp_name(os.path.basename(final)))
        try:
            with open(partial, "wb") as target:
                shutil.copyfileobj(reader, target, CHUNK_SIZE)
            os.replace(partial, final)
        except BaseException:
            if os.path.exists(partial):
                os.remove(partial)
            raise

    def _open(self, path: str) -> IO[bytes]:
        local = self._local(path)
        if os.path.isdir(local):
            raise IsADirectoryError(f"{path!r} is a directory")
        return open(local, "rb")

    def _list(self, path: str) -> list[FileInfo]:
        local = self._local(path)
        if not os.path.isdir(local):
            return []
        entries = []
        with os.scandir(local) as scan:
            for entry in scan:
                relative = f"{path}/{entry.name}" if path else entry.name
                if entry.is_dir(follow_symlinks=False):
                    entries.append(_file_info(relative, is_dir=True))
                elif entry.is_file(follow_symlinks=False):
                    entries.append(_file_info(relative, size=entry.stat().st_size))
        return entries

    def _info(self, path: str) -> FileInfo | None:
        local = self._local(path)
        if os.path.islink(local):
            return None
        if os.path.isdir(local):
            return _file_info(path, is_dir=True)
        if os.path.isfile(local):
            return _file_info(path, size=os.path.getsize(local))
        return None

    def _delete(self, path: str) -> None:
        local = self._local(path)
        if os.path.isdir(local):
            shutil.rmtree(local)
        else:
            os.remove(local)
