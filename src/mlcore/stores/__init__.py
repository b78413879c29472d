"""Metadata stores (SPI layer): the store interfaces and how a URI picks one.

Three interfaces a backend can implement separately: ``TrackingStore`` (experiments, runs,
params, metrics, tags, artifact records, search), ``RegistryStore`` (registered models,
versions, aliases) and ``ArtifactVersionStore`` (versioned artifacts and their lineage);
``MetadataStore`` is all three. A tracking-only store works for tracking; ``require_registry``
and ``require_artifact_versions`` raise ``UnsupportedError`` when more is asked of it.

Built-ins (``MetadataStore``): ``SqlStore`` (``sqlite``, ``postgresql``, ``mysql``,
``mariadb`` URLs) and ``FileStore`` (a directory such as the default ``./.mlcore``).
Third-party stores register in the ``mlcore.stores`` entry-point group under their URI scheme.
"""

from __future__ import annotations

from mlcore import plugins
from mlcore.stores.artifact_versions_api import ArtifactVersionStore
from mlcore.stores.base import MetadataStore
from mlcore.stores.capabilities import require_artifact_versions, require_registry
from mlcore.stores.paging import RunPage
from mlcore.stores.records import MetricPoint, NewRun, RunUpdate
from mlcore.stores.registry_api import RegistryStore
from mlcore.stores.tracking_api import TrackingStore
from mlcore.uris import uri_scheme

__all__ = [
    "ArtifactVersionStore",
    "MetadataStore",
    "MetricPoint",
    "NewRun",
    "RegistryStore",
    "RunPage",
    "RunUpdate",
    "TrackingStore",
    "require_artifact_versions",
    "require_registry",
    "resolve_store",
]


def resolve_store(uri: str, *, artifact_uri: str | None = None) -> TrackingStore:
    """Build the metadata store for a tracking URI.

    A plain path (no scheme) is a ``file`` store directory. The store may implement tracking
    only (a :class:`TrackingStore`); the built-in ones are :class:`MetadataStore` s.

    Raises:
        PluginNotFoundError: no store is registered for the URI's scheme.
        PluginError: the registered store is broken (or not a ``TrackingStore``).
    """
    scheme = uri_scheme(uri) or "file"
    store_class = plugins.load("mlcore.stores", scheme, expect=TrackingStore)
    store: TrackingStore = store_class.from_uri(uri, artifact_uri=artifact_uri)
    return store
