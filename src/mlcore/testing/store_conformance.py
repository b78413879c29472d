"""``StoreConformance``: what every ``MetadataStore`` must do, as pytest tests.

The tracking, registry and artifact-version suites together. Use it by mixing it into a test
class that provides a ``store`` fixture returning a fresh, empty store::

    from mlcore.testing import StoreConformance

    class TestMyStore(StoreConformance):
        @pytest.fixture
        def store(self, tmp_path):
            return MyStore.from_uri(f"mystore://{tmp_path}")

A store that implements only some of the interfaces mixes in the suites of those:
:class:`~mlcore.testing.TrackingStoreConformance`,
:class:`~mlcore.testing.RegistryStoreConformance`,
:class:`~mlcore.testing.ArtifactVersionStoreConformance`.
"""

from __future__ import annotations

from mlcore.testing.artifact_version_conformance import ArtifactVersionStoreConformance
from mlcore.testing.registry_conformance import RegistryStoreConformance
from mlcore.testing.tracking_conformance import (
    BAD_NAMES,
    TrackingStoreConformance,
    new_run,
    now_ms,
)

__all__ = ["BAD_NAMES", "StoreConformance", "new_run", "now_ms"]


class StoreConformance(
    TrackingStoreConformance, RegistryStoreConformance, ArtifactVersionStoreConformance
):
    """Behaviour every metadata store shares: tracking, the model registry and versioned
    artifacts. Needs a ``store`` fixture (fresh and empty)."""
