"""``Artifact``: versioned, content-addressed datasets and models (W&B Artifacts).

Build one, log it from a run, use it from another::

    ds = mlcore.Artifact("processed-dataset", type="dataset", description="cleaned")
    ds.add_file("data/processed.csv")
    run.log_artifact(ds, aliases=["best"])          # -> processed-dataset:v0
    art = other_run.use_artifact("processed-dataset:latest")
    path = art.download()

Files are stored once, by sha256, under ``<artifact root>/_content/``; a version is a manifest
(path -> sha256, size) whose hash is the version's digest, so logging unchanged content
returns the existing version. References (``add_reference``) record a URI and, where it can
be read, its sha256, and are fetched from there on download.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError, NotFoundError
from mlcore.stores import require_artifact_versions
from mlcore.stores.artifact_versions_api import (
    CONTENT_DIR,
    check_artifact_name,
    content_path,
    manifest_digest,
)
from mlcore.uris import join_uri, uri_scheme, validate_artifact_path

if TYPE_CHECKING:
    from mlcore.artifacts import ArtifactStore
    from mlcore.tracking.tracker import Tracker
    from mlcore.types import ArtifactFile, ArtifactVersion

__all__ = [
    "CONTENT_DIR",
    "Artifact",
    "content_path",
    "content_store",
    "log_artifact_version",
    "use_artifact",
]


def _sha256_file(path: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@dataclass
class _Entry:
    path: str
    local: str | None = None
    ref: str | None = None
    sha256: str | None = None
    size: int | None = None


class Artifact:
    """A versioned artifact: a draft you fill and log, or a logged version you use.

    Args:
        name: letters, digits, ``_ - .``.
        type: e.g. ``dataset``, ``model``.
        description: free text.
        metadata: JSON-serialisable details (row counts, schema, source...).
    """

    def __init__(
        self,
        name: str,
        type: str,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = check_artifact_name(name)
        self.type = type
        self.description = description
        self.metadata = dict(metadata or {})
        self._entries: dict[str, _Entry] = {}
        self.version: ArtifactVersion | None = None
        self._tracker: Tracker | None = None

    def __repr__(self) -> str:
        where = self.version.qualified_name if self.version else "draft"
        return f"<Artifact {self.name} ({self.type}) {where}>"

    # -- building --------------------------------------------------------------------------------
    def _draft(self) -> None:
        if self.version is not None:
            raise InvalidInputError(f"{self.qualified_name} is logged and cannot change")

    def add_file(self, local_path: str | os.PathLike[str], name: str | None = None) -> None:
        """Add a local file as ``name`` (default: its file name)."""
        self._draft()
        local = os.fspath(local_path)
        if not os.path.isfile(local):
            raise NotFoundError(f"local file {local!r} not found")
        path = validate_artifact_path(name or os.path.basename(local), allow_root=False)
        self._entries[path] = _Entry(path, local=os.path.abspath(local))

    def add_dir(self, local_dir: str | os.PathLike[str], name: str | None = None) -> None:
        """Add every file below ``local_dir`` (under ``name/`` if given)."""
        self._draft()
        root = os.path.realpath(os.fspath(local_dir))
        if not os.path.isdir(root):
            raise NotFoundError(f"local directory {os.fspath(local_dir)!r} not found")
        prefix = validate_artifact_path(name or "")
        for directory, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for filename in sorted(filenames):
                local = os.path.join(directory, filename)
                real = os.path.realpath(local)
                if os.path.commonpath([root, real]) != root or not os.path.isfile(real):
                    continue  # links out of the directory are not part of it
                relative = os.path.relpath(local, root).replace(os.sep, "/")
                self.add_file(local, join_uri(prefix, relative) if prefix else relative)

    def add_reference(self, uri: str, name: str | None = None, checksum: bool = True) -> None:
        """Track ``uri`` (``s3://``, ``file://``...) without copying it; with ``checksum``
        its sha256 is recorded (and verified on download) when the URI can be read."""
        self._draft()
        if not isinstance(uri, str) or not uri_scheme(uri):
            raise InvalidInputError(f"a reference is a URI with a scheme, got {uri!r}", field="uri")
        path = validate_artifact_path(name or uri.rstrip("/").rsplit("/", 1)[-1], allow_root=False)
        entry = _Entry(path, ref=uri)
        if checksum:
            entry.sha256, entry.size = _reference_hash(uri)
        self._entries[path] = entry

    # -- logged state --------------------------------------------------------------------------
    @classmethod
    def _logged(cls, version: ArtifactVersion, tracker: Tracker) -> Artifact:
        artifact = cls(version.name, version.type, version.description, version.metadata)
        artifact.version = version
        artifact._tracker = tracker
        return artifact

    @property
    def qualified_name(self) -> str:
        if self.version is None:
            raise InvalidInputError(f"artifact {self.name!r} has not been logged yet")
        return self.version.qualified_name

    @property
    def files(self) -> list[ArtifactFile]:
        if self.version is None:
            from mlcore.types import ArtifactFile, build

            return [
                build(
                    ArtifactFile, {"path": e.path, "sha256": e.sha256, "size": e.size, "ref": e.ref}
                )
                for e in sorted(self._entries.values(), key=lambda e: e.path)
            ]
        return list(self.version.files)

    def download(self, root: str | os.PathLike[str] | None = None) -> str:
        """Fetch every file into ``root`` (default ``./artifacts/<name>:v<N>``), verifying
        each sha256; returns the directory."""
        if self.version is None or self._tracker is None:
            raise InvalidInputError("only a logged artifact can be downloaded")
        target = (
            os.fspath(root)
            if root is not None
            else os.path.join("artifacts", self.version.qualified_name)
        )
        store = content_store(self._tracker)
        for file in self.version.files:
            local = os.path.join(target, *file.path.split("/"))
            if file.ref is not None:
                _fetch_reference(file.ref, local, file.sha256)
            else:
                store.get_file(content_path(file.sha256 or ""), local, sha256=file.sha256)
        os.makedirs(target, exist_ok=True)
        return os.path.abspath(target)

    def _manifest(self) -> tuple[list[ArtifactFile], str]:
        from mlcore.types import ArtifactFile, build

        files = [
            build(ArtifactFile, {"path": e.path, "sha256": e.sha256, "size": e.size, "ref": e.ref})
            for e in sorted(self._entries.values(), key=lambda e: e.path)
        ]
        return files, manifest_digest(files)


def content_store(tracker: Tracker) -> ArtifactStore:
    from mlcore.artifacts import resolve_artifact_store

    return resolve_artifact_store(tracker.store.default_artifact_root)


def _reference_hash(uri: str) -> tuple[str | None, int | None]:
    from mlcore.artifacts import resolve_artifact_store

    parent, _, name = uri.rstrip("/").rpartition("/")
    try:
        store = resolve_artifact_store(parent)
        with store.open(name) as handle:
            digest = hashlib.sha256()
            size = 0
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
                size += len(chunk)
    except NotFoundError:
        raise
    except Exception:  # unreadable from here (credentials, offline): tracked by URI only
        return None, None
    return digest.hexdigest(), size


def _fetch_reference(uri: str, local: str, sha256: str | None) -> None:
    from mlcore.artifacts import resolve_artifact_store

    parent, _, name = uri.rstrip("/").rpartition("/")
    resolve_artifact_store(parent).get_file(name, local, sha256=sha256)


def log_artifact_version(
    tracker: Tracker, run_id: str, artifact: Artifact, aliases: Sequence[str] = ()
) -> Artifact:
    """Upload new content and record the version; returns the logged Artifact."""
    if not artifact._entries:
        raise InvalidInputError(f"artifact {artifact.name!r} has no files")
    tracker.get_run(run_id)
    store = content_store(tracker)
    for entry in artifact._entries.values():
        if entry.local is not None:
            entry.sha256, entry.size = _sha256_file(entry.local)
            target = content_path(entry.sha256)
            if not store.exists(target):  # deduplicated by content
                stored = store.put_file(entry.local, target)
                if stored.sha256 != entry.sha256:  # the file changed while logging
                    store.delete(target)
                    raise InvalidInputError(f"{entry.local!r} changed while being logged")
    files, digest = artifact._manifest()
    version, _ = require_artifact_versions(tracker.store).create_artifact_version(
        artifact.name,
        artifact.type,
        digest=digest,
        files=files,
        description=artifact.description,
        metadata=artifact.metadata,
        producer_run_id=run_id,
        aliases=aliases,
    )
    artifact.version = version
    artifact._tracker = tracker
    return artifact


def use_artifact(tracker: Tracker, run_id: str, ref: str) -> Artifact:
    """Record that ``run_id`` consumes ``ref`` and return the logged artifact."""
    version = require_artifact_versions(tracker.store).record_artifact_use(ref, run_id)
    return Artifact._logged(version, tracker)
