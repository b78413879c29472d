"""Artifact stores (SPI layer): the ``ArtifactStore`` ABC and how a URI picks one.

Built-ins: ``file`` (LocalArtifactStore) and ``memory`` (MemoryArtifactStore, over fsspec).
``FsspecArtifactStore`` is the base for object-store plugins (``s3``, ``gs``), which register
in the ``mlcore.artifacts`` entry-point group under their URI scheme.
"""

from __future__ import annotations

from mlcore import artifact_options, plugins
from mlcore.artifacts.base import ArtifactStore, HashingReader
from mlcore.uris import uri_scheme

__all__ = ["ArtifactStore", "HashingReader", "configure", "resolve_artifact_store"]

configure = artifact_options.configure


def resolve_artifact_store(root_uri: str) -> ArtifactStore:
    """The artifact store for ``root_uri`` (a plain path means ``file``).

    Raises:
        PluginNotFoundError: no artifact store is registered for the scheme; the message names
            the package to install (``mlcore-s3`` for ``s3://``...).
    """
    scheme = uri_scheme(root_uri) or "file"
    store_class = plugins.load("mlcore.artifacts", scheme, expect=ArtifactStore)
    if scheme not in ("file", "memory"):
        # options in the query (endpoint_url=...) are remembered for the bucket; see
        # mlcore.artifact_options
        root_uri = artifact_options.remember(root_uri)
    store: ArtifactStore = store_class.from_uri(root_uri)
    return store
