"""Conformance suites for plugin authors, shipped as a pytest plugin.

Every implementation of an SPI — built in or third party — runs the suite of its SPI by mixing
it into a test class that provides one fixture:

| suite | fixture | SPI |
|---|---|---|
| :class:`StoreConformance` | ``store`` (fresh, empty) | ``MetadataStore`` (the three below) |
| :class:`TrackingStoreConformance` | ``store`` (fresh, empty) | ``TrackingStore`` |
| :class:`RegistryStoreConformance` | ``store`` (fresh, empty) | ``RegistryStore`` |
| :class:`ArtifactVersionStoreConformance` | ``store`` | ``ArtifactVersionStore`` |
| :class:`RegistryConformance` | ``store`` (fresh, empty) | registry + versioned artifacts |
| :class:`ArtifactStoreConformance` | ``artifact_store`` | ``mlcore.artifacts.ArtifactStore`` |
| :class:`FlavorConformance` | ``flavor_case`` (:class:`FlavorCase`) | ``mlcore.flavors.Flavor`` |
| :class:`ExecutorConformance` | ``executor`` (fresh) | ``mlcore.executors.Executor`` |

The store interfaces are in ``mlcore.stores``; a store for tracking only runs
:class:`TrackingStoreConformance`.

The pytest plugin (``mlcore.testing.pytest_plugin``, auto-registered through the ``pytest11``
entry point) adds fixtures: ``mlcore_tracker`` (a Tracker on a throw-away SQLite store) and
``mlcore_home`` (a temporary ``MLCORE_TRACKING_URI`` for code that uses the fluent API).
"""

from mlcore.testing.artifact_conformance import TRAVERSAL_PATHS, ArtifactStoreConformance
from mlcore.testing.artifact_version_conformance import ArtifactVersionStoreConformance
from mlcore.testing.executor_conformance import ExecutorConformance
from mlcore.testing.flavor_conformance import FlavorCase, FlavorConformance
from mlcore.testing.registry_conformance import RegistryConformance, RegistryStoreConformance
from mlcore.testing.store_conformance import StoreConformance
from mlcore.testing.tracking_conformance import TrackingStoreConformance

__all__ = [
    "TRAVERSAL_PATHS",
    "ArtifactStoreConformance",
    "ArtifactVersionStoreConformance",
    "ExecutorConformance",
    "FlavorCase",
    "FlavorConformance",
    "RegistryConformance",
    "RegistryStoreConformance",
    "StoreConformance",
    "TrackingStoreConformance",
]
