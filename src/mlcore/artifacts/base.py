"""``ArtifactStore``: the abstract base of every artifact backend.

As with metadata stores, public methods are final template methods: they validate the
relative path through :func:`mlcore.uris.validate_artifact_path` (one gate for every backend),
hash what passes through them (sha256, streamed), translate backend errors, then call the
``_method`` a backend implements. A backend must make ``_put_stream`` atomic: nothing is
visible under the final name until the whole file is there.
"""

from __future__ import annotations

import abc
import builtins
import hashlib
import io
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, ClassVar, final

from mlcore.errors import IntegrityError, InvalidInputError, NotFoundError, translate_errors
from mlcore.uris import join_uri, redact_uri, validate_artifact_path

if TYPE_CHECKING:
    from mlcore.types import FileInfo

__all__ = ["CHUNK_SIZE", "TEMP_PREFIX", "ArtifactStore", "HashingReader"]

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
#: Files being written carry this prefix; listings never show them.
TEMP_PREFIX = ".mlcore-tmp-"


class HashingReader(io.RawIOBase):
    """Wraps a binary stream, counting bytes and computing sha256 as they are read."""

    def __init__(self, stream: IO[bytes] | Any) -> None:
        super().__init__()
        self._stream = stream
        self._hash = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self._stream.read(size if size is not None else -1)
        if data:
            self._hash.update(data)
            self.size += len(data)
        return bytes(data) if data else b""

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _file_info(
    path: str, is_dir: bool = False, size: int | None = None, sha256: str | None = None
) -> FileInfo:
    from mlcore.types import FileInfo

    return FileInfo.model_construct(path=path, is_dir=is_dir, size=size, sha256=sha256)


def sha256_file(path: str) -> str:
    """The sha256 hex digest of a local file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def temp_name(final_name: str) -> str:
    name = f"{TEMP_PREFIX}{uuid.uuid4().hex[:16]}-{final_name}".encode("utf-8", "surrogatepass")
    # 200 bytes, not characters: a file system limits a name's UTF-8 bytes
    return name[:200].decode("utf-8", "ignore")


class ArtifactStore(abc.ABC):
    """Files under a root URI, addressed by validated relative paths.

    Args:
        root_uri: the root every path is relative to (``file:///...``, ``memory://...``,
            ``s3://bucket/prefix``...).
    """

    schemes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, root_uri: str) -> None:
        self.root_uri = root_uri.rstrip("/")
        self.display_name = f"artifact store {redact_uri(self.root_uri)}"

    @classmethod
    def from_uri(cls, uri: str) -> ArtifactStore:
        """Build a store rooted at ``uri`` (plugins may read options from the URI)."""
        return cls(uri)

    def uri(self, path: str = "") -> str:
        """The absolute URI of ``path``."""
        return join_uri(self.root_uri, validate_artifact_path(path))

    @contextmanager
    def _boundary(self, path: str) -> Iterator[None]:
        def missing(exc: BaseException) -> NotFoundError | None:
            if isinstance(exc, FileNotFoundError):
                return NotFoundError(f"artifact {path!r} not found in {self.display_name}")
            return None

        with translate_errors(self.display_name, mapping=missing):
            yield

    # -- writing ---------------------------------------------------------------------------------
    @final
    def put_stream(self, stream: IO[bytes] | Any, path: str) -> FileInfo:
        """Store everything ``stream`` yields under ``path``, atomically; returns its FileInfo
        with size and sha256."""
        normal = validate_artifact_path(path, allow_root=False)
        reader = HashingReader(stream)
        with self._boundary(normal):
            self._put_stream(reader, normal)
        return _file_info(normal, size=reader.size, sha256=reader.hexdigest())

    @final
    def put_bytes(self, data: bytes, path: str) -> FileInfo:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidInputError(f"put_bytes needs bytes, got {type(data).__name__}")
        return self.put_stream(io.BytesIO(bytes(data)), path)

    @final
    def put_file(self, local_path: str | os.PathLike[str], path: str) -> FileInfo:
        """Upload one local file to ``path``."""
        normal = validate_artifact_path(path, allow_root=False)
        local = os.fspath(local_path)
        if not os.path.isfile(local):
            raise NotFoundError(f"local file {local!r} not found")
        with self._boundary(normal):
            sha256 = self._put_local_file(local, normal)
        if sha256 is not None:
            return _file_info(normal, size=os.path.getsize(local), sha256=sha256)
        with open(local, "rb") as handle:
            return self.put_stream(handle, normal)

    @final
    def put_dir(self, local_dir: str | os.PathLike[str], path: str = "") -> builtins.list[FileInfo]:
        """Upload a local directory tree under ``path``; returns the files stored.

        Symbolic links that point outside ``local_dir`` and hard links (files with more than one
        name) are skipped (with a warning), so logging a directory never uploads what lies
        elsewhere on the machine.
        """
        base = validate_artifact_path(path)
        root = os.path.realpath(os.fspath(local_dir))
        if not os.path.isdir(root):
            raise NotFoundError(f"local directory {os.fspath(local_dir)!r} not found")
        stored = []
        for directory, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                local = os.path.join(directory, name)
                real = os.path.realpath(local)
                if os.path.commonpath([root, real]) != root or not os.path.isfile(real):
                    logger.warning("skipping %s: a link to outside the logged directory", local)
                    continue
                if os.stat(real).st_nlink > 1:
                    logger.warning(
                        "skipping %s: a hard link (its content may lie outside the logged "
                        "directory)",
                        local,
                    )
                    continue
                relative = os.path.relpath(local, root).replace(os.sep, "/")
                stored.append(self.put_file(local, join_uri(base, relative) if base else relative))
        return stored

    # -- reading ---------------------------------------------------------------------------------
    @final
    def open(self, path: str) -> IO[bytes]:
        """A binary stream of the file at ``path`` (the caller closes it)."""
        normal = validate_artifact_path(path, allow_root=False)
        with self._boundary(normal):
            return self._open(normal)

    @final
    def get_bytes(self, path: str, *, sha256: str | None = None) -> bytes:
        """The content of ``path``; with ``sha256`` given, checked against it."""
        with self.open(path) as handle:
            data = handle.read()
        if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
            raise IntegrityError(f"artifact {path!r} does not match its recorded sha256")
        return bytes(data)

    @final
    def get_file(
        self, path: str, local_path: str | os.PathLike[str], *, sha256: str | None = None
    ) -> FileInfo:
        """Download ``path`` to ``local_path`` atomically; verify ``sha256`` when given.

        Raises:
            IntegrityError: the content does not match ``sha256`` (nothing is left at
                ``local_path``).
        """
        normal = validate_artifact_path(path, allow_root=False)
        local = os.fspath(local_path)
        os.makedirs(os.path.dirname(os.path.abspath(local)), exist_ok=True)
        partial = os.path.join(os.path.dirname(os.path.abspath(local)), temp_name("download"))
        try:
            with self._boundary(normal):
                fetched = self._get_local_file(normal, partial)
            if fetched is None:  # no fast path: stream it, hashing on the way
                with self.open(normal) as source, open(partial, "wb") as target:
                    reader = HashingReader(source)
                    while chunk := reader.read(CHUNK_SIZE):
                        target.write(chunk)
                fetched = (reader.hexdigest(), reader.size)
            digest, size = fetched
            if sha256 is not None and digest != sha256:
                raise IntegrityError(
                    f"artifact {normal!r} in {self.display_name} does not match its recorded "
                    f"sha256 (expected {sha256[:12]}..., got {digest[:12]}...)"
                )
            os.replace(partial, local)
        finally:
            if os.path.exists(partial):
                os.remove(partial)
        return _file_info(normal, size=size, sha256=digest)

    @final
    def download(
        self,
        path: str,
        local_dir: str | os.PathLike[str],
        *,
        expected: dict[str, str] | None = None,
    ) -> str:
        """Download a file or a whole directory below ``local_dir``; returns the local path.

        ``expected`` maps paths to recorded sha256 values to verify.
        """
        normal = validate_artifact_path(path)
        target_root = os.path.abspath(os.fspath(local_dir))
        info = self.info(normal) if normal else None
        expected = expected or {}
        if info is not None and not info.is_dir:
            target = os.path.join(target_root, *normal.split("/"))
            self.get_file(normal, target, sha256=expected.get(normal))
            return target
        files = self.walk(normal)
        for file in files:
            target = os.path.join(target_root, *file.path.split("/"))
            self.get_file(file.path, target, sha256=expected.get(file.path))
        result = os.path.join(target_root, *normal.split("/")) if normal else target_root
        os.makedirs(result, exist_ok=True)
        return result

    @final
    def list(self, path: str = "") -> list[FileInfo]:
        """Immediate children of the directory ``path`` (paths relative to the root), sorted."""
        normal = validate_artifact_path(path)
        with self._boundary(normal):
            entries = self._list(normal)
        return sorted(
            (e for e in entries if not e.path.rsplit("/", 1)[-1].startswith(TEMP_PREFIX)),
            key=lambda e: e.path,
        )

    @final
    def walk(self, path: str = "") -> builtins.list[FileInfo]:
        """Every file below ``path``, recursively (paths relative to the root), sorted."""
        found: builtins.list[FileInfo] = []
        pending = [validate_artifact_path(path)]
        while pending:
            for entry in self.list(pending.pop()):
                (pending.append(entry.path) if entry.is_dir else found.append(entry))
        return sorted(found, key=lambda e: e.path)

    @final
    def info(self, path: str) -> FileInfo:
        """FileInfo of ``path``; NotFoundError when there is nothing there."""
        normal = validate_artifact_path(path)
        with self._boundary(normal):
            found = self._info(normal)
        if found is None:
            raise NotFoundError(f"artifact {normal!r} not found in {self.display_name}")
        return found

    @final
    def exists(self, path: str) -> bool:
        normal = validate_artifact_path(path)
        with self._boundary(normal):
            return self._info(normal) is not None

    @final
    def delete(self, path: str) -> None:
        """Delete a file or a directory tree; NotFoundError when there is nothing there."""
        normal = validate_artifact_path(path)
        if not self.exists(normal):
            raise NotFoundError(f"artifact {normal!r} not found in {self.display_name}")
        with self._boundary(normal):
            self._delete(normal)

    # -- what a backend implements ---------------------------------------------------------------
    def _put_local_file(self, local: str, path: str) -> str | None:
        """Optional fast path for a whole local file (e.g. parallel multipart upload): store it
        atomically and return its sha256, or return None to have it streamed."""
        return None

    def _get_local_file(self, path: str, local: str) -> tuple[str, int] | None:
        """Optional fast path for downloading ``path`` whole to ``local`` (a temp name the
        caller checks and renames): returns ``(sha256, size)`` of what was written, or None to
        have it streamed."""
        return None

    @abc.abstractmethod
    def _put_stream(self, reader: HashingReader, path: str) -> None:
        """Write all of ``reader`` to ``path`` atomically (temp name + rename, or a commit)."""

    @abc.abstractmethod
    def _open(self, path: str) -> IO[bytes]:
        """Open ``path`` for binary reading; raise FileNotFoundError when missing."""

    @abc.abstractmethod
    def _list(self, path: str) -> builtins.list[FileInfo]:
        """Children of ``path`` with root-relative paths; [] for a missing directory."""

    @abc.abstractmethod
    def _info(self, path: str) -> FileInfo | None:
        """FileInfo (root-relative path) of ``path`` or None; ``""`` is the root directory."""

    @abc.abstractmethod
    def _delete(self, path: str) -> None:
        """Remove ``path`` (file or tree)."""
