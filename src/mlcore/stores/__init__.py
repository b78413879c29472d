"""Metadata stores (SPI layer): the ``MetadataStore`` ABC and how a URI picks one.

Built-ins: ``SqlStore`` (``sqlite``, ``postgresql``, ``mysql``, ``mariadb`` URLs) and
``FileStore`` (a directory such as the default ``./.mlcore``). Third-party stores register in
the ``mlcore.stores`` entry-point group under their URI scheme.
"""

from __future__ import annotations

from mlcore import plugins
from mlcore.stores.base import MetadataStore, MetricPoint, NewRun, RunPage, RunUpdate
from mlcore.uris import uri_scheme

__all__ = ["MetadataStore", "MetricPoint", "NewRun", "RunPage", "RunUpdate", "resolve_store"]


def resolve_store(uri: str, *, artifact_uri: str | None = None) -> MetadataStore:
    """Build the metadata store for a tracking URI.

    A plain path (no scheme) is a ``file`` store directory.

    Raises:
        PluginNotFoundError: no store is registered for the URI's scheme.
        PluginError: the registered store is broken.
    """
    scheme = uri_scheme(uri) or "file"
    store_class = plugins.load("mlcore.stores", scheme, expect=MetadataStore)
    store: MetadataStore = store_class.from_uri(uri, artifact_uri=artifact_uri)
    return store
