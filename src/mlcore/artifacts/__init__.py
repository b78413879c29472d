"""Artifact stores (SPI layer): the ``ArtifactStore`` ABC and how a URI picks one.

Built-ins: ``file`` (LocalArtifactStore) and ``memory`` (MemoryArtifactStore, over fsspec).
``FsspecArtifactStore`` is the base for object-store plugins (``s3``, ``gs``), which register
in the ``mlcore.artifacts`` entry-point group under their URI scheme.
"""

from __future__ import annotations

from mlcore import plugins
from mlcore.artifacts.base import ArtifactStore, HashingReader
from mlcore.uris import uri_scheme

__all__ = ["ArtifactStore", "HashingReader", "resolve_artifact_store"]


def resolve_artifact_store(root_uri: str) -> ArtifactStore:
    """The artifact store for ``root_uri`` (a plain path means ``file``).

    Raises:
        PluginNotFoundError: no artifact store is registered for the scheme; the message names
            the package to install (``mlcore-s3`` for ``s3://``...).
    """
    scheme = uri_scheme(root_uri) or "file"
    store_class = plugins.load("mlcore.artifacts", scheme, expect=ArtifactStore)
    store: ArtifactStore = store_class.from_uri(root_uri)
    return store
