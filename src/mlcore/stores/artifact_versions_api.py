"""``ArtifactVersionStore``: versioned artifacts of a store (W&B Artifacts): ``name:vN``
collections, their files, aliases, and which runs produced and used them.

The bytes live in the artifact store, content-addressed by sha256; the metadata store keeps
the manifest of each version. A version's ``digest`` (the hash of its manifest) makes logging
identical content return the existing version instead of a new one.
"""

from __future__ import annotations

import abc
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, final

from mlcore.errors import InvalidInputError
from mlcore.stores.checks import (
    check_alias,
    check_artifact_name,
    check_artifact_type,
    check_run_id,
    config_json,
    parse_artifact_ref,
)
from mlcore.stores.store_base import StoreBase
from mlcore.uris import validate_artifact_path

if TYPE_CHECKING:
    from mlcore.types import ArtifactFile, ArtifactVersion

__all__ = [
    "CONTENT_DIR",
    "ArtifactVersionMethods",
    "ArtifactVersionStore",
    "check_artifact_name",
    "content_path",
    "manifest_digest",
    "parse_artifact_ref",
]

#: where an artifact version's files are stored under the artifact root, by sha256
CONTENT_DIR = "_content"


def content_path(sha256: str) -> str:
    """The path of a file's bytes under the artifact root (content-addressed)."""
    return f"{CONTENT_DIR}/{sha256[:2]}/{sha256}"


def manifest_digest(files: Sequence[ArtifactFile]) -> str:
    """A version's digest: the sha256 of its manifest (path, sha256, size, ref), by path."""
    ordered = sorted(files, key=lambda f: f.path)
    canonical = json.dumps(
        [[f.path, f.sha256, f.size, f.ref] for f in ordered], separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class ArtifactVersionStore(StoreBase, abc.ABC):
    """Artifact collections, their versions and aliases, and the links between versions and
    the runs that produced or used them (lineage queries).

    A backend implements it together with :class:`~mlcore.stores.TrackingStore` in one class.
    It relies on nothing of the tracking interface (run ids are checked by form only); the
    services that log artifact versions (``Tracker``) take the store through
    :func:`mlcore.stores.require_artifact_versions`.
    ``mlcore.testing.ArtifactVersionStoreConformance`` is the executable contract; it creates
    its producer and consumer runs with ``create_experiment`` and ``create_run``.
    """

    @final
    def create_artifact_version(
        self,
        name: str,
        type: str,
        *,
        digest: str,
        files: Sequence[ArtifactFile],
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        producer_run_id: str | None = None,
        aliases: Sequence[str] = (),
    ) -> tuple[ArtifactVersion, bool]:
        """Record a version; returns ``(version, created)``. Content already stored under this
        name (same digest) returns the existing version with ``created=False`` (aliases are
        still applied). The ``latest`` alias always names the newest version.

        Raises:
            InvalidInputError: the name exists with another type, or bad names/paths (a
                tracking server also refuses files whose stored bytes do not match them).
            IntegrityError: a version with this digest is recorded with other files
                (recorded hashes never change; changed bytes are a new version).
        """
        name = check_artifact_name(name)
        check_artifact_type(type)
        if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise InvalidInputError("digest must be a sha256 hex digest", field="digest")
        for file in files:
            validate_artifact_path(file.path, allow_root=False)
        clean_aliases = [check_alias(a) for a in aliases]
        config_json(metadata or {})
        if producer_run_id is not None:
            check_run_id(producer_run_id)
        with self._boundary():
            return self._create_artifact_version(
                name,
                type,
                digest,
                list(files),
                description,
                dict(metadata or {}),
                producer_run_id,
                clean_aliases,
            )

    @final
    def get_artifact_version(self, ref: str) -> ArtifactVersion:
        """``name:vN``, ``name:latest``, ``name:<alias>``; NotFoundError when missing."""
        name, version = parse_artifact_ref(ref)
        with self._boundary():
            return self._get_artifact_version(name, version)

    @final
    def list_artifact_versions(self, name: str) -> list[ArtifactVersion]:
        """Every version of ``name``, oldest first (NotFoundError for an unknown name)."""
        name = check_artifact_name(name)
        with self._boundary():
            return self._list_artifact_versions(name)

    @final
    def list_artifact_collections(self, type: str | None = None) -> list[ArtifactVersion]:
        """The latest version of every artifact (of ``type``), by name."""
        with self._boundary():
            return self._list_artifact_collections(type)

    @final
    def set_artifact_alias(self, name: str, alias: str, version: int) -> None:
        name, alias = check_artifact_name(name), check_alias(alias)
        with self._boundary():
            self._set_artifact_alias(name, alias, int(version))

    @final
    def record_artifact_use(self, ref: str, run_id: str) -> ArtifactVersion:
        """Record that ``run_id`` used the artifact version ``ref``; returns the version."""
        name, version = parse_artifact_ref(ref)
        run_id = check_run_id(run_id)
        with self._boundary():
            return self._record_artifact_use(name, version, run_id)

    @final
    def artifact_runs(self, name: str, version: int) -> tuple[list[str], list[str]]:
        """``(producers, consumers)``: run ids that logged and that used ``name:v<version>``."""
        name = check_artifact_name(name)
        with self._boundary():
            return self._artifact_runs(name, int(version))

    @final
    def artifacts_of_run(self, run_id: str) -> tuple[list[ArtifactVersion], list[ArtifactVersion]]:
        """``(produced, used)`` artifact versions of a run."""
        run_id = check_run_id(run_id)
        with self._boundary():
            return self._artifacts_of_run(run_id)

    @final
    def artifacts_used_by_runs(self, run_ids: Sequence[str]) -> dict[str, list[ArtifactVersion]]:
        """The artifact versions each of ``run_ids`` used, by run id (runs that used none are
        left out); one read where the backend offers it."""
        ids = [check_run_id(r) for r in run_ids]
        if not ids:
            return {}
        with self._boundary():
            return self._artifacts_used_by_runs(ids)

    # -- what a backend implements ---------------------------------------------------------------
    def _artifacts_used_by_runs(self, run_ids: list[str]) -> dict[str, list[ArtifactVersion]]:
        """Default: :meth:`artifacts_of_run` for each run; backends may answer in one read."""
        found = {}
        for run_id in dict.fromkeys(run_ids):
            used = self._artifacts_of_run(run_id)[1]
            if used:
                found[run_id] = used
        return found

    @abc.abstractmethod
    def _create_artifact_version(
        self,
        name: str,
        type: str,
        digest: str,
        files: list[ArtifactFile],
        description: str | None,
        metadata: dict[str, Any],
        producer_run_id: str | None,
        aliases: list[str],
    ) -> tuple[ArtifactVersion, bool]: ...

    @abc.abstractmethod
    def _get_artifact_version(self, name: str, version: str) -> ArtifactVersion: ...

    @abc.abstractmethod
    def _list_artifact_versions(self, name: str) -> list[ArtifactVersion]: ...

    @abc.abstractmethod
    def _list_artifact_collections(self, type: str | None) -> list[ArtifactVersion]: ...

    @abc.abstractmethod
    def _set_artifact_alias(self, name: str, alias: str, version: int) -> None: ...

    @abc.abstractmethod
    def _record_artifact_use(self, name: str, version: str, run_id: str) -> ArtifactVersion: ...

    @abc.abstractmethod
    def _artifact_runs(self, name: str, version: int) -> tuple[list[str], list[str]]: ...

    @abc.abstractmethod
    def _artifacts_of_run(
        self, run_id: str
    ) -> tuple[list[ArtifactVersion], list[ArtifactVersion]]: ...


#: The former name of :class:`ArtifactVersionStore`, when it was a mix-in of ``MetadataStore``.
ArtifactVersionMethods = ArtifactVersionStore
