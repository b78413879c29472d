"""A tracking server's private staging directory: bodies in transit and resumable uploads.

- The directory is the server's own: a fresh ``mkdtemp`` (mode 0700) unless one is configured
  (created 0700; a directory shared on purpose, e.g. by the workers of one server, is one
  server), and its files are 0600. Another server on the host never sees its uploads.
- A resumable upload belongs to the credential that opened it
  (:func:`mlcore.web.guard.principal_of`): another token, or a request without one, is told it
  does not exist.
- Abandoned uploads expire: one untouched for ``ttl`` seconds is removed, swept when uploads are
  created and when one is looked up.
- :class:`ChunkFile` writes a body chunk by chunk in short worker-thread calls, so a slow client
  holds no thread while the server waits for its bytes; :class:`ClientSlots` caps how many
  uploads one client address has in progress.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import hmac
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio

from mlcore.errors import NotFoundError

__all__ = ["ChunkFile", "ClientSlots", "Staging", "TooManyUploads", "Upload"]

_BUFFER = 1 << 20
_UPLOAD_ID = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class Upload:
    """A resumable upload: its id, destination and files."""

    upload_id: str
    path: str
    part: str
    meta: str


class Staging:
    """The server's private directory (see the module docstring)."""

    def __init__(self, directory: str | None = None, ttl: float = 24 * 3600) -> None:
        if directory:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            os.chmod(directory, 0o700)
            self.path, self.owned = os.path.abspath(directory), False
        else:
            self.path, self.owned = tempfile.mkdtemp(prefix="mlcore-staging-"), True
        self.ttl = ttl
        self.active: set[str] = set()  # files being written now: never swept

    # -- files in transit ------------------------------------------------------------------------
    def new_file(self, prefix: str = "put") -> str:
        return os.path.join(self.path, f"{prefix}-{uuid.uuid4().hex}")

    # -- resumable uploads -----------------------------------------------------------------------
    def create(self, path: str, owner: str) -> str:
        """A new upload of ``path`` for ``owner``; returns its id."""
        upload_id = uuid.uuid4().hex
        base = os.path.join(self.path, upload_id)
        os.close(os.open(base + ".part", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        record = {"path": path, "owner": owner, "created": time.time()}
        fd = os.open(base + ".json", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f)
        return upload_id

    def find(self, upload_id: str, owner: str) -> Upload:
        """The upload ``upload_id`` of ``owner``.

        Raises:
            NotFoundError: no such upload here, another owner's, or expired.
        """
        missing = NotFoundError(f"upload {upload_id!r} not found (completed, expired or not yours)")
        if len(upload_id) != 32 or not set(upload_id) <= _UPLOAD_ID:
            raise missing
        base = os.path.join(self.path, upload_id)
        try:
            with open(base + ".json", encoding="utf-8") as f:
                record = json.load(f)
        except (OSError, ValueError):
            raise missing from None
        if not hmac.compare_digest(str(record.get("owner", "")), owner):
            raise missing
        upload = Upload(upload_id, str(record["path"]), base + ".part", base + ".json")
        if upload.part not in self.active and self._expired(upload.part, upload.meta):
            self.remove(upload)
            raise missing
        return upload

    def remove(self, upload: Upload) -> None:
        for leftover in (upload.part, upload.meta):
            with contextlib.suppress(FileNotFoundError):
                os.remove(leftover)

    def sweep(self) -> int:
        """Remove uploads (and stray files) untouched for ``ttl`` seconds; returns how many."""
        removed = 0
        try:
            names = os.listdir(self.path)
        except FileNotFoundError:
            return 0
        for name in names:
            full = os.path.join(self.path, name)
            if full in self.active or full.removesuffix(".json") + ".part" in self.active:
                continue
            related = [full, full.removesuffix(".json") + ".part"] if name.endswith(".json") else []
            if name.endswith(".part") and os.path.exists(full.removesuffix(".part") + ".json"):
                continue  # judged with its record
            if self._expired(*(related or [full])):
                for path in related or [full]:
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(path)
                removed += 1
        return removed

    def _expired(self, *paths: str) -> bool:
        newest = 0.0
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                newest = max(newest, os.stat(path).st_mtime)
        return time.time() - newest > self.ttl

    def close(self) -> None:
        """Remove the directory, when this server made it."""
        if self.owned:
            shutil.rmtree(self.path, ignore_errors=True)


class ChunkFile:
    """A staged file written chunk by chunk: chunks are gathered in memory and written (and
    hashed) in short worker-thread calls, so no thread waits on the client in between."""

    def __init__(self, staging: Staging, path: str, *, append: bool = False) -> None:
        self.staging = staging
        self.path = path
        self.append = append
        self.digest = hashlib.sha256()
        self.size = 0
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._file: Any = None
        staging.active.add(path)

    async def write(self, chunk: bytes) -> None:
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        self.size += len(chunk)
        if self._pending_size >= _BUFFER:
            await self.flush()

    async def flush(self) -> None:
        data = b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        await anyio.to_thread.run_sync(self._write, data)

    def _write(self, data: bytes) -> None:
        if self._file is None:
            if self.append:
                self._file = open(self.path, "ab")  # noqa: SIM115 (closed in close())
            else:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
                self._file = os.fdopen(fd, "wb")
        if data:
            self.digest.update(data)
            self._file.write(data)

    async def finish(self) -> None:
        """Write what is gathered and close the file (it exists, even when empty)."""
        await self.flush()
        self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self.staging.active.discard(self.path)

    def discard(self) -> None:
        self.close()
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path)


class TooManyUploads(Exception):
    """A client has as many uploads in progress as it may."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"this client already has {limit} uploads in progress (the most this server "
            "accepts at once); retry when one is done"
        )
        self.limit = limit


class ClientSlots:
    """How many uploads each client address has in progress, up to ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._count: collections.Counter[str] = collections.Counter()

    @contextlib.contextmanager
    def hold(self, client: str) -> Iterator[None]:
        """One slot of ``client`` for the ``with`` block (the event loop's thread only).

        Raises:
            TooManyUploads: ``client`` has ``limit`` in progress.
        """
        if self._count[client] >= self.limit:
            raise TooManyUploads(self.limit)
        self._count[client] += 1
        try:
            yield
        finally:
            self._count[client] -= 1
            if self._count[client] <= 0:
                del self._count[client]
