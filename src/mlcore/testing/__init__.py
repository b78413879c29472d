"""Conformance suites for plugin authors, shipped as a pytest plugin.

Every implementation of an SPI — built in or third party — runs the suite of its SPI by mixing
it into a test class that provides one fixture:

| suite | fixture | SPI |
|---|---|---|
| :class:`StoreConformance` | ``store`` (fresh, empty) | ``mlcore.stores.MetadataStore`` |
| :class:`ArtifactStoreConformance` | ``artifact_store`` | ``mlcore.artifacts.ArtifactStore`` |
| :class:`RegistryConformance` | ``store`` (fresh, empty) | registry + versioned artifacts |
| :class:`FlavorConformance` | ``flavor_case`` (:class:`FlavorCase`) | ``mlcore.flavors.Flavor`` |
| :class:`ExecutorConformance` | ``executor`` (fresh) | ``mlcore.executors.Executor`` |

The pytest plugin (``mlcore.testing.pytest_plugin``, auto-registered through the ``pytest11``
entry point) adds fixtures: ``mlcore_tracker`` (a Tracker on a throw-away SQLite store) and
``mlcore_home`` (a temporary ``MLCORE_TRACKING_URI`` for code that uses the fluent API).
"""

from mlcore.testing.artifact_conformance import TRAVERSAL_PATHS, ArtifactStoreConformance
from mlcore.testing.executor_conformance import ExecutorConformance
from mlcore.testing.flavor_conformance import FlavorCase, FlavorConformance
from mlcore.testing.registry_conformance import RegistryConformance
from mlcore.testing.store_conformance import StoreConformance

__all__ = [
    "TRAVERSAL_PATHS",
    "ArtifactStoreConformance",
    "ExecutorConformance",
    "FlavorCase",
    "FlavorConformance",
    "RegistryConformance",
    "StoreConformance",
]
