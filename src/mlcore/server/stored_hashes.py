"""The hashes a tracking server records come from the bytes it stores, never from a client.

A client with write access could otherwise record any sha256 for a model file
(``record-artifacts``) or register a version pinned to a manifest hash of its choosing
(``create-model-version``), and a later load would "verify" a swapped pickle against it.
Here the server reads what it stores: a recorded file's sha256 and size are computed from
the stored object (a client's claim that differs is refused), a version's
``manifest_sha256`` is the hash of the manifest stored at its source, and an artifact
version's files (``create-artifact-version``) are checked against the content-addressed bytes
under the artifact root, their sizes taken from them and the version's digest computed from
the checked manifest. (A file that is a reference to an outside URI is not stored here: its
sha256, where the client could read one, is recorded as sent and verified on download.)
"""

from __future__ import annotations

import hashlib
from typing import Any

from mlcore.artifacts import ArtifactStore, resolve_artifact_store
from mlcore.artifacts.base import CHUNK_SIZE, HashingReader
from mlcore.errors import IntegrityError, InvalidInputError, NotFoundError
from mlcore.flavors.spec import MANIFEST
from mlcore.stores import TrackingStore, require_registry
from mlcore.stores.artifact_versions_api import content_path, manifest_digest
from mlcore.stores.model_refs import check_model_source, resolve_model_version
from mlcore.types import ArtifactFile, FileInfo, build
from mlcore.uris import join_uri, parse_runs_uri, validate_artifact_path

__all__ = ["recorded_from_stored_bytes"]


def recorded_from_stored_bytes(
    hook: str, args: dict[str, Any], store: TrackingStore, root: str
) -> dict[str, Any]:
    """``args`` of a ``record-artifacts``, ``create-model-version`` or
    ``create-artifact-version`` request with every hash replaced by the one computed from the
    stored bytes (other requests unchanged).

    Raises:
        InvalidInputError: a recorded file is not stored; an artifact version's file, size or
            digest does not match the stored bytes.
        IntegrityError: a client's sha256 differs from the stored bytes (``record-artifacts``).
    """
    if hook == "_record_artifacts":
        artifacts = _run_artifacts(store, args["run_id"])
        files = [_stored(artifacts, f) for f in args["files"]]
        return {**args, "files": files}
    if hook == "_create_model_version":
        source = check_model_source(args["name"], args["source"])
        return {**args, "manifest_sha256": _manifest_sha256(store, source, root)}
    if hook == "_create_artifact_version":
        content = resolve_artifact_store(root)
        checked = [_stored_content(content, f) for f in args["files"]]
        digest = manifest_digest(checked)
        if args["digest"] != digest:
            raise InvalidInputError(
                "digest is not the sha256 of the version's manifest (its files' paths, sha256, "
                f"sizes and references): expected {digest}; nothing was recorded",
                field="digest",
            )
        return {**args, "files": checked}
    return args


def _stored_content(content: ArtifactStore, file: ArtifactFile) -> ArtifactFile:
    """``file`` of an artifact version with sha256 and size read from its stored bytes."""
    if file.ref is not None:
        return file  # not stored here: verified against its URI on download
    if file.sha256 is None:
        raise InvalidInputError(
            f"file {file.path!r} has no sha256: a stored file is recorded by its content",
            field="files",
        )
    address = content_path(file.sha256)
    found = _digest(content, address)
    if found is None:
        raise InvalidInputError(
            f"the content of file {file.path!r} (sha256 {file.sha256}) is not stored under "
            "the artifact root; upload it before recording the version",
            field="files",
        )
    digest, size = found
    if digest != file.sha256 or (file.size is not None and file.size != size):
        raise InvalidInputError(
            f"file {file.path!r}: the stored bytes at its address have sha256 {digest} and "
            f"size {size}, not what was sent (sha256 {file.sha256}, size {file.size}); the "
            "server records the hash of what it stores, so nothing was recorded",
            field="files",
        )
    return build(ArtifactFile, {"path": file.path, "sha256": digest, "size": size, "ref": None})


def _run_artifacts(store: TrackingStore, run_id: str) -> ArtifactStore:
    return resolve_artifact_store(store.get_run(run_id).info.artifact_uri)


def _digest(artifacts: ArtifactStore, path: str) -> tuple[str, int] | None:
    """sha256 and size of the stored object at ``path``; None when nothing is stored there."""
    try:
        with artifacts.open(path) as handle:
            reader = HashingReader(handle)
            while reader.read(CHUNK_SIZE):
                pass
    except (NotFoundError, FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    return reader.hexdigest(), reader.size


def _name(entry: FileInfo) -> str:
    return entry.path.rsplit("/", 1)[-1]


def _tree_digest(artifacts: ArtifactStore, path: str) -> tuple[str, int]:
    """sha256 of a stored directory as a pipeline records an output directory: of its
    ``relative path:sha256`` lines, files before subdirectories, each level sorted by name."""
    entries: list[str] = []
    total = 0

    def visit(directory: str) -> None:
        nonlocal total
        children = artifacts.list(directory)
        for child in sorted((c for c in children if not c.is_dir), key=_name):
            digest, size = _digest(artifacts, child.path) or ("", 0)
            entries.append(f"{child.path[len(path) + 1 :]}:{digest}")
            total += size
        for child in sorted((c for c in children if c.is_dir), key=_name):
            visit(child.path)

    visit(path)
    return hashlib.sha256("\n".join(entries).encode()).hexdigest(), total


def _stored_digest(artifacts: ArtifactStore, path: str) -> tuple[str, int] | None:
    try:
        info = artifacts.info(path)
    except NotFoundError:
        return None
    return _tree_digest(artifacts, path) if info.is_dir else _digest(artifacts, path)


def _stored(artifacts: ArtifactStore, file: FileInfo) -> FileInfo:
    path = validate_artifact_path(file.path, allow_root=False)
    found = _stored_digest(artifacts, path)
    if found is None:
        raise InvalidInputError(
            f"artifact {path!r} is not stored in the run's artifacts; upload it before "
            "recording it",
            field="files",
        )
    digest, size = found
    if file.sha256 is not None and file.sha256 != digest:
        raise IntegrityError(
            f"the sha256 sent for artifact {path!r} does not match the bytes this server "
            "stores; the server records the hash of what it stores"
        )
    return build(FileInfo, {"path": file.path, "is_dir": False, "size": size, "sha256": digest})


def _manifest_sha256(store: TrackingStore, source: str, root: str) -> str | None:
    """The sha256 of the manifest stored at a version's ``source``; None when no model
    manifest is stored there (a load then verifies against the run's record, or needs the
    caller's explicit trust)."""
    if source.startswith("models:/"):
        recorded: str | None = resolve_model_version(
            require_registry(store), source
        ).manifest_sha256
        return recorded
    if source.startswith("runs:/"):
        parsed = parse_runs_uri(source)
        try:
            artifacts = _run_artifacts(store, parsed.run_id)
        except NotFoundError:
            return None  # no such run, so no model stored there
        path = join_uri(parsed.path, MANIFEST) if parsed.path else MANIFEST
    else:
        base = root.rstrip("/")
        if source != base and not source.startswith(base + "/"):
            return None  # the URI mapping lets no other location in
        artifacts = resolve_artifact_store(base)
        relative = source[len(base) :].lstrip("/")
        path = join_uri(relative, MANIFEST) if relative else MANIFEST
    found = _digest(artifacts, path)
    return found[0] if found is not None else None
