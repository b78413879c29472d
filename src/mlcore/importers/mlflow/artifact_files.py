"""Finding a run's (or logged model's) artifact files in the source, read-only.

MLflow records an artifact URI per run: a local path or ``file://`` URI (file store, SQLite
with a local root), ``mlflow-artifacts:/...`` (a tracking server proxying its
``--artifacts-destination``: give that folder as ``--artifacts``), or a relative path.
Local files are listed with ``os`` only, so nothing is ever created in the source.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlparse

from mlcore.importers.mlflow.records import SourceFile

__all__ = ["ArtifactLocator", "UnreachableArtifacts"]


class UnreachableArtifacts(Exception):
    """The artifact URI cannot be read from here (unknown scheme, proxied without a root)."""


class ArtifactLocator:
    """Turns MLflow artifact URIs into local folders.

    Args:
        artifacts_root: the folder behind ``mlflow-artifacts:/`` URIs and relative paths
            (``mlflow server --artifacts-destination``), when known.
        base: the folder relative paths are taken from when no root is given.
    """

    def __init__(self, artifacts_root: str | None, base: str) -> None:
        self.root = os.path.abspath(os.path.expanduser(artifacts_root)) if artifacts_root else None
        self.base = base

    def local_dir(self, uri: str) -> str:
        if not uri:
            raise UnreachableArtifacts("the run records no artifact location")
        parsed = urlparse(uri)
        if parsed.scheme == "mlflow-artifacts":
            if self.root is None:
                raise UnreachableArtifacts(
                    f"{uri} is served by an MLflow tracking server; pass its "
                    "--artifacts-destination folder as --artifacts"
                )
            return os.path.join(self.root, unquote(parsed.path).lstrip("/"))
        if parsed.scheme == "file":
            return unquote(parsed.path)
        if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
            if os.path.isabs(uri):
                return uri
            return os.path.normpath(os.path.join(self.root or self.base, uri))
        raise UnreachableArtifacts(
            f"{uri}: artifacts in {parsed.scheme}:// are not read by this import; copy them "
            "to a local folder and pass it as --artifacts"
        )

    def files(self, uri: str) -> list[SourceFile]:
        """Every file under the artifact URI (empty when the folder does not exist)."""
        directory = self.local_dir(uri)
        found: list[SourceFile] = []
        if not os.path.isdir(directory):
            return found
        for current, dirs, names in os.walk(directory):
            dirs.sort()
            for name in sorted(names):
                location = os.path.join(current, name)
                relative = os.path.relpath(location, directory).replace(os.sep, "/")
                found.append(SourceFile(relative, location, os.path.getsize(location)))
        return found
